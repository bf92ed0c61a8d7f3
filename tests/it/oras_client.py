"""Drives oras-py (the `oras` package on PyPI) against a plain-HTTP registry, for the
integration test in oras.rs.

    python3 oras_client.py --registry HOST:PORT --username U --password P COMMAND ...

Commands:
    push REF --file PATH:MEDIA_TYPE... [--config PATH:MEDIA_TYPE] [--artifact-type TYPE]
         [--subject REF] [--annotation KEY=VALUE...]
        Pushes the files as an artifact to REF (repository:tag); prints the pushed
        manifest's descriptor as JSON: {"mediaType", "digest", "size"}.
    pull REF OUTDIR
        Pulls the artifact at REF into OUTDIR; prints the paths of its files as JSON.
    resolve REF
        Prints the descriptor of the manifest at REF as JSON.

Credentials come from the command line only, never from a Docker config of the machine.
Exits non-zero, with the error on standard error, when the registry refuses.
"""

import argparse
import hashlib
import json
import os
import sys

import oras.defaults
import oras.logger
import oras.oci
import oras.provider


class Client(oras.provider.Registry):
    """oras-py's registry client, which can also set a manifest's `artifactType`, and
    which asks for a new token when the registry says the one it has grants too little.

    oras-py keeps the first token it gets and, on a 401, retries with that same token: it
    asks for another only on a 403 (oras-py issue #187). A push starts with `HEAD` of a
    blob, whose challenge asks for `pull`, so the upload that follows, refused with 401
    and `error="insufficient_scope"` for `pull,push` as the Docker token spec has it,
    would never get a token that may push. Here such a refusal drops the token, and the
    request is sent once more, which fetches a token for the scope of the new challenge.
    """

    artifact_type = None

    @staticmethod
    def _insufficient_scope(response):
        challenge = response.headers.get("Www-Authenticate", "")
        return response.status_code == 401 and 'error="insufficient_scope"' in challenge

    def do_request(self, url, method="GET", data=None, headers=None, json=None, stream=False):
        response = super().do_request(url, method, data, headers, json, stream)
        if self._insufficient_scope(response):
            self.auth.token = None
            if headers is not None:
                headers.pop("Authorization", None)
            response = super().do_request(url, method, data, headers, json, stream)
        return response

    def upload_manifest(self, manifest, container):
        if self.artifact_type:
            manifest = dict(manifest, artifactType=self.artifact_type)
        return super().upload_manifest(manifest, container)


def connect(args):
    client = Client(hostname=args.registry, insecure=True)
    # An auth config that is already loaded, and empty: no credential of the machine's.
    client.auth._auth_config = {"auths": {}, "credsStore": None, "credHelpers": {}}
    client.auth.set_basic_auth(args.username, args.password)
    return client


def target(args, ref):
    return f"{args.registry}/{ref}"


def descriptor(client, ref):
    """The descriptor of the manifest at `ref`, from the bytes the registry serves."""
    container = client.get_container(ref)
    url = f"{client.prefix}://{container.manifest_url()}"
    accept = ", ".join(oras.defaults.default_manifest_accepted_media_types)
    response = client.do_request(url, "GET", headers={"Accept": accept})
    client._check_200_response(response)
    digest = "sha256:" + hashlib.sha256(response.content).hexdigest()
    served = response.headers.get("Docker-Content-Digest")
    if served and served != digest:
        raise ValueError(f"{ref}: Docker-Content-Digest {served}, content is {digest}")
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    return {"mediaType": media_type, "digest": digest, "size": len(response.content)}


def push(args):
    client = connect(args)
    client.artifact_type = args.artifact_type
    subject = None
    if args.subject:
        subject = oras.oci.Subject(**descriptor(client, target(args, args.subject)))
    annotations = dict(a.split("=", 1) for a in args.annotation)
    client.push(
        target(args, args.ref),
        files=args.file,
        manifest_config=args.config,
        manifest_annotations=annotations or None,
        subject=subject,
        disable_path_validation=True,
        quiet=True,
    )
    return descriptor(client, target(args, args.ref))


def pull(args):
    client = connect(args)
    return client.pull(target(args, args.ref), outdir=args.outdir)


def resolve(args):
    return descriptor(connect(args), target(args, args.ref))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", required=True, help="HOST:PORT, plain HTTP")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("push")
    p.add_argument("ref")
    p.add_argument("--file", action="append", required=True, help="PATH:MEDIA_TYPE")
    p.add_argument("--config", help="PATH:MEDIA_TYPE of the config blob")
    p.add_argument("--artifact-type")
    p.add_argument("--subject", help="the manifest this one refers to")
    p.add_argument("--annotation", action="append", default=[], help="KEY=VALUE")
    p.set_defaults(run=push)

    p = commands.add_parser("pull")
    p.add_argument("ref")
    p.add_argument("outdir")
    p.set_defaults(run=pull)

    p = commands.add_parser("resolve")
    p.add_argument("ref")
    p.set_defaults(run=resolve)

    args = parser.parse_args()
    # oras-py's log goes to standard error, where a failing test shows it.
    oras.logger.setup_logger(nocolor=True, debug=bool(os.environ.get("ORAS_DEBUG")))
    try:
        result = args.run(args)
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        print(f"oras_client: {args.command} failed: {error!r}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

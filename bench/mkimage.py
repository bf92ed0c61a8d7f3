#!/usr/bin/env python3
"""Write a synthetic OCI image layout for the registry benchmark.

    mkimage.py DIR [--layers N] [--layer-mb M] [--seed S] [--tag TAG] [--gzip]

DIR receives `oci-layout`, `index.json` and `blobs/sha256/…`: one image manifest tagged TAG
whose N layers each hold one file of M MiB, plus its image config. The bytes are
pseudo-random, so neither compression nor deduplication can shrink them, and derived from
the seed, so the same arguments always give the same blobs and digests (the benchmark pushes
identical data to every registry it compares). Different seeds give unrelated blobs.

Layers are plain tar (`application/vnd.oci.image.layer.v1.tar`) unless --gzip is given; plain
tar keeps the generator and the client cheap, so a benchmark times the registry rather than
compression. Prints the manifest digest on standard output. Standard library only.
"""

import argparse
import gzip
import hashlib
import json
import os
import sys
import tarfile
import tempfile

MIB = 1 << 20
BLOCK = 512

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
# Fixed timestamps: the tar headers and the config must not depend on when they were made,
# or the digests would change from run to run.
EPOCH = 1704067200
CREATED = "2024-01-01T00:00:00Z"


def pseudo_random(seed, label, size):
    """Yields `size` bytes in 1 MiB pieces: SHAKE-128 in counter mode. Several times faster
    than `random.randbytes`, which matters for the 1 GiB layer."""
    counter = 0
    while size > 0:
        n = min(MIB, size)
        yield hashlib.shake_128(b"%d/%s/%d" % (seed, label.encode(), counter)).digest(n)
        size -= n
        counter += 1


class Sink:
    """A file being written that also counts and hashes what goes into it."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        self.f.write(data)
        return len(data)

    def flush(self):
        self.f.flush()


def store(blobs, tmp_path, sha):
    """Moves a finished file into the layout under its digest."""
    digest = "sha256:" + sha.hexdigest()
    os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; blobs are meant to be readable
    os.replace(tmp_path, os.path.join(blobs, sha.hexdigest()))
    return digest


def put_bytes(blobs, data):
    sha = hashlib.sha256(data)
    with open(os.path.join(blobs, sha.hexdigest()), "wb") as f:
        f.write(data)
    return "sha256:" + sha.hexdigest(), len(data)


def write_tar(out, name, chunks, size):
    """A one-file tar archive, streamed: header, data padded to a block, end marker.
    Written by hand because tarfile wants a file object to read the member from."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = EPOCH
    info.uname = info.gname = "root"
    out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
    for chunk in chunks:
        out.write(chunk)
    if size % BLOCK:
        out.write(b"\0" * (BLOCK - size % BLOCK))
    out.write(b"\0" * (2 * BLOCK))


def write_layer(blobs, seed, index, size, compress):
    """Returns the layer's descriptor and its diff ID (digest of the uncompressed tar)."""
    name = "bench/layer%d.bin" % index
    chunks = pseudo_random(seed, "layer%d" % index, size)
    fd, tmp_path = tempfile.mkstemp(dir=blobs, prefix=".layer")
    with os.fdopen(fd, "wb") as f:
        stored = Sink(f)
        if compress:
            # The tar is hashed before compression (the diff ID), the gzip stream after (the
            # digest). mtime=0 and no file name keep the gzip header reproducible.
            with gzip.GzipFile(fileobj=stored, mode="wb", compresslevel=1, mtime=0, filename="") as gz:
                plain = Sink(gz)
                write_tar(plain, name, chunks, size)
            diff_id = "sha256:" + plain.sha.hexdigest()
        else:
            write_tar(stored, name, chunks, size)
            diff_id = None
    digest = store(blobs, tmp_path, stored.sha)
    media = MEDIA_TAR_GZIP if compress else MEDIA_TAR
    return {"mediaType": media, "digest": digest, "size": stored.size}, diff_id or digest


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--layer-mb", type=float, default=32, help="MiB of data per layer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="tag")
    parser.add_argument("--gzip", action="store_true", help="gzip the layers (level 1)")
    args = parser.parse_args()
    if args.layers < 1 or args.layer_mb <= 0:
        parser.error("--layers must be at least 1 and --layer-mb positive")
    size = max(1, int(args.layer_mb * MIB))

    # A layout is either written completely or refused: never mix two generations.
    if os.path.exists(os.path.join(args.dir, "index.json")):
        parser.error("%s already holds an image layout" % args.dir)
    blobs = os.path.join(args.dir, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    layers, diff_ids = [], []
    for i in range(args.layers):
        descriptor, diff_id = write_layer(blobs, args.seed, i, size, args.gzip)
        layers.append(descriptor)
        diff_ids.append(diff_id)

    config = {
        "created": CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"bench.seed": str(args.seed)}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": "layer %d: %d bytes" % (i, size)} for i in range(args.layers)],
    }
    config_digest, config_size = put_bytes(blobs, json.dumps(config, sort_keys=True).encode())

    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    manifest_digest, manifest_size = put_bytes(blobs, json.dumps(manifest, sort_keys=True).encode())

    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": args.tag},
            }
        ],
    }
    # index.json last: its presence marks a finished layout.
    with open(os.path.join(args.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(args.dir, "index.json"), "w") as f:
        json.dump(index, f)
    print(manifest_digest)
    return 0


if __name__ == "__main__":
    sys.exit(main())

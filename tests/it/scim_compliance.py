"""Runs scim2-tester (the `scim2-tester` package on PyPI, by Yaal Coop), an independent
checker of RFC 7643/7644 compliance, against a SCIM service provider, for the integration
test in scim_compliance.rs.

    python3 scim_compliance.py --url BASE_URL --token TOKEN [--trace FILE]

It prints, as JSON, every check scim2-tester ran: its name, the resource type it ran on,
its status (SUCCESS, COMPLIANT, ACCEPTABLE, DEVIATION, ERROR, CRITICAL or SKIPPED), why,
and what it saw. `--trace FILE` also writes every request and response to FILE.

scim2-tester discovers the server (ServiceProviderConfig, ResourceTypes, Schemas) and
makes up resources from the schemas it publishes. What it cannot know from a schema, it
is told here, each in `HINTS` below, with the reason; nothing else of it is changed.

A failure the RFCs do not back is kept, with its status, but marked `excused` with the
reason (see `excuse`): the few places where scim2-tester asks more than RFC 7644 does.
"""

import argparse
import json
import sys
import uuid
from importlib.metadata import version
from typing import Any

import httpx2
import pydantic
import scim2_tester.checkers.patch_add
import scim2_tester.checkers.patch_replace
import scim2_tester.filling
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Mutability
from scim2_models import ScimProvider
from scim2_models import ServiceProviderConfig
from scim2_tester import CheckResult
from scim2_tester import check_server

# How much of what a check saw is kept.
MAX_DATA = 4000

_generate_random_value = scim2_tester.filling.generate_random_value


def _user_name(context: Any) -> str:
    """A `userName` that is an email address: Wharf, as Docker Hub, provisions users by
    email, so a `userName` that is none needs `emails`. scim2-tester fills only the
    required attributes of a new user (`userName`), so it sends no `emails`."""
    return f"{uuid.uuid4().hex}@example.com"


def _docker_role(context: Any) -> str:
    """A role of Docker's SCIM extension: member, editor or owner (Docker's documentation
    of SCIM). Used only while the schema publishes no `canonicalValues` for it, which
    scim2-tester would choose from."""
    return "member"


def _member_value(context: Any) -> str:
    """The `id` of a user provisioned for it: a team's members are the organization's
    users. scim2-tester makes up a member from `members.$ref` when the schema lets a
    client write it, and otherwise a random `value` that names no one."""
    model = context.client.provider.model_for("User")
    return context.resource_manager.create_and_register(model).id


def _active(context: Any) -> bool:
    """Active: a team's members must be members of the organization, which a user is only
    while active, so a user made up with a random `active` of false could be no group's
    member. Deactivation is covered by the project's own SCIM tests."""
    return True


# (model, attribute): how to make up a value scim2-tester cannot infer from the schema.
HINTS = {
    ("User", "active"): _active,
    ("User", "user_name"): _user_name,
    ("DockerUser", "docker_role"): _docker_role,
    ("Members", "value"): _member_value,
}


def _hint(path: Any) -> Any:
    binding = path.resolve()
    if binding is None or binding.target_model is None:
        return None
    # `User[DockerUser]` is a `User`.
    model = binding.target_model.__name__.split("[")[0]
    hint = HINTS.get((model, binding.target_field_name))
    field = binding.target_model.model_fields.get(binding.target_field_name)
    if hint is None or (field is not None and field.examples):
        return None
    return hint, binding.target_is_multivalued


def generate_random_value(context, path, mutability=None, required=None):
    value = _generate_random_value(context, path, mutability=mutability, required=required)
    hint = _hint(path) if value is not None else None
    if hint is None:
        return value
    make, multivalued = hint
    made = make(context)
    return [made] if multivalued else made


# The filling module calls it by its module's name, the PATCH checkers by their own.
scim2_tester.filling.generate_random_value = generate_random_value
scim2_tester.checkers.patch_add.generate_random_value = generate_random_value
scim2_tester.checkers.patch_replace.generate_random_value = generate_random_value


def service_provider_config(http: httpx2.Client, notes: list[str]) -> ServiceProviderConfig | None:
    """The server's ServiceProviderConfig, for the checks after discovery. scim2-tester
    stops after discovery when it cannot parse it; its own check still reports why. So
    that the other checks run too, the attributes that do not parse are left out here."""
    response = http.get("/ServiceProviderConfig")
    if response.status_code != 200:
        return None
    raw = response.json()
    for _ in range(len(raw)):
        try:
            return ServiceProviderConfig.model_validate(raw)
        except pydantic.ValidationError as error:
            names = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            if not names & raw.keys():
                return None
            for name in sorted(names & raw.keys()):
                notes.append(
                    f"ServiceProviderConfig.{name} ({raw[name]!r}) does not parse; "
                    "left out for the checks after discovery"
                )
                del raw[name]
    return None


def _read_only(model: type, name: str) -> bool:
    annotation = getattr(model, "get_field_annotation", None)
    return annotation is not None and annotation(name, Mutability) == Mutability.read_only


def agrees(expected: Any, actual: Any) -> bool:
    """Whether `actual` is `expected` as a server keeps it: every attribute `expected` sets
    has its value, and every other one is unset or read-only (the server's to set)."""
    if isinstance(expected, pydantic.BaseModel) and isinstance(actual, pydantic.BaseModel):
        for name in type(expected).model_fields:
            wanted, got = getattr(expected, name), getattr(actual, name, None)
            if wanted is None:
                if got is not None and not _read_only(type(actual), name):
                    return False
            elif not agrees(wanted, got):
                return False
        return True
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(agrees, expected, actual))
    return bool(expected == actual)


PATCH_CHECKS = {"check_add_attribute", "check_replace_attribute", "check_remove_attribute"}


def excuse(result: CheckResult, extensions: set[str]) -> str | None:
    """Why a failed check asks more than the RFCs do, if it does."""
    data = result.data if isinstance(result.data, dict) else {}
    if result.status.name not in ("ERROR", "CRITICAL") or result.title not in PATCH_CHECKS:
        return None
    # scim2-tester wants the value a PATCH set back exactly, read-only sub-attributes
    # included: a server that fills them (`name.formatted`, `members.display` and
    # `members.$ref`) fails. RFC 7643 §7 leaves read-only attributes to the server.
    actual = data.get("modify_actual", data.get("actual"))
    if "expected" in data and actual is not None and agrees(data["expected"], actual):
        return (
            "the value came back as set, with read-only sub-attributes the server fills "
            "(RFC 7643 §7: readOnly attributes are the service provider's)"
        )
    # A bare extension schema URN is no PATCH path: RFC 7644 §3.10's `attrPath` is
    # `[URI ":"] ATTRNAME *1subAttr`, an attribute name being required. A 400
    # `invalidPath` answers it as RFC 7644 §3.5.2 says.
    error = data.get("error")
    if data.get("urn") in extensions and getattr(error, "scim_type", None) == "invalidPath":
        return (
            "a bare extension schema URN is no attribute path (RFC 7644 §3.10, attrPath); "
            "the server answered 400 invalidPath"
        )
    return None


def displayable(value: Any, depth: int = 0) -> Any:
    """What a check saw, as JSON."""
    if depth > 6:
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, pydantic.BaseModel):
        try:
            return value.model_dump(mode="json", exclude_none=True)
        except Exception:  # noqa: BLE001 - shown as text instead
            return repr(value)
    if isinstance(value, httpx2.Response):
        return {
            "request": f"{value.request.method} {value.request.url}",
            "status": value.status_code,
            "body": value.text,
        }
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    if isinstance(value, dict):
        return {str(k): displayable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [displayable(v, depth + 1) for v in value]
    return repr(value)


def result_json(result: CheckResult, extensions: set[str]) -> dict[str, Any]:
    data = json.dumps(displayable(result.data), sort_keys=True)
    if len(data) > MAX_DATA:
        data = data[:MAX_DATA] + "…"
    return {
        "check": result.title,
        "resource_type": result.resource_type,
        "status": result.status.name,
        "tags": sorted(result.tags),
        "reason": result.reason,
        "excused": excuse(result, extensions),
        "data": data,
    }


class Trace:
    """Writes every exchange to a file."""

    def __init__(self, path: str):
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the run

    def response(self, response: httpx2.Response) -> None:
        response.read()
        request = response.request
        body = request.content.decode("utf-8", "replace")
        self.file.write(f">>> {request.method} {request.url}\n{body}\n")
        self.file.write(f"<<< {response.status_code}\n{response.text}\n\n")
        self.file.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the SCIM base URL")
    parser.add_argument("--token", required=True, help="the bearer token")
    parser.add_argument("--trace", help="write every request and response to this file")
    args = parser.parse_args()

    hooks = {"response": [Trace(args.trace).response]} if args.trace else {}
    http = httpx2.Client(
        base_url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
        event_hooks=hooks,
    )
    notes: list[str] = []
    config = service_provider_config(http, notes)
    provider = ScimProvider(config=config) if config else None
    client = SyncSCIMClient(http, provider=provider)
    results = check_server(client)
    extensions = {
        str(extension.schema_)
        for resource_type in client.provider.resource_types
        for extension in resource_type.schema_extensions or []
    }
    print(
        json.dumps(
            {
                "checker": "scim2-tester",
                "versions": {
                    name: version(name)
                    for name in ("scim2-tester", "scim2-client", "scim2-models", "httpx2")
                },
                "notes": notes,
                "results": [result_json(r, extensions) for r in results],
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

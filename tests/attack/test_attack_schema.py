"""Schemathesis over the app's own OpenAPI schema, once per identity (each role's token, and
no credentials): whatever the generated request, never a 5xx, and every response conforms to
the schema (status code declared, body shape, content type). Multipart bodies included (the
enrolment upload is declared by hand in api/routes_enrol.py).

Requests go through the test's one TestClient, so all of them hit one app and one real SQLite
store; the number of examples per operation is kept small (EXAMPLES) so the whole directory
stays within a few minutes. `OPENLFR_ATTACK_EXAMPLES=200` runs a deeper campaign by hand.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi import checks as oa_checks

from openlfr.api.schema import openapi_schema
from tests.attack.conftest import ROLES, World

EXAMPLES = int(os.environ.get("OPENLFR_ATTACK_EXAMPLES", "4"))
# Checks of the response against the schema. Those about the server accepting every valid
# input (positive_data_acceptance) do not hold by design: a valid-looking id that names no row
# is a 404, a draft that breaks a rule a 422.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_schema_conformance,
    oa_checks.response_headers_conformance,
]
# Operations whose side effects would end the identity's own credentials mid-campaign.
SKIP = {("POST", "/api/token/revoke")}


def _textual_parts(files: Any) -> list[tuple[str, Any]]:
    """Multipart parts with every value sent as text or bytes: the generator also makes
    undeclared extra fields with numbers or nulls, which the HTTP client cannot send as is."""
    out = []
    for name, part in files.items() if isinstance(files, dict) else files:
        if isinstance(part, tuple) and not isinstance(part[1], str | bytes):
            part = (part[0], "" if part[1] is None else str(part[1]), *part[2:])
        out.append((name, part))
    return out


def _operations(world: World) -> list[Any]:
    schema = schemathesis.openapi.from_dict(openapi_schema(world.client.app))  # type: ignore[arg-type]
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if (op.method.upper(), op.path) not in SKIP]


@pytest.mark.parametrize("identity", [*ROLES, "none"])
def test_schema_fuzzing_finds_no_server_error(world: World, identity: str) -> None:
    failures: list[str] = []
    operations = _operations(world)
    assert len(operations) >= 20, "the schema lost its operations"
    for op in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            kwargs = case.as_transport_kwargs(headers=world.identity(identity))
            kwargs.pop("base_url", None)
            if kwargs.get("files"):
                kwargs["files"] = _textual_parts(kwargs["files"])
            url = kwargs.pop("url")
            response = world.client.request(url=url, **kwargs)
            response.request.read()  # a multipart body is a stream; the checks read it
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")
    assert not failures, f"{len(failures)} operations failed as {identity}:\n" + "\n\n".join(
        failures
    )

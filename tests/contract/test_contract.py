"""The contract (openapi/enkash.yaml) against the running sandbox.

- every operation of the spec is routed by the app, and every vendor route of the app is in the spec;
- docs/FIDELITY.md names every path of the spec;
- schemathesis generates valid and invalid requests for every operation and sends them the way a partner
  does (token, partnerId, User-Agent, AES envelope both ways): no server errors, documented status codes,
  documented content types, responses that match their schemas, and invalid data rejected with a documented
  4xx (or, for a payout transfer the API could read, answered REJECTED with its reason code, as documented);
- a stateful run follows the spec's links (create card -> load -> search -> transactions; order -> details).

Deterministic (derandomized, fixed example budget); ENKASH_CONTRACT_EXAMPLES raises the budget for a longer run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
import schemathesis
from enkash_sandbox import contract
from fastapi.openapi.utils import get_openapi
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.transport import send

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("ENKASH_CONTRACT_EXAMPLES", "6"))
VENDOR = ("/api/", "/oauth/", "/sso/")

schema = schemathesis.openapi.from_path(ROOT / "openapi" / "enkash.yaml")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES, deterministic=True, allow_x00=False
)
# a body over the 1 MiB limit is rejected with 413 before it is read: a rejection like the others; the payout
# APIs also reject with their documented 412 (account without IFSC, account and VPA, another company)
schema.config.checks.negative_data_rejection.expected_statuses.extend(["412", "413"])
PAYOUT_TRANSFERS = ("/api/v0/payout-transaction", "/api/v0/payout-transaction/batch")


def _payout_rejected(response, case) -> bool:
    """The payout APIs' documented refusal of a transfer they could read: HTTP 200 with payoutStatus REJECTED and a
    reason code (enkash-other.md §2.4), or a batch that lists the item among its failed ones."""
    if case.operation.path not in PAYOUT_TRANSFERS or response.status_code != 200:
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    if case.operation.path.endswith("/batch"):
        return bool(data.get("failedPayoutTransactionCreateResponses"))
    return data.get("payoutStatus") == "REJECTED" and bool(data.get("reasonCode"))


def negative_data_rejected(ctx, response, case):
    """negative_data_rejection, with a REJECTED transfer counted as the rejection it is."""
    if _payout_rejected(response, case):
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejected,
]


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_spec_and_app_route_the_same_operations(contract_sandbox):
    # the app's own route table, as FastAPI lists it (the generated document is used for nothing else)
    listed = get_openapi(title="routes", version="0", routes=contract_sandbox.app.routes)["paths"]
    routed = {(m.upper(), _normalise(p)) for p, item in listed.items() if p.startswith(VENDOR) for m in item}
    specified = {(m, _normalise(p)) for m, p, _ in contract.operations()}
    assert specified - routed == set(), "operations in the spec the app does not route"
    assert routed - specified == set(), "vendor routes of the app missing from the spec"


def test_every_operation_and_schema_declares_its_provenance():
    for method, path, op in contract.operations():
        assert op.get("x-fidelity") in ("documented", "inferred", "sandbox"), (method, path)
        assert op.get("x-source"), (method, path)
    for name, schema in contract.spec()["components"]["schemas"].items():
        assert schema.get("x-fidelity") in ("documented", "inferred", "sandbox"), name


def test_fidelity_doc_and_spec_agree():
    """docs/FIDELITY.md has a row per operation, with the same fidelity as the spec's x-fidelity."""
    rows = {}
    for line in (ROOT / "docs" / "FIDELITY.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)` \| (\w+) \|", line)
        if found:
            rows[(found.group(1), _normalise(found.group(2)))] = found.group(3)
    for method, path, op in contract.operations():
        assert rows.get((method, _normalise(path))) == op["x-fidelity"], (method, path)
    assert len(rows) == len(contract.operations())


def _marked_properties(node: object, found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """(property name, x-fidelity) of every property that carries its own x-fidelity, anywhere in the spec."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, schema in properties.items():
                if isinstance(schema, dict) and "x-fidelity" in schema:
                    found.add((name, schema["x-fidelity"]))
        for value in node.values():
            _marked_properties(value, found)
    elif isinstance(node, list):
        for value in node:
            _marked_properties(value, found)
    return found


def test_every_marked_property_is_listed_in_fidelity():
    """A property the docs do not name carries x-fidelity in the spec and a row in docs/FIDELITY.md, and back."""
    listed = set()
    for line in (ROOT / "docs" / "FIDELITY.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\| property `([^`]+)` \| (\w+) \|", line)
        if found:
            listed.add((found.group(1), found.group(2)))
    marked = _marked_properties(contract.spec(), set())
    assert marked - listed == set(), "marked in openapi/enkash.yaml, missing from docs/FIDELITY.md"
    assert listed - marked == set(), "listed in docs/FIDELITY.md, not marked in openapi/enkash.yaml"


def test_served_spec_is_the_file(contract_sandbox):
    served = httpx.get(f"{contract_sandbox.url}/openapi.json").json()
    # the file, except that `servers` names the sandbox that served it (so "Try it out" works on any port or host)
    assert served["servers"][0]["url"] == contract_sandbox.url
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in contract.spec().items() if k != "servers"}
    served_yaml = httpx.get(f"{contract_sandbox.url}/openapi.yaml").text
    assert f"servers:\n  - url: {contract_sandbox.url}" in served_yaml
    assert re.sub(r"(servers:\n  - url: )\S+", r"\1X", served_yaml) == re.sub(
        r"(servers:\n  - url: )\S+", r"\1X", contract.spec_text()
    )
    docs = httpx.get(f"{contract_sandbox.url}/docs").text
    assert "/_sandbox/docs-assets/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert httpx.get(f"{contract_sandbox.url}/_sandbox/docs-assets/swagger-ui-bundle.js").status_code == 200
    control = httpx.get(f"{contract_sandbox.url}/_sandbox/openapi.json").json()
    assert "/reset" in control["paths"] and "/faults" in control["paths"]


# One pytest item per operation, parametrized here rather than by schemathesis' own collector: that one runs
# its operations as subtests, which pytest-xdist (the suite runs on two workers) silently skipped.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def _check(case, ctx, http: httpx.Client, mode: GenerationMode) -> None:
    response = send(case, ctx, http, positive=mode == GenerationMode.POSITIVE)
    case.validate_response(response, checks=CHECKS)


def fuzz_one_mode(operation, ctx, http: httpx.Client, mode: GenerationMode) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        _check(case, ctx, http, mode)

    try:
        fuzz()
    except Unsatisfiable:
        # no invalid request can be derived for an operation whose schema accepts anything it can express
        # (schemathesis' own runner moves on the same way); the coverage cases above still ran
        assert mode == GenerationMode.NEGATIVE, f"no valid request generated for {operation.label}"


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_every_operation_against_the_contract(operation, partner_context):
    """The coverage phase (boundary values of every field, valid and invalid), then EXAMPLES fuzzed cases per
    generation mode, all through the partner's path."""
    with httpx.Client(base_url=partner_context.live.url, timeout=30) as http:
        sent = 0
        for case in schema.iter_coverage_cases(operation, generation_modes=MODES, generation_config=schema.config.generation):
            mode = getattr(getattr(case.meta, "generation", None), "mode", GenerationMode.POSITIVE)
            _check(case, partner_context, http, mode)
            sent += 1
        for mode in MODES:
            fuzz_one_mode(operation, partner_context, http, mode)
    assert sent > 0, f"no coverage cases for {operation.label}"


@pytest.fixture(scope="module")
def workflow(partner_context):
    ctx = partner_context

    class PartnerWorkflow(schema.as_state_machine()):
        def call(self, case, **kwargs):
            with httpx.Client(base_url=ctx.live.url, timeout=30) as http:
                response = send(case, ctx, http, positive=True)
            return schemathesis.Response.from_httpx(response, verify=False)

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(
                response,
                checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            )

    return PartnerWorkflow


def test_stateful_sequences_follow_the_links(workflow):
    workflow.run(
        settings=settings(
            max_examples=max(3, EXAMPLES // 2),
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )

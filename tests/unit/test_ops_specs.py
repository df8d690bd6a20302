"""The ops layer's specs: what the JSON control plane, the dashboard and the CLI all accept, and the one
readable 422 they all answer for anything else."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from enkash_sandbox.faults.engine import ACTIONS, MAX_DELAY_MS
from enkash_sandbox.ops.actions import (
    ClockSpec,
    FaultRuleSpec,
    FundSpec,
    KycSpec,
    OpsError,
    ProvisionSpec,
    ResetSpec,
    SettleSpec,
    SnapshotSpec,
    fault_spec_from_form,
    parse,
)


def refusal(spec, data) -> str:
    with pytest.raises(OpsError) as caught:
        parse(spec, data)
    assert caught.value.status == 422
    return caught.value.message


# -- fault rules ----------------------------------------------------------------------------------------
def test_a_valid_fault_rule_is_accepted_with_its_defaults():
    spec = parse(FaultRuleSpec, {"action": {"type": "status", "status": 503, "retryAfter": 2}, "times": 3, "method": "POST"})
    assert spec.path == "*" and spec.seed == 0 and spec.probability is None
    assert spec.action.type == "status" and spec.action.status == 503 and spec.action.retryAfter == 2
    assert spec.times == 3 and spec.method == "POST"


@pytest.mark.parametrize("kind", ACTIONS)
def test_every_documented_action_type_is_accepted(kind):
    action = {"type": kind, **({"status": 500} if kind == "status" else {}), **({"latencyMs": 5} if kind == "latency" else {})}
    assert parse(FaultRuleSpec, {"action": action}).action.type == kind


def test_latency_takes_a_fixed_delay_or_a_range_within_the_cap():
    assert parse(FaultRuleSpec, {"action": {"type": "latency", "latencyMs": [10, 20]}}).action.latencyMs == [10, 20]
    assert parse(FaultRuleSpec, {"action": {"type": "latency", "latencyMs": MAX_DELAY_MS}}).action.latencyMs == MAX_DELAY_MS


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"action": {"type": "status", "status": 0}}, "action.status", "greater than or equal to 400"),
        ({"action": {"type": "status", "status": 200}}, "action.status", "greater than or equal to 400"),
        ({"action": {"type": "status", "status": 600}}, "action.status", "less than or equal to 599"),
        ({"action": {"type": "status"}}, "action", "type=status needs `status`"),
        ({"action": {"type": "drop", "status": 500}}, "action", "`status` goes with type=status only"),
        ({"action": {"type": "explode"}}, "action.type", "'status', 'business_failure'"),
        ({"action": {"type": "latency"}}, "action", "type=latency needs `latencyMs`"),
        ({"action": {"type": "latency", "latencyMs": [20, 10]}}, "action", "latencyMs range must be [min, max]"),
        ({"action": {"type": "latency", "latencyMs": [1, 2, 3]}}, "action", "latencyMs range must be [min, max]"),
        ({"action": {"type": "latency", "latencyMs": MAX_DELAY_MS + 1}}, "action.latencyMs", "less than or equal to"),
        ({"action": {"type": "latency", "latencyMs": -1}}, "action.latencyMs", "greater than or equal to 0"),
        ({"action": {"type": "drop"}, "probability": math.nan}, "probability", "finite number"),
        ({"action": {"type": "drop"}, "probability": "NaN"}, "probability", "finite number"),
        ({"action": {"type": "drop"}, "probability": 0}, "probability", "greater than 0"),
        ({"action": {"type": "drop"}, "probability": 1.5}, "probability", "less than or equal to 1"),
        ({"action": {"type": "drop"}, "times": 0}, "times", "greater than or equal to 1"),
        ({"action": {"type": "drop"}, "method": "PO ST"}, "method", "should match pattern"),
        ({"action": {"type": "drop"}, "path": ""}, "path", "at least 1 character"),
        ({"action": {"type": "drop"}, "seed": -1}, "seed", "greater than or equal to 0"),
        ({"action": {"type": "drop"}, "bodyField": {"name": "amount", "equals": math.inf}}, "bodyField.equals", "finite"),
        ({"action": {"type": "drop"}, "colour": "red"}, "colour", "Extra inputs are not permitted"),
        ({}, "action", "Field required"),
    ],
)
def test_bad_fault_rules_are_refused_naming_the_field(data, field, words):
    message = refusal(FaultRuleSpec, data)
    # the field comes first (a union field adds the member that refused it: "action.latencyMs.constrained-float: ...")
    assert message.startswith(field) or f"; {field}" in message, message
    assert words in message, message
    assert "Value error, " not in message  # pydantic's prefix is trimmed for people


# -- the dashboard's fault form -------------------------------------------------------------------------
def test_the_fault_form_reads_into_the_same_spec_as_json():
    form = {"type": "status", "status": "503", "path": "/api/*", "method": "POST", "times": "2", "message": "", "csrf": "abc"}
    spec = fault_spec_from_form(form)
    assert spec == parse(
        FaultRuleSpec, {"action": {"type": "status", "status": 503}, "path": "/api/*", "method": "POST", "times": 2}
    )


def test_empty_form_fields_are_absent_and_the_path_defaults_to_everything():
    spec = fault_spec_from_form({"type": "latency", "latencyMs": " 50 ", "path": "  ", "probability": "", "partnerId": ""})
    assert spec.path == "*" and spec.partnerId is None and spec.probability is None
    assert spec.action.latencyMs == 50


@pytest.mark.parametrize(
    "form, words",
    [
        ({"type": "status", "status": "0"}, "action.status: Input should be greater than or equal to 400"),
        ({"type": "teleport"}, "action.type: Input should be"),
        ({"type": "drop", "probability": "nan"}, "probability: Input should be a finite number"),
        ({"type": "drop", "probability": "0"}, "probability: Input should be greater than 0"),
        ({"type": "status", "status": "five hundred"}, "action.status: Input should be a valid integer"),
        ({"status": "500"}, "action.type: Input should be"),
    ],
)
def test_the_fault_form_refuses_what_the_json_api_refuses(form, words):
    with pytest.raises(OpsError) as caught:
        fault_spec_from_form(form)
    assert caught.value.status == 422
    assert words in caught.value.message


# -- money ----------------------------------------------------------------------------------------------
def test_fund_accepts_paise_exactly():
    assert parse(FundSpec, {"amount": "10.50"}).amount == Decimal("10.50")
    assert parse(FundSpec, {"amount": "1000000000000"}).amount == Decimal("1000000000000")


@pytest.mark.parametrize(
    "amount, words",
    [
        ("-5", "greater than 0"),
        (-0.01, "greater than 0"),
        ("0", "greater than 0"),
        ("1.001", "no more than 2 decimal places"),
        ("NaN", "finite number"),
        ("Infinity", "finite number"),
        ("1000000000000.01", "less than or equal to 1000000000000"),
        ("ten", "valid decimal"),
    ],
)
def test_fund_refuses_what_money_cannot_be(amount, words):
    message = refusal(FundSpec, {"amount": amount})
    assert message.startswith("amount: ") and words in message, message


def test_provision_refuses_a_negative_balance_and_an_unknown_mode():
    assert parse(ProvisionSpec, {}).fundBalance == Decimal("100000")
    assert parse(ProvisionSpec, {"fundBalance": 0, "encryption": "off"}).encryption == "off"
    assert "fundBalance: Input should be greater than or equal to 0" in refusal(ProvisionSpec, {"fundBalance": -1})
    assert "encryption: Input should be 'required', 'optional' or 'off'" in refusal(ProvisionSpec, {"encryption": "maybe"})


# -- clock, reset, snapshots, KYC, settlement ------------------------------------------------------------
def test_clock_specs_need_what_their_action_needs():
    assert parse(ClockSpec, {"action": "advance", "seconds": -60}).seconds == -60
    assert parse(ClockSpec, {"action": "set", "at": "2030-01-01T00:00:00Z"}).at.year == 2030
    assert "set needs `at`" in refusal(ClockSpec, {"action": "set"})
    assert "advance needs `seconds`" in refusal(ClockSpec, {"action": "advance"})
    assert "seconds: Input should be a finite number" in refusal(ClockSpec, {"action": "advance", "seconds": "inf"})
    assert "seconds: Input should be less than or equal to" in refusal(ClockSpec, {"action": "advance", "seconds": 1e12})
    assert "action: Input should be" in refusal(ClockSpec, {"action": "rewind"})


def test_reset_seed_is_bounded():
    assert parse(ResetSpec, {"seed": 7}).seed == 7
    assert "seed: Input should be greater than or equal to 0" in refusal(ResetSpec, {"seed": -1})
    assert "seed: Input should be less than or equal to" in refusal(ResetSpec, {"seed": 2**63})


@pytest.mark.parametrize(
    "name, words",
    [
        ("__baseline-42", "reserved for the sandbox's own reset baseline"),
        ("bad name", "should match pattern"),
        ("../escape", "should match pattern"),
        ("", "at least 1 character"),
        ("x" * 65, "at most 64 characters"),
    ],
)
def test_snapshot_names_are_refused_when_reserved_or_unsafe(name, words):
    assert words in refusal(SnapshotSpec, {"name": name})


def test_snapshot_names_that_are_safe_are_accepted():
    assert parse(SnapshotSpec, {"name": "before-demo_1.2"}).name == "before-demo_1.2"
    assert parse(SnapshotSpec, {"name": "_single"}).name == "_single"


def test_kyc_and_settle_accept_only_their_vocabularies():
    assert parse(KycSpec, {"kycStatus": "VERIFIED"}).kycStatus == "VERIFIED"
    assert "kycStatus: Input should be" in refusal(KycSpec, {"kycStatus": "MAYBE"})
    assert parse(SettleSpec, {"status": "FAILED"}).status == "FAILED"
    assert "status: Input should be 'SUCCESS' or 'FAILED'" in refusal(SettleSpec, {"status": "PENDING"})


def test_several_problems_are_reported_together():
    message = refusal(FaultRuleSpec, {"action": {"type": "status", "status": 1}, "times": 0})
    assert "action.status:" in message and "times:" in message and "; " in message

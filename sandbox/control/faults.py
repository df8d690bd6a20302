"""Fault rules, the request journal and the magic-values table."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.control.common import ops, sandbox
from enkash_sandbox.faults import magic
from enkash_sandbox.ops.actions import FaultRuleSpec
from fastapi import APIRouter, Path, Query, Request

router = APIRouter()


@router.post("/faults", status_code=201, tags=["faults"])
def add_fault(body: FaultRuleSpec, request: Request):
    return ops(request).add_fault(body)


@router.get("/faults", tags=["faults"])
def list_faults(request: Request):
    return ops(request).faults()


@router.delete("/faults/{rule_id}", tags=["faults"])
def delete_fault(rule_id: str, request: Request):
    return ops(request).delete_fault(rule_id)


@router.delete("/faults", tags=["faults"])
def clear_faults(request: Request):
    return ops(request).clear_faults()


@router.get("/requests", tags=["journal"])
def journal(
    request: Request,
    partnerId: str | None = None,
    path: str | None = None,
    method: str | None = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
):
    """Requests the vendor surface received (by this worker process), newest first, with decrypted bodies and
    secrets redacted. `path` may end with * to match a prefix; `since` is an ISO-8601 UTC instant."""
    return ops(request).journal(partner_id=partnerId, path=path, method=method, status=status, since=since, limit=limit)


@router.get("/requests/{entry_id}", tags=["journal"])
def journal_entry(entry_id: Annotated[int, Path(ge=1, le=2**62)], request: Request):
    """One journal entry by id: the id X-Sandbox-Explain names on a failed vendor answer."""
    return ops(request).journal_entry(entry_id)


@router.delete("/requests", tags=["journal"])
def clear_journal(request: Request):
    return ops(request).clear_journal()


@router.get("/magic-values", tags=["faults"])
def magic_values(request: Request):
    s = sandbox(request).settings
    return magic.table(s.magic_slow_seconds, s.fault_timeout_seconds, s.pending_order_seconds)

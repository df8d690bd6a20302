"""Fault rules, the request journal and the magic-values table."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from enkash_sandbox.domain import magic

router = APIRouter()


class BodyField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="dotted path into the decrypted JSON body")
    equals: str | int | float | bool


class FaultAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["status", "business_failure", "insufficient_balance", "latency", "drop", "malformed",
                  "rate_limit", "timeout"]
    status: int | None = Field(default=None, ge=400, le=599, description="for type=status")
    message: str | None = Field(default=None, max_length=500)
    latencyMs: float | list[float] | None = Field(default=None, description="fixed ms, or [min, max] drawn per hit")
    retryAfter: int | None = Field(default=None, ge=0, le=3600)

    @model_validator(mode="after")
    def _consistent(self):
        if self.type == "status" and self.status is None:
            raise ValueError("type=status needs `status`")
        if isinstance(self.latencyMs, list) and (len(self.latencyMs) != 2 or self.latencyMs[0] > self.latencyMs[1]):
            raise ValueError("latencyMs range must be [min, max]")
        if self.type == "latency" and self.latencyMs is None:
            raise ValueError("type=latency needs `latencyMs`")
        return self


class FaultRuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]+$")
    path: str = Field(default="*", max_length=300, description="glob over the request path, e.g. /api/v0/partner/*")
    partnerId: str | None = Field(default=None, description="only this tenant's requests")
    bodyField: BodyField | None = None
    action: FaultAction
    times: int | None = Field(default=None, ge=1, le=1_000_000, description="apply to the next N matching requests")
    probability: float | None = Field(default=None, gt=0, le=1, description="apply with this probability")
    seed: int = Field(default=0, description="seed of the probability draws: same seed, same sequence")


def _view(rule) -> dict:
    return {"id": rule.id, "partnerId": rule.partner_id, **rule.spec, "remaining": rule.remaining, "hits": rule.hits}


@router.post("/faults", status_code=201, tags=["faults"])
def add_fault(body: FaultRuleBody, request: Request):
    spec = body.model_dump(exclude_none=True, exclude={"partnerId", "times"})
    rule = request.app.state.core.faults.add_rule(spec, body.partnerId, body.times)
    return _view(rule)


@router.get("/faults", tags=["faults"])
def list_faults(request: Request):
    engine = request.app.state.core.faults
    engine.invalidate()
    return [_view(r) for r in engine.rules()]


@router.delete("/faults/{rule_id}", tags=["faults"])
def delete_fault(rule_id: str, request: Request):
    if not request.app.state.core.faults.delete_rule(rule_id):
        raise HTTPException(404, f"no fault rule {rule_id}")
    return {"deleted": rule_id}


@router.delete("/faults", tags=["faults"])
def clear_faults(request: Request):
    return {"deleted": request.app.state.core.faults.delete_rule()}


@router.get("/requests", tags=["journal"])
def journal(request: Request, partnerId: str | None = None, path: str | None = None, method: str | None = None,
            status: int | None = None, since: str | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 100):
    """Requests the vendor surface received, newest first, with decrypted bodies and secrets redacted.
    `path` may end with * to match a prefix; `since` is an ISO-8601 UTC instant."""
    return request.app.state.core.journal.query(partner_id=partnerId, path=path, method=method, status=status,
                                                since=since, limit=limit)


@router.delete("/requests", tags=["journal"])
def clear_journal(request: Request):
    return {"deleted": request.app.state.core.journal.clear()}


@router.get("/magic-values", tags=["faults"])
def magic_values(request: Request):
    s = request.app.state.core.settings
    return magic.table(s.magic_slow_seconds, s.fault_timeout_seconds, s.pending_order_seconds)

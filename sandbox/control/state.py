"""Reset and snapshots of the whole sandbox, and reset of one tenant."""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from enkash_sandbox.store.state import SnapshotError

router = APIRouter()


class ResetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(default=None, ge=0, le=2**62)


class SnapshotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


@router.post("/reset", tags=["state"])
def reset(request: Request, body: ResetBody | None = None):
    """Put the whole sandbox back to its freshly seeded state (optionally under another seed)."""
    started = time.perf_counter()
    result = request.app.state.core.reset(body.seed if body else None)
    return {"reset": True, "seed": result["seed"], "elapsedMs": round((time.perf_counter() - started) * 1000, 2)}


@router.post("/partners/{partner_id}/reset", tags=["state"])
def reset_tenant(partner_id: str, request: Request):
    """Put one tenant back to the state it was provisioned in; other tenants are untouched."""
    if not request.app.state.core.tenants.reset(partner_id):
        raise HTTPException(404, f"unknown partner {partner_id}")
    return {"reset": True, "partnerId": partner_id}


@router.post("/snapshots", status_code=201, tags=["state"])
def take_snapshot(body: SnapshotBody, request: Request):
    """Capture the whole state under a name (a demo prepares a scenario once, restores it before each run)."""
    try:
        return request.app.state.core.state.take(body.name)
    except SnapshotError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/snapshots", tags=["state"])
def list_snapshots(request: Request):
    state = request.app.state.core.state
    return [state.describe(name) for name in state.names()]


@router.post("/snapshots/{name}/restore", tags=["state"])
def restore_snapshot(name: str, request: Request):
    core = request.app.state.core
    started = time.perf_counter()
    try:
        core.state.restore(name)
    except KeyError:
        raise HTTPException(404, f"no snapshot named {name}") from None
    core.after_state_change()
    return {"restored": name, "elapsedMs": round((time.perf_counter() - started) * 1000, 2)}


@router.delete("/snapshots/{name}", tags=["state"])
def delete_snapshot(name: str, request: Request):
    if name.startswith("__") or not request.app.state.core.state.delete(name):
        raise HTTPException(404, f"no snapshot named {name}")
    return {"deleted": name}

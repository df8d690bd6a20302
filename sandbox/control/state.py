"""Reset and snapshots of the whole sandbox, and reset of one tenant. Store-wide: whichever worker answers,
the same snapshots exist and a reset replaces the state every worker serves."""

from __future__ import annotations

from enkash_sandbox.control.common import ops
from enkash_sandbox.ops.actions import ResetSpec, RestoreSpec, SnapshotSpec
from fastapi import APIRouter, Request

router = APIRouter()


@router.post("/reset", tags=["state"])
def reset(request: Request, body: ResetSpec | None = None):
    """Put the whole sandbox back to its freshly seeded state (optionally under another seed)."""
    return ops(request).reset(body or ResetSpec())


@router.post("/partners/{partner_id}/reset", tags=["state"])
def reset_tenant(partner_id: str, request: Request):
    """Put one tenant back to the state it was provisioned in; other tenants are untouched."""
    return ops(request).reset_tenant(partner_id)


@router.post("/snapshots", status_code=201, tags=["state"])
def take_snapshot(body: SnapshotSpec, request: Request):
    """Capture the whole state under a name (a demo prepares a scenario once, restores it before each run)."""
    return ops(request).take_snapshot(body)


@router.get("/snapshots", tags=["state"])
def list_snapshots(request: Request):
    return ops(request).snapshots()


@router.post("/snapshots/{name}/restore", tags=["state"])
def restore_snapshot(name: str, request: Request, body: RestoreSpec | None = None):
    """Restore a snapshot. One taken under another seed is refused (409) unless `adoptSeed` is true."""
    return ops(request).restore_snapshot(name, body or RestoreSpec())


@router.delete("/snapshots/{name}", tags=["state"])
def delete_snapshot(name: str, request: Request):
    return ops(request).delete_snapshot(name)

"""What every control-plane router shares: the running sandbox, its ops, and exact JSON answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from enkash_sandbox import jsonio
from fastapi import Request, Response

if TYPE_CHECKING:
    from enkash_sandbox.container import Container
    from enkash_sandbox.ops.actions import Ops


def sandbox(request: Request) -> Container:
    """The running sandbox (the control plane is the one layer that sees all of it)."""
    container: Container = request.app.state.container
    return container


def ops(request: Request) -> Ops:
    return sandbox(request).ops


def respond(data: Any, status: int = 200) -> Response:
    """JSON rendered by the sandbox's own encoder: amounts stay exact (FastAPI's encoder turns Decimal into
    float, which loses cents past 10^13)."""
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")

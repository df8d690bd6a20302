"""What every control-plane router shares: the ops object of the running sandbox and exact JSON answers."""

from __future__ import annotations

from enkash_sandbox import jsonio
from enkash_sandbox.ops import Ops
from fastapi import Request, Response


def ops(request: Request) -> Ops:
    return request.app.state.core.ops


def respond(data, status: int = 200) -> Response:
    """JSON rendered by the sandbox's own encoder: amounts stay exact (FastAPI's encoder turns Decimal into
    float, which loses cents past 10^13)."""
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")

"""FastAPI options shared by the vendor app and the control plane."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI


def quiet_fastapi() -> dict[str, Any]:
    """Switch off FastAPI's built-in OpenTelemetry layer (an environment look-up and provider checks on every
    request) where the installed FastAPI has one; the sandbox keeps its own request journal."""
    if "telemetry" in inspect.signature(FastAPI).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}

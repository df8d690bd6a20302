"""The only implementation of control actions (reset, snapshots, faults, clock, tenants, journal, funding).

The JSON control plane, the dashboard's forms and the CLI all call it with the same pydantic specs."""

from enkash_sandbox.ops.actions import *  # noqa: F403
from enkash_sandbox.ops.actions import Ops, OpsError, parse, validation_message

__all__ = ["Ops", "OpsError", "parse", "validation_message"]

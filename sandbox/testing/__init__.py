"""Running the sandbox from tests: a live server in a thread, the control-plane client, the pytest plugin."""

from enkash_sandbox.testing.live import LiveSandbox, free_port, provision

__all__ = ["LiveSandbox", "free_port", "provision"]

"""EnKash Sandbox: a local, stateful emulator of EnKash's partner APIs."""

__version__ = "0.1.0"

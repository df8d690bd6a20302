"""EnKash Sandbox: a local, stateful emulator of EnKash's partner APIs."""

from importlib.metadata import PackageNotFoundError, version

try:
    # one version source: pyproject.toml, read from the installed distribution
    __version__ = version("enkash-sandbox")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

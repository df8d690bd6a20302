"""The fast tier: no server process, no socket. Router tests drive the ASGI app in process."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from enkash_sandbox.config import Settings

with warnings.catch_warnings():
    # starlette asks for its httpx2 fork; the client behaves the same either way
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@contextmanager
def in_process(**overrides) -> Iterator[TestClient]:
    """A sandbox app on a throw-away store, without the demo tenant, reached as http://testserver.
    Build one per test module (a module-scoped fixture): building costs a few hundred milliseconds."""
    from enkash_sandbox.app import create_app

    # stated whole, so that no ENKASH_SANDBOX_* variable of the developer's shell (a database URL, an admin
    # token) changes what the fast tier tests
    settings = {
        "db": ":memory:",
        "database_url": None,
        "admin_token": None,
        "seed_demo": False,
        "allowed_hosts": "testserver",
        **overrides,
    }
    app = create_app(Settings(**settings))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        app.state.container.close()

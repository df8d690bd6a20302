"""In CI the PostgreSQL run is not optional: without a server the suite must fail, not skip."""

import os

from tests.conftest import BACKENDS


def test_postgresql_backend_runs_in_ci():
    if os.environ.get("CI"):
        assert "postgresql" in BACKENDS, "CI must export ENKASH_SANDBOX_TEST_DATABASE_URL (.ci/run starts PostgreSQL)"
    else:
        assert BACKENDS[0] == "sqlite"

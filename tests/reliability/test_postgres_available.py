"""The PostgreSQL run is only as real as its server: this test connects to it. In CI (CI=true) a missing server
fails the suite; locally the PostgreSQL half is optional and this test says in one line that it was skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, IN_CI, POSTGRES_URL


def test_postgresql_answers_select_1():
    if not POSTGRES_URL:
        message = "ENKASH_SANDBOX_TEST_DATABASE_URL is not set: the PostgreSQL half of the suite did not run"
        if IN_CI:
            pytest.fail(f"{message} (CI must export it; .ci/run starts PostgreSQL)", pytrace=False)
        pytest.skip(f"{message} (optional locally)")
    assert "postgresql" in BACKENDS
    engine = create_engine(POSTGRES_URL, pool_pre_ping=False)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.dialect.name == "postgresql"
    finally:
        engine.dispose()

"""Two worker processes on one store, for each store the suite runs on (SQLite always; PostgreSQL when a
server is given, which CI requires)."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, postgres_database
from tests.reliability.servers import ServerProcess

# trials per race test: each trial is a fresh tenant and a fresh burst of concurrent calls
TRIALS = 3
# what each race test ran, printed at the end of the run (tests/conftest.py: pytest_terminal_summary)
RACE_REPORT: list[str] = []


def report(name: str, server: ServerProcess, *, trials: int, detail: str) -> None:
    RACE_REPORT.append(f"{name:<28} {server.label:<22} {trials} trials ({detail})")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    if request.param == "postgresql":
        env = {"ENKASH_SANDBOX_DATABASE_URL": postgres_database("races")}
    else:
        env = {"ENKASH_SANDBOX_DB": str(tmp_path_factory.mktemp("races") / "sandbox.db")}
    with ServerProcess(env, workers=2) as proc:
        proc.label = f"{request.param}, 2 workers"
        yield proc

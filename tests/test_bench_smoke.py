"""The benchmark harness in smoke mode (a few seconds), so it cannot rot between full runs."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_smoke(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads((tmp_path / "smoke.json").read_text())
    rows = data["throughput"]
    assert {"sandbox (encryption off)", "sandbox (encryption on)", "bare uvicorn/Starlette (ceiling)"} <= set(rows)
    for row in rows.values():
        assert row["read"]["rps"] > 0 and row["write"]["rps"] > 0 and row["read"]["errors"] == 0
    assert data["reset"]["reset_server_ms"] > 0 and data["scale"]
    assert "| target |" in (tmp_path / "smoke.md").read_text()

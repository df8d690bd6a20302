"""The payouts benchmark in quick mode, so it cannot rot between full runs. It asserts that every row is measured
and nothing failed, never a timing: the machines are shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_payouts_bench_quick_mode_measures_every_row(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "payouts.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not list(scratch.iterdir()), "the run left its stores behind"
    data = json.loads((tmp_path / "payouts-quick.json").read_text())
    transfers, batch = data["transfers"], data["batch"]
    assert transfers["rps"] > 0 and transfers["requests"] > 0 and transfers["errors"] == 0
    assert batch["accepted"] == 1000 and batch["batch_s"] > 0 and batch["read_errors"] == 0
    assert batch["reads_during"] > 0 and batch["p99_during_ms"] > 0 and batch["p99_quiet_ms"] > 0
    assert data["audit"] == "clean"
    text = (tmp_path / "payouts-quick.md").read_text()
    assert "| single transfers/s (IMPS, each accepted and debited; the clock runs: they settle meanwhile) |" in text
    assert "| 1,000-transfer batch: time (clock frozen: nothing settles meanwhile) |" in text

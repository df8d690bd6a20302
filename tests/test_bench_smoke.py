"""The benchmark harness in quick mode (well under a minute), so it cannot rot between full runs.

It asserts that the harness runs and reports every row, never a timing: the machines are shared."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_mode_measures_and_reports_every_row(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not list(scratch.iterdir()), "the run left its stores behind"
    data = json.loads((tmp_path / "quick.json").read_text())
    rows = data["throughput"]
    assert {
        "sandbox (encryption off)",
        "sandbox (encryption on)",
        "the sandbox's SQL on bare Starlette (floor)",
        "bare uvicorn/Starlette (ceiling)",
    } <= set(rows)
    for row in rows.values():
        for kind in ("read", "write"):
            assert row[kind]["rps"] > 0 and row[kind]["p99_ms"] > 0 and row[kind]["errors"] == 0, (kind, row)
        assert row["rss_idle_mb"] > 0
    stores = {"sqlite", "postgresql"} if os.environ.get("ENKASH_SANDBOX_TEST_DATABASE_URL") else {"sqlite"}
    assert set(data["workers"]) == stores
    for by_workers in data["workers"].values():
        assert set(by_workers) == {"1", "2"}
        assert all(row["audit_ok"] and row["write"]["rps"] > 0 for row in by_workers.values())
    assert (
        data["startup"]["fresh_store_s"] > 0 and data["startup"]["existing_store_s"] > 0 and data["startup"]["stack_floor_s"] > 0
    )
    assert data["reset"]["reset_server_ms"] > 0 and data["scale"]
    text = (tmp_path / "quick.md").read_text()
    assert "| goal | measured | target | met |" in text and "| target | persists writes |" in text
    assert "errors in every sandbox run" in text
    assert "of the floor's searches" in text  # the sandbox against its own statements on bare Starlette
    # the goals table has a row for each measured target, including the per-store worker scaling
    assert "2 workers vs 1, SQLite" in text


def test_spend_bench_quick_mode_measures_every_row(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "spend.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not list(scratch.iterdir()), "the run left its stores behind"
    data = json.loads((tmp_path / "spend-quick.json").read_text())
    assert set(data["throughput"]) == {"card load (reference)", "authorize (sale)", "authorize (hold)"}
    assert all(row["rps"] > 0 and row["errors"] == 0 for row in data["throughput"].values())
    assert data["delivery"]["delivered"] == data["delivery"]["events"] and data["audit"] == "clean"
    assert "| webhook delivery to a local receiver |" in (tmp_path / "spend-quick.md").read_text()


def test_a_terminated_bench_run_removes_its_stores(tmp_path):
    """A CI timeout or `kill` ends a run with SIGTERM: its stores (GBs in a full run) go with it."""
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import run; run.cleaned_up_on_exit(); "
        "d = run.scratch_dir('store-'); (d / 'enkash_sandbox.db').write_bytes(b'x' * 1000); print(d, flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(ROOT / "bench")],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        cwd=ROOT,
    )
    store = Path(proc.stdout.readline().strip())
    assert (store / "enkash_sandbox.db").exists()
    proc.terminate()
    assert proc.wait(timeout=30) == 128 + 15
    assert not list(tmp_path.iterdir()), "a terminated run left its stores behind"

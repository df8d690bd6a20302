"""Payouts benchmark: transfers per second on one worker (SQLite), the time a 1,000-transfer batch takes, and the
latency of other requests (a balance read) while the batch runs, next to the same reads without it.

    python bench/payouts.py            # about half a minute
    python bench/payouts.py --quick    # a few seconds (the test suite runs it so it cannot rot)

Needs `wrk` for the transfer rate (a Python load generator stands in without it; it saturates before the
server does). Prints a table and writes bench/results/payouts.md (payouts-quick.md with --quick). The machine is
shared and noisy: compare rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, RESULTS, clean_up, cleaned_up_on_exit, free_port, scratch_dir, spawn, wait_ready  # noqa: E402

TRANSFER = "/api/v0/payout-transaction"
BATCH = "/api/v0/payout-transaction/batch"
BALANCE = "/api/v0/payout-account/balance"


def start_sandbox() -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = scratch_dir("payouts-") / "enkash_sandbox.db"
    env = {"ENKASH_SANDBOX_DB": str(db), "ENKASH_SANDBOX_SEED_DEMO": "false"}
    proc = spawn([shutil.which("enkash-sandbox") or "enkash-sandbox", "serve", "--port", str(port), "--quiet"], env=env)
    wait_ready(url + "/_sandbox/health", proc)
    return proc, url


def prepare(url: str) -> dict:
    from enkash_sandbox.client import EnKashClient

    creds = httpx.post(f"{url}/_sandbox/partners", json={"encryption": "off"}, timeout=60).json()
    fund = creds["payoutFundSourceId"]
    # enough for every transfer of the run (₹1 each) many times over
    answer = httpx.post(f"{url}/_sandbox/payouts/accounts/{fund}/fund", json={"amount": "1000000000.00"}, timeout=60)
    answer.raise_for_status()
    with EnKashClient.from_credentials(url, creds, encrypt=False) as c:
        token = c.access_token()
    return {"creds": creds, "fund": fund, "token": token}


def headers(ctx: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx['token']}", "User-Agent": "bench/payouts", "Content-Type": "application/json"}


def transfers_wrk(url: str, ctx: dict, duration: float, connections: int, prefix: str) -> dict:
    env = {**os.environ, "WRK_AUTH": f"Bearer {ctx['token']}", "WRK_PREFIX": prefix, "WRK_FUND": ctx["fund"]}
    seconds = max(1, round(duration))
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "wrk" / "payouts.lua"),
        url + TRANSFER,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = next(li for li in out.stdout.splitlines() if li.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON ") :])
    elapsed = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / elapsed,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["non2xx"] + data["socket_errors"],
        "requests": data["requests"],
    }


def transfers_python(url: str, ctx: dict, duration: float, connections: int, prefix: str) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal errors
        i = 0
        with httpx.Client(base_url=url, timeout=30, headers=headers(ctx)) as c:
            while time.perf_counter() < deadline:
                i += 1
                body = {
                    "transactionId": f"{prefix}{n}-{i}",
                    "beneficiaryId": "BENBANK001",
                    "transferAmount": "1.00",
                    "fundSourceId": ctx["fund"],
                }
                t = time.perf_counter()
                r = c.post(TRANSFER, json=body)
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200 or r.json().get("payoutStatus") != "PROCESSING":
                        errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(worker, range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors,
        "requests": len(latencies),
    }


def read_latencies(url: str, ctx: dict, stop_when: threading.Event, out: list[float], errors: list[int]) -> None:
    with httpx.Client(base_url=url, timeout=60, headers=headers(ctx)) as c:
        while not stop_when.is_set():
            t = time.perf_counter()
            r = c.get(BALANCE, params={"fundSourceId": ctx["fund"]})
            out.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                errors.append(r.status_code)
            time.sleep(0.002)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def batch_run(url: str, ctx: dict, size: int, name: str) -> dict:
    """One batch of `size` transfers, with two readers polling the balance meanwhile; and the same readers for the
    same time without a batch, for comparison."""
    transfers = [{"transactionId": f"{name}-{i}", "beneficiaryId": "BENBANK001", "transferAmount": "1.00"} for i in range(size)]
    body = json.dumps({"batchTransactionId": name, "transfers": transfers})
    during: list[float] = []
    errors: list[int] = []
    stop_when = threading.Event()
    readers = [threading.Thread(target=read_latencies, args=(url, ctx, stop_when, during, errors)) for _ in range(2)]
    for reader in readers:
        reader.start()
    time.sleep(0.2)
    started = time.perf_counter()
    answer = httpx.post(f"{url}{BATCH}", content=body, headers=headers(ctx), timeout=300)
    batch_s = time.perf_counter() - started
    stop_when.set()
    for reader in readers:
        reader.join()
    accepted = len(answer.json().get("successfulPayoutTransactionCreateResponses", [])) if answer.status_code == 200 else 0
    baseline: list[float] = []
    stop_quiet = threading.Event()
    quiet = [threading.Thread(target=read_latencies, args=(url, ctx, stop_quiet, baseline, errors)) for _ in range(2)]
    for reader in quiet:
        reader.start()
    time.sleep(max(batch_s, 1.0))
    stop_quiet.set()
    for reader in quiet:
        reader.join()
    return {
        "size": size,
        "accepted": accepted,
        "batch_s": batch_s,
        "reads_during": len(during),
        "p50_during_ms": statistics.median(during) if during else 0.0,
        "p99_during_ms": p99(during),
        "p99_quiet_ms": p99(baseline),
        "read_errors": len(errors),
    }


def report(results: dict) -> str:
    t, b = results["transfers"], results["batch"]
    lines = [
        "# Payouts benchmark",
        "",
        f"{results['when']} · {results['machine']} · {results['load']} · command: `{results['command']}`",
        "",
        "| measure (1 worker, SQLite, encryption off) | value |",
        "|---|---|",
        f"| single transfers/s (IMPS, each accepted and debited; the clock runs: they settle meanwhile) | {t['rps']:,.0f} |",
        f"| single transfer p50 / p99 ms | {t['p50_ms']:.1f} / {t['p99_ms']:.1f} |",
        f"| transfer errors | {t['errors']:.0f} of {t['requests']:.0f} |",
        "| 1,000-transfer batch: time (clock frozen: nothing settles meanwhile) | "
        f"{b['batch_s']:.2f} s ({b['accepted']} accepted) |",
        f"| balance reads answered during the batch | {b['reads_during']} |",
        f"| balance read p50 / p99 during the batch, ms | {b['p50_during_ms']:.1f} / {b['p99_during_ms']:.1f} |",
        f"| balance read p99 without a batch, ms | {b['p99_quiet_ms']:.1f} |",
        f"| read errors | {b['read_errors']} |",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds: one short round")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for payouts.md/.json (payouts-quick.* with --quick)")
    args = parser.parse_args()
    cleaned_up_on_exit()
    rounds, duration = (1, 1.0) if args.quick else (3, 5.0)
    proc, url = start_sandbox()
    try:
        ctx = prepare(url)
        # the batch first, with the sandbox clock frozen: what is measured is placing it (nothing settles meanwhile:
        # the transfer rounds' settlement would otherwise run in the background of the batch)
        httpx.post(f"{url}/_sandbox/clock", json={"action": "freeze"}, timeout=30).raise_for_status()
        batches = [batch_run(url, ctx, 1000, f"BATCH{r}") for r in range(rounds)]
        httpx.post(f"{url}/_sandbox/clock", json={"action": "reset"}, timeout=30).raise_for_status()
        batch = {key: statistics.median(run[key] for run in batches) for key in batches[0]}
        measure = transfers_wrk if shutil.which("wrk") else transfers_python
        runs = [measure(url, ctx, duration, 16, f"W{r}-") for r in range(rounds)]
        transfers = {
            key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_ms", "p99_ms", "errors", "requests")
        }
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}",
            "load": f"wrk -t2 -c16 -d{duration:g}s · {rounds} rounds, medians" if measure is transfers_wrk else "Python load",
            "command": "python bench/payouts.py" + (" --quick" if args.quick else ""),
            "transfers": transfers,
            "batch": batch,
        }
        audit = httpx.get(f"{url}/_sandbox/audit", timeout=120).json()
        results["audit"] = "clean" if audit["ok"] else f"{len(audit['discrepancies'])} discrepancies"
    finally:
        clean_up()
    text = report(results) + f"\nAudit after the run: {results['audit']}.\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "payouts-quick" if args.quick else "payouts"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Card spending benchmark: authorizations per second on one worker, next to a card load (the write path every
partner uses) measured in the same invocation, and the webhook delivery latency to a local receiver.

    python bench/spend.py            # about a minute and a half
    python bench/spend.py --quick    # a few seconds (the test suite runs it so it cannot rot)

Needs `wrk` for the throughput rows (a Python load generator stands in without it). Prints a table and writes
bench/results/spend.md. Numbers are medians over the rounds; the ratio to the card load is what to compare
between machines (this one is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (
    CARD,
    RESULTS,
    Load,
    clean_up,
    cleaned_up_on_exit,
    free_port,
    run_python_load,
    run_wrk,
    scratch_dir,
    spawn,
    wait_ready,
)  # noqa: E402

CHANNELS_ON = {
    "posAllowed": True,
    "onlineAllowed": True,
    "atmAllowed": True,
    "contactlessAllowed": True,
    "internationalAllowed": True,
    "adminUser": True,
}


def start_sandbox() -> tuple[object, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = scratch_dir("spend-") / "enkash_sandbox.db"
    env = {"ENKASH_SANDBOX_DB": str(db), "ENKASH_SANDBOX_SEED_DEMO": "false"}
    proc = spawn([shutil.which("enkash-sandbox") or "enkash-sandbox", "serve", "--port", str(port), "--quiet"], env=env)
    wait_ready(url + "/_sandbox/health", proc)
    return proc, url


def prepare(url: str) -> dict:
    from enkash_sandbox.client import EnKashClient

    creds = httpx.post(f"{url}/_sandbox/partners", json={"encryption": "off", "fundBalance": 10**11}, timeout=60).json()
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["GIFT"]}
    with EnKashClient.from_credentials(url, creds, encrypt=False) as c:
        card = c.create_card(**ref, mobile="9876543210", firstName="Bench", loadAmount=10**9)["enKashCardId"]
        c.velocity(ref["companyId"], ref["cardAccountId"], [card], **CHANNELS_ON)
        token = c.access_token()
    return {"creds": creds, "ref": ref, "card": card, "token": token}


def throughput(url: str, ctx: dict, rounds: int, duration: float, connections: int) -> dict[str, dict]:
    measure = run_wrk if shutil.which("wrk") else run_python_load
    headers = {"Authorization": f"Bearer {ctx['token']}", "partnerId": ctx["creds"]["partnerId"]}
    loads = {
        "card load (reference)": Load(
            f"{CARD}/balance",
            json.dumps({**ctx["ref"], "enKashCardId": ctx["card"], "amount": 1, "transactionType": "CR"}).encode(),
            headers,
        ),
        "authorize (sale)": Load(f"/_sandbox/cards/{ctx['card']}/authorize", json.dumps({"amount": 1}).encode()),
        "authorize (hold)": Load(
            f"/_sandbox/cards/{ctx['card']}/authorize", json.dumps({"amount": 1, "capture": False}).encode()
        ),
    }
    runs: dict[str, list[dict]] = {name: [] for name in loads}
    for _ in range(rounds):  # alternating, so a noisy neighbour hits every row alike
        for name, load in loads.items():
            runs[name].append(measure(url, load, duration, connections))
    return {
        name: {key: statistics.median(r[key] for r in rows) for key in ("rps", "p50_ms", "p99_ms", "errors")}
        for name, rows in runs.items()
    }


def delivery_latency(url: str, ctx: dict, events: int) -> dict:
    """Authorizations one after another; for each, the time from the sandbox's answer to the receiver's receipt."""
    from enkash_sandbox.client import EnKashClient
    from enkash_sandbox.testing.webhooks import WebhookReceiver

    with EnKashClient.from_credentials(url, ctx["creds"], encrypt=False) as client, WebhookReceiver() as receiver:
        receiver.subscribe(client, ["CARD_TRANSACTION_AUTHORIZED"])
        answered: dict[str, float] = {}
        for _ in range(events):
            result = client.authorize(ctx["card"], 1, merchantName="Bench Latency")
            answered[result["transactionId"]] = time.time()
        deadline = time.monotonic() + 30
        while len(receiver.received) < events and time.monotonic() < deadline:
            time.sleep(0.02)
        latencies = sorted(
            (d.received_at - answered[d.payload["txnDetails"]["id"]]) * 1000
            for d in receiver.received
            if d.payload and d.payload["txnDetails"]["id"] in answered
        )
    if not latencies:
        return {"delivered": 0, "events": events}
    return {
        "events": events,
        "delivered": len(latencies),
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": latencies[-1],
    }


def report(results: dict) -> str:
    rows = results["throughput"]
    reference = rows["card load (reference)"]["rps"]
    lines = [
        "# Card spending benchmark",
        "",
        f"{results['when']} · {results['machine']} · {results['load']} · command: `{results['command']}`",
        "",
        "| request (1 worker, SQLite) | req/s | vs card load | p50 / p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        latency = f"{row['p50_ms']:.1f} / {row['p99_ms']:.1f}"
        lines.append(f"| {name} | {row['rps']:,.0f} | {row['rps'] / reference:.2f}× | {latency} | {row['errors']:.0f} |")
    d = results["delivery"]
    lines += [
        "",
        "| webhook delivery to a local receiver | events | delivered | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    if d.get("delivered"):
        lines.append(
            f"| answer → receipt | {d['events']} | {d['delivered']} | {d['p50_ms']:.1f} | {d['p99_ms']:.1f} | {d['max_ms']:.1f} |"
        )
    else:
        lines.append(f"| answer → receipt | {d['events']} | 0 | — | — | — |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds: one short round, 20 events")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for spend.md/.json (spend-quick.* with --quick)")
    args = parser.parse_args()
    cleaned_up_on_exit()
    rounds, duration, events = (1, 1.0, 20) if args.quick else (3, 5.0, 200)
    proc, url = start_sandbox()
    try:
        ctx = prepare(url)
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()} · {__import__('os').cpu_count()} cores · Python {platform.python_version()}",
            "load": f"wrk -t2 -c16 -d{duration:g}s · {rounds} rounds, medians" if shutil.which("wrk") else "Python load",
            "command": "python bench/spend.py" + (" --quick" if args.quick else ""),
            "throughput": throughput(url, ctx, rounds, duration, 16),
            "delivery": delivery_latency(url, ctx, events),
        }
        audit = httpx.get(f"{url}/_sandbox/audit", timeout=120).json()
        results["audit"] = "clean" if audit["ok"] else f"{len(audit['discrepancies'])} discrepancies"
    finally:
        clean_up()
    text = report(results) + f"\nAudit after the run: {results['audit']}.\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "spend-quick" if args.quick else "spend"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""Soak: N minutes of mixed load on one sandbox, then the RSS trend, the error count and the audit.

    python bench/soak.py --minutes 10 [--workers 2] [--threads 8]

Not run in CI. Mixed load per thread: card loads and unloads, reward allocations, searches, transaction
searches, voucher orders, and an occasional fault header. Every request loop is bounded in time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from enkash_sandbox.client import EnKashClient, EnKashError  # noqa: E402
from run import SandboxTarget, clean_up, cleaned_up_on_exit, rss_mb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    cleaned_up_on_exit()
    target = SandboxTarget("soak", "required", workers=args.workers)
    target.start()
    deadline = time.monotonic() + args.minutes * 60
    counts = {"requests": 0, "business_failures": 0, "errors": 0}
    lock = threading.Lock()
    rss: list[tuple[float, float]] = []

    def worker(n: int) -> None:
        rng = random.Random(n)
        creds = httpx.post(f"{target.url}/_sandbox/partners", json={"fundBalance": 10**9}).json()
        ref = (creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"])
        with EnKashClient.from_credentials(target.url, creds, timeout=30) as c:
            card = c.allocate_points(*ref, 1000, reference=f"S{n}-0", mobile=f"9{n:03d}000000", firstName="Soak")
            holder = c.as_user(card["mobile"], "Holder@1234")
            product = holder.product_configs(httpx.get(f"{target.url}/_sandbox/catalog").json()[0]["productCatalogId"])
            i = 0
            while time.monotonic() < deadline:
                i += 1
                action = rng.random()
                try:
                    if action < 0.3:
                        c.allocate_points(*ref, rng.randint(1, 50), reference=f"S{n}-{i}", enkashCardId=card["enKashCardId"])
                    elif action < 0.45:
                        c.allocate_points(*ref, 1, reference=f"S{n}-{i}", unallocate=True, enKashCardId=card["enKashCardId"])
                    elif action < 0.7:
                        c.search_cards(*ref, card["enKashCardId"])
                    elif action < 0.85:
                        c.transactions(*ref, enKashCardId=card["enKashCardId"], limit=20)
                    elif action < 0.95:
                        holder.create_order(product["productCatalogId"], product["configResponses"][0]["mrp"], 1, f"SO{n}-{i}")
                    else:
                        c.request(
                            "POST",
                            "/api/v0/partner/enKashCard/search",
                            {"companyId": ref[0], "cardAccountId": ref[1]},
                            headers={"X-Sandbox-Fault": "503"},
                            raw=True,
                        )
                    with lock:
                        counts["requests"] += 1
                except EnKashError as exc:
                    with lock:
                        counts["requests"] += 1
                        counts["business_failures" if "Insufficient" in str(exc) else "errors"] += 1
            holder.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
    try:
        for t in threads:
            t.start()
        started = time.monotonic()
        while any(t.is_alive() for t in threads):
            rss.append((time.monotonic() - started, rss_mb(target.proc.pid)))
            time.sleep(5)
        audit = httpx.get(f"{target.url}/_sandbox/audit", timeout=300).json()
    finally:
        clean_up()
    first = statistics.median(v for _, v in rss[: max(1, len(rss) // 5)])
    last = statistics.median(v for _, v in rss[-max(1, len(rss) // 5) :])
    print(
        f"{args.minutes:g} min, {args.threads} threads, {args.workers} worker(s): {counts['requests']:,} requests, "
        f"{counts['business_failures']} business failures, {counts['errors']} errors"
    )
    print(f"RSS: first fifth {first:.0f} MB -> last fifth {last:.0f} MB (max {max(v for _, v in rss):.0f} MB)")
    print(f"audit: {'clean' if audit['ok'] else audit['discrepancies'][:5]} ({audit['checked']})")


if __name__ == "__main__":
    main()

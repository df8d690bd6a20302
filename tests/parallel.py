"""Firing many partner calls at once, each from its own logged-in client, the way a busy partner does."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from enkash_sandbox.client import EnKashBusinessError, EnKashClient


def fire(url: str, creds: dict, calls: list, workers: int = 24) -> list[str]:
    """Run `calls` (each takes a client) in parallel; "ok" or the business failure's message per call."""
    clients = [EnKashClient.from_credentials(url, creds) for _ in range(workers)]
    for c in clients:
        c.access_token()

    def one(i):
        try:
            calls[i](clients[i % workers])
            return "ok"
        except EnKashBusinessError as exc:
            return exc.message

    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(len(calls))))
    finally:
        for c in clients:
            c.close()

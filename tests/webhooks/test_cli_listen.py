"""`enkash-sandbox listen --forward-to URL`: subscribes a local receiver, prints each delivery with its
signature checked, forwards it unchanged, answers with the forward target's status, and unsubscribes on exit."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx

from tests.webhooks.test_delivery import wait_until


def test_listen_prints_and_forwards_then_unsubscribes(sandbox, tenant, client, receiver):
    receiver.answer_with(500)  # the forward target fails once: the sandbox sees the failure and retries
    proc = subprocess.Popen(
        [
            shutil.which("enkash-sandbox") or "enkash-sandbox",
            "listen",
            "--url",
            sandbox.url,
            "--partner",
            tenant["partnerId"],
            "--event",
            "PAYOUT_SUCCESS",
            "--event",
            "PAYOUT_FAILED",
            "--forward-to",
            receiver.url,
            "--count",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        found = re.search(r"subscription (WH\w+), signing secret (whsec_\w+)", first)
        assert found, first + proc.stderr.read()
        sub_id, secret = found.groups()
        receiver.secret = secret  # forwarded deliveries keep the sandbox's signature
        assert [s["id"] for s in client.webhook_subscriptions()] == [sub_id]
        client.fire_webhook("PAYOUT_SUCCESS")
        client.fire_webhook("PAYOUT_FAILED")
        # the first forward answered 500: that delivery is retried once the sandbox clock passes its wait
        wait_until(lambda: len(client.webhook_deliveries(status="PENDING")) == 1 and len(receiver.received) == 2)
        httpx.post(f"{sandbox.url}/_sandbox/clock", json={"action": "advance", "seconds": 31})
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        httpx.post(f"{sandbox.url}/_sandbox/clock", json={"action": "reset"})
    assert proc.returncode == 0, err
    lines = [first, *out.splitlines()]
    assert sum("verified" in line for line in lines[1:]) == 3, lines
    assert any("[500]" in line for line in lines) and sum("[200]" in line for line in lines) == 2, lines
    assert receiver.wait_for("PAYOUT_SUCCESS") and receiver.wait_for("PAYOUT_FAILED")
    assert all(d.verified for d in receiver.received)
    assert client.webhook_subscriptions() == []  # removed on exit

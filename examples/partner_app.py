"""A partner's own integration code, the kind the pytest plugin example tests: load a card, and ride out a
short EnKash outage by retrying (with the same uniqueReferenceNumber, so a retry can never load twice)."""

from __future__ import annotations

import time

from enkash_sandbox.client import EnKashClient, EnKashHTTPError

RETRYABLE = {429, 502, 503, 504}


def load_card(client: EnKashClient, company_id: str, account_id: str, card_id: str, amount: int, *, reference: str) -> dict:
    for attempt in range(3):
        try:
            return client.load(company_id, account_id, card_id, amount, reference=reference)
        except EnKashHTTPError as exc:
            if exc.status not in RETRYABLE or attempt == 2:
                raise
            time.sleep(0.1 * 2**attempt)
    raise AssertionError("unreachable")

"""The floor: the sandbox's own card search and card load statements on a bare Starlette route.

What a load or a search costs when nothing but the work itself runs: the request parsed with orjson, the
sandbox's prebuilt SQL (store/sql.py) executed on one sqlite3 connection with the sandbox's PRAGMAs, on a store
the sandbox made (same schema and indexes), and the answer rendered with orjson. No token, no gateway (control
sync, fault rules, journal, explanations), no validation model, no envelope profile, no FastAPI. bench/run.py
serves it with the same uvicorn as the sandbox, so the sandbox's figure over this one is the share of the
request path the sandbox's features and frameworks take; the rest is SQLite's and the HTTP server's.

It serves the card bench/run.py prepared: FLOOR_DB names the store, FLOOR_CARD the card's id.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from enkash_sandbox.ledger.movements import _DEBIT_ACCOUNT, _INSERT_ENTRY, _INSERT_TXN, _LOAD_CARD
from enkash_sandbox.products.cards.service import _CARD_FOR_MOVE
from enkash_sandbox.products.records import _CARD_WITH_CONTEXT
from enkash_sandbox.products.spend.velocity import _READ as _USAGE
from enkash_sandbox.store.engine import MINT
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0", "busy_timeout=30000", "foreign_keys=ON")
_db = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None, check_same_thread=False)
for pragma in _PRAGMAS:
    _db.execute(f"PRAGMA {pragma}")


def _checkpoint() -> None:
    """The WAL checkpointed in the background, as the sandbox does (store/engine.py's Checkpointer)."""
    conn = sqlite3.connect(os.environ["FLOOR_DB"], isolation_level=None)
    while True:
        time.sleep(0.5)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


threading.Thread(target=_checkpoint, daemon=True).start()
_CARD = os.environ["FLOOR_CARD"]
_MAX = 10**15


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _answer(payload: dict) -> Response:
    return Response(orjson.dumps({"code": 0, "message": "Success", "payload": payload}), media_type="application/json")


async def search(request: Request) -> Response:
    body = orjson.loads(await request.body())
    cur = _db.cursor()
    cur.execute("BEGIN")
    row = cur.execute(_CARD_WITH_CONTEXT.sqlite, {"card_id": body["enKashCardId"]}).fetchone()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    usage = cur.execute(
        _USAGE.sqlite,
        {"card_id": _CARD, "day": f"D:{today}", "month": f"M:{today[:7]}", "year": f"Y:{today[:4]}", "channel": ""},
    ).fetchall()
    cur.execute("COMMIT")
    # every column of the card, its holder, account and company, as text: an answer about the size of the sandbox's
    view = {f"c{i}": None if value is None else str(value) for i, value in enumerate(row)}
    view["usedDtd"] = str(sum(Decimal(u[1]) for u in usage) / 100)
    return _answer(view)


async def load(request: Request) -> Response:
    body = orjson.loads(await request.body())
    minor = int(Decimal(str(body["amount"])) * 100)
    now = _now()
    cur = _db.cursor()
    cur.execute("BEGIN IMMEDIATE")
    try:
        card = cur.execute(_CARD_FOR_MOVE.sqlite, {"card_id": body["enKashCardId"], "on": True}).fetchone()
        account = cur.execute(_DEBIT_ACCOUNT.sqlite, {"id": card[2], "delta": -minor, "need": minor, "now": now}).fetchone()
        balance = cur.execute(_LOAD_CARD.sqlite, {"id": card[0], "delta": minor, "ceiling": _MAX - minor, "now": now}).fetchone()
        seq = cur.execute(MINT.sqlite, {"count": 1, "kind": "txn"}).fetchone()[0]
        txn = f"FLOOR{seq:012d}"
        cur.execute(
            _INSERT_TXN.sqlite,
            {
                "id": txn, "seq": seq, "partner_id": card[1], "account_id": card[2], "card_id": card[0],
                "user_id": card[3], "direction": "CR", "type": "LOAD_MONEY", "transaction_code": None,
                "amount_minor": minor, "card_balance_after_minor": balance[0], "account_balance_after_minor": account[0],
                "pg_reference_number": None, "status": "SUCCESS", "description": None, "remarks": None,
                "created_by": None, "order_id": None, "response": None, "created_at": now,
            },
        )  # fmt: skip
        cur.executemany(
            _INSERT_ENTRY.sqlite,
            [
                {"txn_id": txn, "partner_id": card[1], "holder_kind": "ACCOUNT", "holder_id": card[2],
                 "amount_minor": -minor, "balance_after_minor": account[0], "created_at": now},
                {"txn_id": txn, "partner_id": card[1], "holder_kind": "CARD", "holder_id": card[0],
                 "amount_minor": minor, "balance_after_minor": balance[0], "created_at": now},
            ],
        )  # fmt: skip
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return _answer(
        {"enKashCardId": card[0], "enkashCardTxnId": txn, "otbBalance": str(Decimal(balance[0]) / 100), "status": "SUCCESS"}
    )


async def health(request: Request) -> Response:
    return Response(b'{"status":"UP"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/_sandbox/health", health),
        Route("/api/v0/partner/enKashCard/search", search, methods=["POST"]),
        Route("/api/v0/partner/enKashCard/balance", load, methods=["POST"]),
    ]
)

"""Start-up stays lean: `enkash-sandbox serve` on an existing store imports none of the heavy modules that only
some later request needs (Faker for seeding, Jinja2 for a dashboard page, httpx for a webhook delivery, YAML
for the contract, SQLAlchemy's PostgreSQL dialect on a SQLite store, the test tools). Each costs tens to
hundreds of milliseconds of every start. Checked in a fresh interpreter, on what it imported, never on time."""

from __future__ import annotations

import json
import subprocess
import sys

from enkash_sandbox.config import Settings
from enkash_sandbox.container import build

# module -> what needs it, and so when it may be imported
DEFERRED = {
    "faker": "seeding a new store or tenant",
    "jinja2": "the first dashboard page",
    "httpx": "the first webhook delivery",
    "yaml": "the first request for the contract",
    "sqlalchemy.dialects.postgresql": "a PostgreSQL store",
    "psycopg": "a PostgreSQL store",
    "schemathesis": "the contract tests only",
    "hypothesis": "the contract tests only",
    "rich": "nothing at run time",
    "pygments": "nothing at run time",
}

# what `serve` does before it answers (cli.serve): import the CLI, open the store, build the app, start it
READY_PATH = """
import asyncio, json, sys
import enkash_sandbox.cli
from enkash_sandbox.app import create_app
from enkash_sandbox.config import Settings
from enkash_sandbox.container import build

container = build(Settings(db=sys.argv[1]))
container.start()
app = create_app(container=container)
container.deliverer.start()  # what the app's start-up does in a serving process


async def health():
    # one request straight through the ASGI app (a test client would import httpx itself)
    sent = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/_sandbox/health", "raw_path": b"/_sandbox/health", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8080")], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


messages = asyncio.run(health())
assert messages[0]["status"] == 200, messages
assert json.loads(b"".join(m.get("body", b"") for m in messages[1:]))["status"] == "UP"
print(json.dumps(sorted(sys.modules)))
container.close()
"""


def test_the_ready_path_imports_nothing_deferred(tmp_path):
    db = tmp_path / "s.db"
    first = build(Settings(db=str(db)))
    first.start()  # the first start seeds the demo tenant (Faker); the start measured below finds it done
    first.close()
    out = subprocess.run([sys.executable, "-c", READY_PATH, str(db)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    early = {name: why for name, why in DEFERRED.items() if name in loaded}
    assert early == {}, f"imported before the sandbox answered, though only needed later: {early}"
    # the check sees real imports: the modules the ready path does need are there
    assert {"fastapi", "sqlmodel", "enkash_sandbox.app", "enkash_sandbox.store.tables"} <= loaded

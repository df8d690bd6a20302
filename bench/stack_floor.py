"""The start-up floor of the sandbox's stack: FastAPI, uvicorn and SQLModel imported, one route, nothing else.

`bench/run.py` starts it beside `enkash-sandbox serve` to show what start-to-ready costs before the sandbox does
anything of its own (on a slow or shared machine the frameworks' imports alone can take over a second)."""

import sqlmodel  # noqa: F401  (imported for its cost: the sandbox's store is SQLModel over SQLAlchemy)
from fastapi import FastAPI

app = FastAPI()


@app.get("/_sandbox/health")
def health() -> dict[str, str]:
    return {"status": "UP"}

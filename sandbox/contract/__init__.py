"""The EnKash contract (openapi/enkash.yaml, hand-written from the docs) and the pages that show it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SPEC = Path(__file__).resolve().parent / "enkash.yaml"


@lru_cache(maxsize=1)
def spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def spec() -> dict:
    import yaml  # on the first request for the contract, not at start

    data: dict = yaml.safe_load(spec_text())
    return data


def operations() -> list[tuple[str, str, dict]]:
    """(METHOD, path, operation) for every operation of the contract."""
    out = []
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                out.append((method.upper(), path, op))
    return out

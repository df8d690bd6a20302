"""Jinja2 templates for the pages the sandbox serves (VKYC, SSO portal, dashboard), with autoescaping."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=1)
def environment() -> Environment:
    # Jinja2 is imported on the first page rendered, not at start (a tenth of a second of start-up)
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)

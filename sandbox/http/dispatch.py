"""Straight-line dispatch of the vendor routes.

The routes are ordinary FastAPI routes — declared in each product slice's router with Annotated dependencies,
registered on the app, listed in its route table — but a vendor request does not go through FastAPI's
per-request machinery (route scan with regexes, generic dependency solving, response validation layers):
measured in process, that was a third of a request's CPU. At start-up this module reads each route's
dependencies once, from FastAPI's own analysis of the signature, and checks they are the kind the vendor
surface uses (the Request, path parameters, and `async def dep(request)` dependencies); per request it finds
the route with one dictionary look-up (or one regex for the few templated paths), awaits the dependencies in
order and calls the endpoint. Anything it does not handle (an unknown path, a method not allowed, a route
whose signature it does not understand) goes to FastAPI as before.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("enkash_sandbox")
Handler = Callable[[Request, Exception], Awaitable[Response]]


@dataclass
class Plan:
    endpoint: Callable[..., Awaitable[Response]]
    request_name: str | None
    path_params: tuple[str, ...]
    dependencies: tuple[tuple[str, Callable[[Request], Awaitable[Any]]], ...]


def compile_route(route: APIRoute) -> Plan | None:
    """A plan for a route whose every parameter is the Request, a path parameter, or a dependency that takes
    only the Request; None for anything else (FastAPI keeps such a route)."""
    dependant = route.dependant
    if (
        not inspect.iscoroutinefunction(route.endpoint)
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    ):
        return None
    dependencies = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            call is None
            or not inspect.iscoroutinefunction(call)
            or sub.dependencies
            or sub.path_params
            or sub.query_params
            or sub.body_params
            or sub.request_param_name is None
            or not sub.name
        ):
            return None
        params = inspect.signature(call).parameters
        if len(params) != 1:
            return None
        dependencies.append((sub.name, call))
    return Plan(route.endpoint, dependant.request_param_name, tuple(p.name for p in dependant.path_params), tuple(dependencies))


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute of an app, whether FastAPI lists it directly or (newer versions) inside the routers an
    app included. Routers are included without a prefix of their own here: each declares its full prefix."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(api_routes(list(route.original_router.routes)))
    return found


class VendorDispatch:
    """ASGI layer in front of the FastAPI app for the routes `compile_route` accepts."""

    def __init__(
        self, app: ASGIApp, fastapi: FastAPI, prefixes: tuple[str, ...], handlers: dict[type[Exception], Handler]
    ) -> None:
        self.app = app
        self.fastapi = fastapi
        self.handlers = handlers
        self.exact: dict[tuple[str, str], Plan] = {}
        self.templated: list[tuple[str, re.Pattern[str], Plan]] = []
        for route in api_routes(fastapi.routes):
            if not route.path.startswith(prefixes):
                continue
            plan = compile_route(route)
            if plan is None:
                continue
            assert route.methods is not None  # an APIRoute always has its methods (GET by default)
            for method in route.methods:
                if route.param_convertors:
                    self.templated.append((method, route.path_regex, plan))
                else:
                    self.exact[(method, route.path)] = plan

    def find(self, method: str, path: str) -> tuple[Plan, dict[str, str]] | None:
        plan = self.exact.get((method, path))
        if plan is not None:
            return plan, {}
        for route_method, pattern, templated in self.templated:
            if route_method == method:
                match = pattern.match(path)
                if match:
                    return templated, match.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.find(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if found is None:
            return await self.app(scope, receive, send)
        plan, path_params = found
        scope["app"] = self.fastapi
        scope["path_params"] = path_params
        request = Request(scope, receive, send)
        try:
            kwargs: dict[str, Any] = {name: path_params[name] for name in plan.path_params}
            if plan.request_name:
                kwargs[plan.request_name] = request
            for name, call in plan.dependencies:
                kwargs[name] = await call(request)
            response = await plan.endpoint(**kwargs)
        except Exception as exc:
            response = await self._handle(request, exc)
        await response(scope, receive, send)

    async def _handle(self, request: Request, exc: Exception) -> Response:
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return await handler(request, exc)
        raise exc

"""Sending a schemathesis case the way a partner does: token, partnerId (User-Agent on the payout APIs), AES
envelope both ways."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import httpx
from enkash_sandbox import crypto, jsonio
from schemathesis.core import NotSet

USER_PATHS = ("/api/v0/cart", "/api/v0/partner/create-order")


def _seeded_choice(case) -> bool:
    """Half the positive cases get real ids (deterministic per case), the other half keep generated ones."""
    key = f"{case.operation.label}:{case.body!r}:{case.query!r}:{case.path_parameters!r}"
    return hashlib.blake2b(key.encode(), digest_size=1).digest()[0] % 2 == 0


def _substitute(value, ids: dict):
    if isinstance(value, dict):
        return {k: (ids[k] if k in ids and isinstance(v, str) else v) for k, v in value.items()}
    return value


def send(case, ctx, http: httpx.Client, *, positive: bool) -> httpx.Response:
    path_parameters = dict(case.path_parameters or {})
    query = dict(case.query or {})
    body = None if isinstance(case.body, NotSet) else case.body
    if positive and _seeded_choice(case):
        body = _substitute(body, ctx.ids)
        query = _substitute(query, ctx.ids)
        path_parameters = _substitute(path_parameters, ctx.ids)
    path = case.operation.path
    for name, value in path_parameters.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    generated = {k.lower(): v for k, v in (case.headers or {}).items()}
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "partnerid")}
    client = ctx.user if path.startswith(USER_PATHS) else ctx.partner
    if case.operation.path == "/oauth/token":
        headers.update({k: v for k, v in (case.headers or {}).items()})
        return http.request(case.method, path, params=query, data=body if isinstance(body, dict) else None, headers=headers)
    if not case.operation.path.startswith("/sso/"):
        # a real token and partnerId stand in for generated ones; a negative case that leaves one out, or
        # sends an empty partnerId, keeps it that way so its rejection is what gets tested
        if positive or "authorization" in generated:
            headers["Authorization"] = f"Bearer {client.access_token()}"
        if positive or generated.get("partnerid"):
            headers["partnerId"] = ctx.creds["partnerId"]
        elif "partnerid" in generated:
            headers["partnerId"] = generated["partnerid"]
    content = None
    if isinstance(body, bytes):
        content = body  # negative generation: a body that is not JSON at all
        headers["Content-Type"] = case.media_type or "application/json"
    elif body is not None and case.media_type == "application/json":
        content = jsonio.dumps(crypto.encrypt_json(body, ctx.creds["clientSecret"]) if isinstance(body, (dict, list)) else body)
        headers["Content-Type"] = "application/json"
    elif body is not None and isinstance(body, dict):
        content = httpx.QueryParams(body).__str__().encode()
        headers["Content-Type"] = case.media_type
    request = http.build_request(case.method, path, params=query, content=content, headers=headers)
    if not positive and "user-agent" not in generated and _declares(case, "User-Agent"):
        # a negative case that leaves out a required User-Agent (the payout APIs') must go without one: httpx
        # would otherwise add its own and the rejection under test would never be sent
        del request.headers["User-Agent"]
    raw = http.send(request)
    return _decrypted(raw, ctx.creds["clientSecret"])


def _declares(case, header: str) -> bool:
    return any(p.name.lower() == header.lower() and p.location == "header" for p in case.operation.headers)


def _decrypted(response: httpx.Response, secret: str) -> httpx.Response:
    """The response as the partner's code sees it after decrypting the envelope."""
    try:
        data = response.json()
    except ValueError:
        return response
    if isinstance(data, dict) and set(data) == {"request"} and isinstance(data["request"], str):
        plain = jsonio.dumps(crypto.decrypt_json(data, secret))
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        decrypted = httpx.Response(response.status_code, headers=headers, content=plain, request=response.request)
        decrypted.read()
        decrypted.elapsed = response.elapsed
        return decrypted
    return response

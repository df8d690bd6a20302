"""The `enkash-sandbox` command: serve, encrypt, decrypt, token, reset, snapshot, restore, snapshots (`--help`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="EnKash Sandbox: a local, stateful emulator of EnKash's partner APIs."
)

DEFAULT_URL = "http://127.0.0.1:8080"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 in containers).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    db: Annotated[str | None, typer.Option(help="SQLite file, or :memory:. Default: <data dir>/sandbox.db")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for ids and generated data (new stores only).")] = None,
    fixtures: Annotated[Path | None, typer.Option(help="Folder with demo.yaml to seed from.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the store (SQLite WAL).")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    quiet: Annotated[bool, typer.Option(help="No banner, no access log.")] = False,
):
    """Run the sandbox; seeds the demo tenant on first start and prints its credentials."""
    import uvicorn
    from enkash_sandbox.banner import render
    from enkash_sandbox.config import Settings
    from enkash_sandbox.container import build
    from enkash_sandbox.http.serving import GuardedHttpToolsProtocol, protocol_with_timeout

    overrides = {"host": host, "port": port}
    if db is not None:
        overrides["db"] = db
    if seed is not None:
        overrides["seed"] = seed
    if fixtures is not None:
        overrides["fixtures_dir"] = fixtures
    # settings travel by environment so that reload/worker processes build the same app
    for key, value in overrides.items():
        os.environ[f"ENKASH_SANDBOX_{key.upper()}"] = str(value)
    settings = Settings()
    if db == ":memory:" and (workers > 1 or reload):
        raise typer.BadParameter("--db :memory: cannot be shared by several processes", param_hint="--db")
    container = build(settings)
    container.start()  # seed once here, so workers find the store ready
    if not quiet:
        print(render(f"http://{host}:{port}", container.demo_credentials(), settings.database_target()), flush=True)
    log_level = "warning" if quiet else "info"
    if reload or workers > 1:
        container.close()
        uvicorn.run(
            "enkash_sandbox.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            reload=reload,
            workers=workers,
            log_level=log_level,
            http=GuardedHttpToolsProtocol,
            loop=settings.loop,
        )
        return
    from enkash_sandbox.app import create_app

    uvicorn.run(
        create_app(container=container),
        host=host,
        port=port,
        log_level=log_level,
        access_log=not quiet,
        http=protocol_with_timeout(settings.header_timeout_seconds),
        loop=settings.loop,
    )


@app.command()
def encrypt(
    payload: Annotated[str, typer.Argument(help="JSON to encrypt, or - for stdin.")],
    secret: Annotated[str, typer.Option(help="The partner's client secret.")],
    bare: Annotated[bool, typer.Option(help='Print only the Base64, not the {"request": ...} envelope.')] = False,
):
    """Encrypt a JSON request the way EnKash expects it."""
    from enkash_sandbox import crypto

    text = sys.stdin.read() if payload == "-" else payload
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    envelope = crypto.encrypt_json(obj, secret)
    print(envelope["request"] if bare else json.dumps(envelope))


@app.command()
def decrypt(
    payload: Annotated[str, typer.Argument(help='Base64, or {"request": ...}, or - for stdin.')],
    secret: Annotated[str, typer.Option(help="The partner's client secret.")],
):
    """Decrypt an EnKash request or response and pretty-print the JSON inside."""
    from enkash_sandbox import crypto

    text = (sys.stdin.read() if payload == "-" else payload).strip()
    try:
        value = json.loads(text) if text.startswith("{") else text
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}") from None
    try:
        print(json.dumps(crypto.decrypt_json(value, secret), indent=2, ensure_ascii=False))
    except crypto.EnvelopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


@app.command()
def token(
    url: Annotated[str, typer.Option(envvar="ENKASH_SANDBOX_URL", help="Base URL of a running sandbox.")] = DEFAULT_URL,
    username: Annotated[str | None, typer.Option(help="Login (default: the demo partner's).")] = None,
    password: Annotated[str | None, typer.Option()] = None,
    client_id: Annotated[str | None, typer.Option()] = None,
    client_secret: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole token response.")] = False,
):
    """Fetch an access token (for the demo partner unless credentials are given)."""
    import httpx
    from enkash_sandbox.client import EnKashClient, EnKashError

    # the options given, completed from the demo partner's JSON below: every value is set by the time it is used
    creds: dict[str, Any] = {"username": username, "password": password, "clientId": client_id, "clientSecret": client_secret}
    if not all(creds.values()):
        try:
            demo = httpx.get(f"{url.rstrip('/')}/_sandbox/demo", timeout=10).json()
        except httpx.HTTPError as exc:
            print(f"error: cannot reach the sandbox at {url}: {exc}", file=sys.stderr)
            raise typer.Exit(1) from None
        creds = {k: v or demo[k] for k, v in creds.items()}
    client = EnKashClient(url, "", creds["clientId"], creds["clientSecret"], creds["username"], creds["password"])
    try:
        result = client.fetch_token()
    except EnKashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    print(json.dumps(result, indent=2) if as_json else result["access_token"])


def _control(url: str, admin_token: str | None):
    import httpx

    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    return httpx.Client(base_url=f"{url.rstrip('/')}/_sandbox", headers=headers, timeout=60)


def _call(url: str, admin_token: str | None, method: str, path: str, **kw) -> dict:
    import httpx

    try:
        with _control(url, admin_token) as http:
            response = http.request(method, path, **kw)
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the sandbox at {url}: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    if response.status_code >= 400:
        print(f"error: HTTP {response.status_code}: {response.text}", file=sys.stderr)
        raise typer.Exit(1)
    return response.json()


UrlOption = Annotated[str, typer.Option(envvar="ENKASH_SANDBOX_URL", help="Base URL of a running sandbox.")]
AdminOption = Annotated[str | None, typer.Option(envvar="ENKASH_SANDBOX_ADMIN_TOKEN", help="Control-plane token.")]


@app.command()
def reset(
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
    seed: Annotated[int | None, typer.Option(help="Re-seed with this seed.")] = None,
    partner: Annotated[str | None, typer.Option(help="Reset only this tenant (partnerId).")] = None,
):
    """Reset a running sandbox to its seeded state (or one tenant to its provisioned state)."""
    if partner:
        result = _call(url, admin_token, "POST", f"/partners/{partner}/reset")
    else:
        result = _call(url, admin_token, "POST", "/reset", json={"seed": seed} if seed is not None else None)
    print(json.dumps(result))


@app.command()
def snapshot(
    name: Annotated[str, typer.Argument(help="Name of the snapshot.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Capture the whole state of a running sandbox under a name."""
    print(json.dumps(_call(url, admin_token, "POST", "/snapshots", json={"name": name})))


@app.command()
def restore(
    name: Annotated[str, typer.Argument(help="Name of the snapshot.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Restore a snapshot into a running sandbox."""
    print(json.dumps(_call(url, admin_token, "POST", f"/snapshots/{name}/restore")))


@app.command()
def snapshots(url: UrlOption = DEFAULT_URL, admin_token: AdminOption = None):
    """List the snapshots of a running sandbox."""
    for item in _call(url, admin_token, "GET", "/snapshots"):
        print(f"{item['name']}\t{item.get('createdAt') or ''}\t{item.get('bytes') or ''}")


def main() -> None:
    app()

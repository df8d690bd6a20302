"""The `enkash-sandbox` command: serve a sandbox, and every control action against a running one (`--help`)."""

from __future__ import annotations

import errno
import gc
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

# plain click help: typer's rich help printed a "<bool>" metavar beside every flag
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="EnKash Sandbox: a local, stateful emulator of EnKash's partner APIs.",
)

DEFAULT_URL = "http://127.0.0.1:8080"
# what worker and reload processes import to build the app (from ENKASH_SANDBOX_* in their environment)
APP_FACTORY = "enkash_sandbox.app:app_from_env"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 in containers).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one (printed).", min=0, max=65535)] = 8080,
    db: Annotated[str | None, typer.Option(help="SQLite file, or :memory:. Default: <data dir>/sandbox.db")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for ids and generated data (new stores only).")] = None,
    fixtures: Annotated[Path | None, typer.Option(help="Folder with demo.yaml to seed from.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the store (SQLite WAL).")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    quiet: Annotated[bool, typer.Option(help="No banner, no access log.")] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Start the sandbox in the background, block until it answers its health check, print "
            "'ready: URL (seed N, pid P, log FILE)' and exit 0 (CI scripts); exit 1 with its error otherwise.",
        ),
    ] = False,
    wait_timeout: Annotated[float, typer.Option(help="With --wait: give up after this many seconds (exit 1).", min=0)] = 60.0,
    log: Annotated[
        Path | None, typer.Option(help="With --wait: the server's output goes here (default: a file in the data dir).")
    ] = None,
):
    """Run the sandbox; seeds the demo tenant on first start and prints its credentials."""
    if wait:
        args = ["--host", host, "--port", str(port), "--workers", str(workers)]
        for flag, given in (("--db", db), ("--seed", seed), ("--fixtures", fixtures)):
            if given is not None:
                args += [flag, str(given)]
        known = None if port == 0 else (f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}")
        _serve_in_background(args + (["--quiet"] if quiet else []), known, wait_timeout, log)
        return
    # no garbage collection while start-up builds its ~150,000 long-lived objects: the full collections it
    # set off walked them all for nothing (measured: 34 and 104 ms before the first answer); the app's last
    # start-up step freezes them and turns collection back on (app.py)
    gc.disable()
    import uvicorn
    from enkash_sandbox import profile as profiles
    from enkash_sandbox.banner import render
    from enkash_sandbox.config import Settings
    from enkash_sandbox.container import build
    from enkash_sandbox.http.hosts import LOOPBACK
    from enkash_sandbox.http.serving import GuardedHttpToolsProtocol, protocol_with_timeout

    first = Settings(host=host)
    if host not in LOOPBACK and not first.admin_token and not first.allow_open_control_plane:
        print(
            f"error: --host {host} makes the sandbox reachable beyond this machine, and its control plane (reset, "
            "funding, the demo credentials) would be open to anyone who reaches it. Set ENKASH_SANDBOX_ADMIN_TOKEN "
            "(every /_sandbox call then needs it), or serve on 127.0.0.1. In a container whose port is published "
            "on 127.0.0.1 only, ENKASH_SANDBOX_ALLOW_OPEN_CONTROL_PLANE=true says so.",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    # the port is taken before anything is printed or seeded: a port in use is the usual first-start failure
    listener = _listen(host, port)
    chosen, port = port == 0, listener.getsockname()[1]
    if workers > 1 or reload:
        # uvicorn binds for its worker processes itself; the port was free a moment ago (and is now chosen)
        listener.close()
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
    base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    if not quiet:
        creds = container.demo_credentials()
        # the demo tenant's fidelity profile (its own choices, else the settings' defaults)
        shown = container.tenants.profile(creds["partnerId"]) if creds else None
        profile = shown["profile"] if shown else profiles.resolve(settings, None).public()
        print(render(base_url, creds, settings.database_target(), profile=profile), flush=True)
    elif chosen:
        print(f"EnKash Sandbox listening on {base_url}", flush=True)
    log_level = "warning" if quiet else "info"
    if reload or workers > 1:
        container.close()
        gc.enable()  # this process only supervises; each worker process starts (and freezes) on its own
        options: dict[str, Any] = {
            "factory": True,
            "host": host,
            "port": port,
            "workers": workers,
            "log_level": log_level,
            "http": GuardedHttpToolsProtocol,
            "loop": settings.loop,
        }
        from enkash_sandbox.http import workers as worker_processes

        if workers > 1 and not reload and worker_processes.balanced():
            worker_processes.run_balanced(uvicorn.Config(APP_FACTORY, **options))
        else:
            uvicorn.run(APP_FACTORY, reload=reload, **options)
        return
    from enkash_sandbox.app import create_app

    config = uvicorn.Config(
        create_app(container=container),
        host=host,
        port=port,
        log_level=log_level,
        access_log=not quiet,
        http=protocol_with_timeout(settings.header_timeout_seconds),
        loop=settings.loop,
    )
    # serve on the socket checked above, so nothing can take the port in between
    uvicorn.Server(config).run(sockets=[listener])


def _serve_in_background(args: list[str], url: str | None, timeout: float, log: Path | None) -> None:
    """`serve --wait`: the same serve command as a detached process (its own session, so it outlives this one and
    a CI step's shell), its output in a log file; return once it answers /_sandbox/health with 200."""
    import re
    import subprocess
    import tempfile
    import time

    import httpx
    from enkash_sandbox.config import Settings

    if log is None:
        folder = Settings().data_dir
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="serve-", suffix=".log", dir=folder)
        os.close(handle)
        log = Path(name)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "enkash_sandbox", "serve", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            # it never came up (a port in use, a bad option): its own words, then exit 1
            print(log.read_text(errors="replace").strip() or f"error: the sandbox exited ({proc.returncode})", file=sys.stderr)
            raise typer.Exit(1)
        if url is None:
            # --port 0: the first line names the port it chose (printed with the banner or --quiet alike)
            found = re.search(r"EnKash Sandbox listening on (\S+)", log.read_text(errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            try:
                response = httpx.get(f"{url}/_sandbox/health", timeout=2)
                if response.status_code == 200:
                    seed = response.json().get("seed")
                    print(f"ready: {url} (seed {seed}, pid {proc.pid}, log {log})", flush=True)
                    return
            except httpx.HTTPError:
                pass
        if time.monotonic() >= deadline:
            proc.terminate()
            print(f"error: the sandbox did not answer its health check within {timeout:g} s (log: {log})", file=sys.stderr)
            raise typer.Exit(1)
        time.sleep(0.05)


def _listen(host: str, port: int):
    """A listening socket on host:port, or a clear message and exit 1 (no banner, nothing seeded)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # as uvicorn does: a port left in TIME_WAIT by the last run is free to take
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            print(f"error: port {port} is in use on {host}; try --port 0 (any free port) or --port N", file=sys.stderr)
        else:
            print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


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
    # the tenant's profile may answer in the V3 payout page's camelCase (tokenCasing=camel)
    print(json.dumps(result, indent=2) if as_json else client.token_fields(result)["access_token"])


def _control(url: str, admin_token: str | None):
    import httpx

    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    return httpx.Client(base_url=f"{url.rstrip('/')}/_sandbox", headers=headers, timeout=60)


def _call(url: str, admin_token: str | None, method: str, path: str, **kw) -> Any:
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
    seed: Annotated[int | None, typer.Option(help="Seed this reset only; later plain resets return to the home seed.")] = None,
    keep_seed: Annotated[bool, typer.Option("--keep-seed", help="Make --seed the seed later plain resets return to.")] = False,
    partner: Annotated[str | None, typer.Option(help="Reset only this tenant (partnerId).")] = None,
):
    """Reset a running sandbox to its seeded state (or one tenant to its provisioned state)."""
    if keep_seed and seed is None:
        raise typer.BadParameter("--keep-seed needs --seed N", param_hint="--keep-seed")
    if partner:
        result = _call(url, admin_token, "POST", f"/partners/{partner}/reset")
    else:
        body = {"seed": seed, "keepSeed": keep_seed} if seed is not None else None
        result = _call(url, admin_token, "POST", "/reset", json=body)
    print(json.dumps(result))


@app.command()
def unlock(
    user: Annotated[str, typer.Argument(help="The login: a partner's username or a card holder's mobile.")],
    partner: Annotated[str | None, typer.Option(help="Only in this tenant (partnerId); default: every tenant.")] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Unlock a login locked by bad passwords (it also unlocks by itself after ENKASH_SANDBOX_LOCKOUT_SECONDS)."""
    if partner:
        result = _call(url, admin_token, "POST", f"/partners/{partner}/unlock", json={"username": user})
    else:
        result = _call(url, admin_token, "POST", "/unlock", json={"username": user})
    print(json.dumps(result))


@app.command()
def wait(
    url: Annotated[str, typer.Argument(envvar="ENKASH_SANDBOX_URL", help="Base URL of the sandbox.")] = DEFAULT_URL,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds (exit 1).", min=0)] = 60.0,
):
    """Wait until a sandbox answers its health check (CI: start it in the background, then wait)."""
    import time

    import httpx

    health = f"{url.rstrip('/')}/_sandbox/health"
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        try:
            response = httpx.get(health, timeout=2)
            if response.status_code == 200:
                print(f"ready: {url.rstrip('/')} (seed {response.json().get('seed')})")
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        if time.monotonic() >= deadline:
            print(f"error: {health} did not answer 200 within {timeout:g} s ({last})", file=sys.stderr)
            raise typer.Exit(1)
        time.sleep(0.1)


@app.command()
def postman(
    out: Annotated[Path, typer.Option(help="Folder to write the collection and environment into.")],
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
    new_tenant: Annotated[
        bool, typer.Option("--new-tenant", help="Provision a fresh tenant for the environment instead of the demo one.")
    ] = False,
    encryption: Annotated[
        str | None, typer.Option(help="With --new-tenant: its encryption mode (required, optional, off).")
    ] = None,
):
    """Write a Postman v2.1 collection of every EnKash operation, and an environment for a running sandbox."""
    import httpx
    from enkash_sandbox import postman as pm

    if encryption is not None and not new_tenant:
        raise typer.BadParameter("--encryption applies to --new-tenant", param_hint="--encryption")
    if new_tenant:
        creds = _call(url, admin_token, "POST", "/partners", json={"encryption": encryption} if encryption else None)
    else:
        creds = _call(url, admin_token, "GET", "/demo")
    try:
        spec = httpx.get(f"{url.rstrip('/')}/openapi.json", timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"error: cannot read {url}/openapi.json: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None
    env = pm.environment(url, creds, _call(url, admin_token, "GET", "/catalog"))
    out.mkdir(parents=True, exist_ok=True)
    files = {
        out / "enkash-sandbox.postman_collection.json": pm.collection(spec),
        out / "enkash-sandbox.postman_environment.json": env,
    }
    for path, document in files.items():
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(path)


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


@app.command()
def fund(
    account: Annotated[str, typer.Argument(help="cardAccountId to prefund.")],
    amount: Annotated[str, typer.Argument(help="INR amount.")],
    remarks: Annotated[str | None, typer.Option(help="Shown on the funding transaction.")] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Put money into a card account (the partner prefunding it)."""
    body = {"amount": amount, **({"remarks": remarks} if remarks else {})}
    print(json.dumps(_call(url, admin_token, "POST", f"/card-accounts/{account}/fund", json=body)))


@app.command()
def clock(
    action: Annotated[str | None, typer.Argument(help="freeze, unfreeze, set, advance or reset; none: show.")] = None,
    at: Annotated[str | None, typer.Option(help="ISO-8601 instant (set; optional for freeze).")] = None,
    seconds: Annotated[float | None, typer.Option(help="Seconds to move (advance; may be negative).")] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Show or change the sandbox clock (tokens, OTPs, pending orders, holds and velocity windows follow it)."""
    if action is None:
        print(json.dumps(_call(url, admin_token, "GET", "/clock")))
        return
    body: dict[str, Any] = {"action": action}
    if at is not None:
        body["at"] = at
    if seconds is not None:
        body["seconds"] = seconds
    print(json.dumps(_call(url, admin_token, "POST", "/clock", json=body)))


@app.command()
def provision(
    company_name: Annotated[str | None, typer.Option(help="Company name (generated if absent).")] = None,
    fund_balance: Annotated[str | None, typer.Option(help="Prefunding of each card account.")] = None,
    encryption: Annotated[str | None, typer.Option(help="required, optional or off.")] = None,
    profile: Annotated[
        list[str] | None, typer.Option("--profile", help="Fidelity profile key=value, repeatable (docs/FIDELITY.md).")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Create an isolated tenant and print its credentials as JSON."""
    body: dict[str, Any] = {
        k: v
        for k, v in (("companyName", company_name), ("fundBalance", fund_balance), ("encryption", encryption))
        if v is not None
    }
    if profile:
        body["profile"] = _profile_pairs(profile)
    print(json.dumps(_call(url, admin_token, "POST", "/partners", json=body or None), indent=2))


def _profile_pairs(pairs: list[str]) -> dict[str, str | None]:
    """`key=value` options into a profile object; `key=` sends null (back to the default). Values are checked by
    the sandbox, which names the key and its options when one is wrong."""
    out: dict[str, str | None] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: expected key=value (key= clears the choice)", param_hint="--set")
        out[key.strip()] = value.strip() or None
    return out


@app.command()
def profile(
    partner: Annotated[str, typer.Argument(help="The tenant's partnerId.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="key=value, repeatable (e.g. --set searchById=card); key= goes back to the default."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Show a tenant's fidelity profile (docs/FIDELITY.md), or change keys with --set."""
    if set_:
        result = _call(url, admin_token, "PATCH", f"/partners/{partner}/profile", json=_profile_pairs(set_))
    else:
        result = _call(url, admin_token, "GET", f"/partners/{partner}/profile")
    chosen = set(result.get("overrides", []))
    for key, value in result["profile"].items():
        print(f"{key:<22}{value}{'  (set for this tenant)' if key in chosen else ''}")


@app.command()
def partners(url: UrlOption = DEFAULT_URL, admin_token: AdminOption = None):
    """List the tenants of a running sandbox."""
    for p in _call(url, admin_token, "GET", "/partners"):
        print(f"{p['partnerId']}\t{p['clientId']}\t{p['encryption']}\t{p['name']}")


faults_app = typer.Typer(no_args_is_help=True, help="Fault rules: add, list, delete, clear.")
app.add_typer(faults_app, name="faults")


@faults_app.command("add")
def fault_add(
    type: Annotated[str, typer.Option("--type", help="status, latency, timeout, drop, insufficient_balance, rate_limit ...")],
    path: Annotated[str, typer.Option(help="Glob over the request path.")] = "*",
    method: Annotated[str | None, typer.Option(help="HTTP method.")] = None,
    partner: Annotated[str | None, typer.Option(help="Only this tenant's requests (partnerId).")] = None,
    status: Annotated[int | None, typer.Option(help="HTTP status (type status).")] = None,
    message: Annotated[str | None, typer.Option(help="Message of the failure.")] = None,
    latency_ms: Annotated[float | None, typer.Option(help="Delay in ms (type latency).")] = None,
    times: Annotated[int | None, typer.Option(help="Apply to the next N matching requests.")] = None,
    probability: Annotated[float | None, typer.Option(help="Apply with this probability.")] = None,
    target: Annotated[str, typer.Option(help="request (partners' calls) or webhook (deliveries; --path globs the event).")] = (
        "request"
    ),
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Add a fault rule (the same rule POST /_sandbox/faults and the dashboard's form take)."""
    action: dict[str, Any] = {"type": type}
    for key, value in (("status", status), ("message", message), ("latencyMs", latency_ms)):
        if value is not None:
            action[key] = value
    body: dict[str, Any] = {"action": action, "path": path, "target": target}
    for key, value in (("method", method), ("partnerId", partner), ("times", times), ("probability", probability)):
        if value is not None:
            body[key] = value
    print(json.dumps(_call(url, admin_token, "POST", "/faults", json=body)))


@faults_app.command("list")
def fault_list(url: UrlOption = DEFAULT_URL, admin_token: AdminOption = None):
    """The fault rules with their live counters, one JSON object per line."""
    for rule in _call(url, admin_token, "GET", "/faults"):
        print(json.dumps(rule))


@faults_app.command("delete")
def fault_delete(
    rule_id: Annotated[str, typer.Argument(help="The rule's id (FR...).")],
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Delete one fault rule."""
    print(json.dumps(_call(url, admin_token, "DELETE", f"/faults/{rule_id}")))


@faults_app.command("clear")
def fault_clear(url: UrlOption = DEFAULT_URL, admin_token: AdminOption = None):
    """Delete every fault rule."""
    print(json.dumps(_call(url, admin_token, "DELETE", "/faults")))


@app.command()
def journal(
    clear: Annotated[bool, typer.Option("--clear", help="Empty the journal instead of printing it.")] = False,
    limit: Annotated[int, typer.Option(help="Entries to print, newest first.")] = 20,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Print the request journal (what partners sent and got back, decrypted and redacted), or clear it."""
    if clear:
        print(json.dumps(_call(url, admin_token, "DELETE", "/requests")))
        return
    for entry in _call(url, admin_token, "GET", "/requests", params={"limit": limit}):
        request = f"{entry.get('method')} {entry.get('path')}"
        print(f"{entry.get('time')}\t{entry.get('status')}\t{request}\t{entry.get('partnerId') or ''}")


def _print_authorization(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    line = f"{result['status']:<8} {result['transactionId']}  {result['amount']} {result['currency']}"
    line += f" at {result['merchantName']} ({result['channel']})"
    if result.get("declineReasons"):
        line += "  reasons: " + ", ".join(result["declineReasons"])
    else:
        line += f"  state {result['state']}, held {result['heldAmount']}, cleared {result['clearedAmount']}"
        line += f", released {result['releasedAmount']}, refunded {result['refundedAmount']}"
    if "otbBalance" in result:
        line += f"  otbBalance {result['otbBalance']}"
    print(line)


@app.command()
def spend(
    card: Annotated[str, typer.Argument(help="enKashCardId of the card that pays.")],
    amount: Annotated[str, typer.Argument(help="INR amount, e.g. 250 or 99.50.")],
    channel: Annotated[str, typer.Option(help="POS, ECOM, ATM or CONTACTLESS.")] = "POS",
    merchant: Annotated[str, typer.Option(help="Merchant name (DECLINE_<REASON> forces that decline).")] = "SANDBOX MERCHANT",
    mcc: Annotated[str, typer.Option(help="Merchant category code (4 digits).")] = "5411",
    international: Annotated[bool, typer.Option(help="An international purchase.")] = False,
    currency: Annotated[str, typer.Option(help="Transaction currency (shown as fcyCurrency).")] = "INR",
    hold: Annotated[
        bool, typer.Option("--hold", help="Only place a hold (capture later with `enkash-sandbox txn clear`).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Simulate a purchase on a card: approved (a sale, or a hold with --hold) or declined with its reasons."""
    body = {
        "amount": amount,
        "channel": channel.upper(),
        "merchantName": merchant,
        "mcc": mcc,
        "international": international,
        "currency": currency.upper(),
        "capture": not hold,
    }
    _print_authorization(_call(url, admin_token, "POST", f"/cards/{card}/authorize", json=body), as_json)


@app.command()
def txn(
    action: Annotated[str, typer.Argument(help="show, clear, reverse, refund or increment.")],
    transaction_id: Annotated[str, typer.Argument(help="The authorization's transactionId (ECT...).")],
    amount: Annotated[str | None, typer.Argument(help="Amount (default: all the action allows; increment needs one).")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="clear: keep the rest held (not a final clearing).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole answer as JSON.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Act on a card authorization: clear (capture) a hold, reverse it, refund a cleared one, increment a hold."""
    if action not in ("show", "clear", "reverse", "refund", "increment"):
        raise typer.BadParameter("one of show, clear, reverse, refund, increment", param_hint="ACTION")
    if action == "increment" and amount is None:
        raise typer.BadParameter("increment needs an amount", param_hint="AMOUNT")
    if action == "show":
        result = _call(url, admin_token, "GET", f"/transactions/{transaction_id}")
    else:
        body: dict[str, Any] = {"amount": amount} if amount is not None else {}
        if action == "clear":
            body["final"] = not partial
        result = _call(url, admin_token, "POST", f"/transactions/{transaction_id}/{action}", json=body)
    _print_authorization(result, as_json)


@app.command()
def listen(
    forward_to: Annotated[
        str | None, typer.Option(help="Forward every delivery (same body and headers) to this URL; its status is the answer.")
    ] = None,
    partner: Annotated[str | None, typer.Option(help="partnerId to listen for (default: the demo partner).")] = None,
    events: Annotated[list[str] | None, typer.Option("--event", help="An event to subscribe to (repeat; default: all).")] = None,
    host: Annotated[str, typer.Option(help="Interface the local receiver binds (the sandbox must reach it).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the local receiver (0: any free port).")] = 0,
    count: Annotated[int, typer.Option(help="Stop after this many deliveries (0: until Ctrl-C).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print each payload in full.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Subscribe a local receiver to a partner's webhooks, print each delivery as it arrives (signature checked)
    and optionally forward it to your own endpoint, like `stripe listen --forward-to`. The subscription is
    removed on exit."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import httpx
    from enkash_sandbox.client import verify_signature
    from enkash_sandbox.products.webhooks.outbox import EVENTS

    if partner is None:
        partner = _call(url, admin_token, "GET", "/demo")["partnerId"]
    state: dict[str, Any] = {"seen": 0, "secret": ""}
    done = threading.Event()
    lock = threading.Lock()

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signature = self.headers.get("X-Enkash-Sandbox-Signature")
            checked = (
                "unsigned"
                if signature is None
                else ("verified" if verify_signature(body, signature, state["secret"]) else "BAD SIGNATURE")
            )
            status, note = 200, ""
            if forward_to:
                forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                try:
                    answer = httpx.post(forward_to, content=body, headers=forwarded, timeout=30, trust_env=False)
                    status, note = answer.status_code, f" -> {forward_to} [{answer.status_code}]"
                except httpx.HTTPError as exc:
                    status, note = 502, f" -> {forward_to} failed: {exc}"
            try:
                payload = json.loads(body)
            except ValueError:
                payload = {}
            with lock:
                print(f"{payload.get('eventType', '?'):<28} {payload.get('eventId', '?')}  {checked}{note}", flush=True)
                if as_json:
                    print(json.dumps(payload, indent=2), flush=True)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with lock:
                state["seen"] += 1
                if count and state["seen"] >= count:
                    done.set()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver_url = f"http://{host}:{server.server_address[1]}/webhooks"
    body: dict[str, Any] = {"partnerId": partner, "webhookUrl": receiver_url, "events": events or list(EVENTS)}
    sub = _call(url, admin_token, "POST", "/webhooks", json=body)
    state["secret"] = sub["secret"]
    print(
        f"Listening for {partner}'s webhooks at {receiver_url} (subscription {sub['id']}, signing secret {sub['secret']})",
        flush=True,
    )
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        with _control(url, admin_token) as http:
            try:
                http.delete(f"/webhooks/{sub['id']}")
            except httpx.HTTPError:
                pass


payouts_app = typer.Typer(
    no_args_is_help=True,
    help="Payouts: fund sources (accounts, fund, statement) and transfers (transfers, show, advance, settle).",
)
app.add_typer(payouts_app, name="payouts")


def _exact(url: str, admin_token: str | None, method: str, path: str, **kw: Any) -> Any:
    """A control-plane call whose amounts stay exact (Decimal): payout money is printed as it was answered."""
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
    from enkash_sandbox import jsonio

    return jsonio.loads_exact(response.text)


def _print_json(value: Any) -> None:
    from enkash_sandbox import jsonio

    print(jsonio.dumps(value).decode())


def _rupees(value: Any) -> str:
    from decimal import Decimal

    return f"₹{Decimal(str(value)):,.2f}"


@payouts_app.command("accounts")
def payout_accounts(
    partner: Annotated[str | None, typer.Option(help="Only this tenant's fund source (partnerId).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Every fund source with its balance (what is due on the sandbox clock is settled first)."""
    for account in _exact(url, admin_token, "GET", "/payouts/accounts", params={"partner": partner} if partner else None):
        if as_json:
            _print_json(account)
            continue
        state = "" if account["payoutsEnabled"] else "  (payouts off)"
        print(f"{account['fundSourceId']}\t{account['partnerId']}\t{_rupees(account['balance'])}{state}")


@payouts_app.command("fund")
def payout_fund(
    fund_source: Annotated[str, typer.Argument(help="The fundSourceId (EK...).")],
    amount: Annotated[str, typer.Argument(help="INR amount, e.g. 50000 or 99.50.")],
    from_account: Annotated[
        str | None, typer.Option(help="The sending account: must be the tenant's whitelisted source account.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Add money to a fund source, as if sent from the tenant's whitelisted source bank account (a ledger row)."""
    body: dict[str, Any] = {"amount": amount}
    if from_account is not None:
        body["fromAccountNumber"] = from_account
    result = _exact(url, admin_token, "POST", f"/payouts/accounts/{fund_source}/fund", json=body)
    print(f"Funded {result['fundSourceId']} with {_rupees(result['amount'])}: balance {_rupees(result['balance'])}")


@payouts_app.command("statement")
def payout_statement(
    fund_source: Annotated[str, typer.Argument(help="The fundSourceId (EK...).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """The fund source's ledger rows, oldest first, each with the balance after it."""
    for row in _exact(url, admin_token, "GET", f"/payouts/accounts/{fund_source}/statement")["data"]:
        if as_json:
            _print_json(row)
            continue
        sign = "-" if row["transactionType"] == "DEBIT" else "+"
        print(
            f"{row['transactionDate']}\t{sign}{_rupees(row['transactionAmount'])}\t{_rupees(row['runningBalance'])}\t"
            f"{row['transactionId'] or ''}\t{row['remarks'] or ''}"
        )


def _print_transfer(t: dict) -> None:
    reason = f" ({t['reasonCode']})" if t.get("reasonCode") else ""
    print(
        f"{t['enkashTransactionId']}\t{t['transactionId']}\t{t['payoutStatus']}{reason}\t{_rupees(t['transferAmount'])}"
        f"\t{t['transferMode']}\t{t['partnerId']}"
    )


@payouts_app.command("transfers")
def payout_transfers(
    partner: Annotated[str | None, typer.Option(help="Only this tenant's transfers (partnerId).")] = None,
    status: Annotated[str | None, typer.Option(help="PENDING, PROCESSING, SUCCESS, FAILED, REVERSED or REJECTED.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1, max=1000)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Transfers, newest first (what is due on the sandbox clock is settled first)."""
    params: dict[str, Any] = {"limit": limit}
    if partner:
        params["partner"] = partner
    if status:
        params["status"] = status.upper()
    for transfer in _exact(url, admin_token, "GET", "/payouts/transfers", params=params):
        if as_json:
            _print_json(transfer)
        else:
            _print_transfer(transfer)


@payouts_app.command("show")
def payout_show(
    transfer: Annotated[str, typer.Argument(help="The enkashTransactionId (EKPT...).")],
    as_json: Annotated[bool, typer.Option("--json", help="The whole answer as JSON.")] = False,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """One transfer with its status timeline."""
    detail = _exact(url, admin_token, "GET", f"/payouts/transfers/{transfer}")
    if as_json:
        _print_json(detail)
        return
    _print_transfer(detail)
    for step in detail["timeline"]:
        reason = f" ({step['reasonCode']})" if step.get("reasonCode") else ""
        print(f"  {step['at']}\t{step['status']}{reason}\t{step['trigger']}")


@payouts_app.command("advance")
def payout_advance(
    transfer: Annotated[str, typer.Argument(help="The enkashTransactionId (EKPT...).")],
    to: Annotated[str, typer.Argument(help="PROCESSING, SUCCESS, FAILED or REVERSED.")],
    reason: Annotated[str | None, typer.Option(help="The reasonCode of a FAILED or REVERSED transfer.")] = None,
    url: UrlOption = DEFAULT_URL,
    admin_token: AdminOption = None,
):
    """Force a transfer's next state now (only legal steps: PENDING→PROCESSING, PROCESSING→SUCCESS|FAILED,
    SUCCESS→REVERSED), with its ledger rows and webhook."""
    body: dict[str, Any] = {"to": to.upper()}
    if reason:
        body["reasonCode"] = reason
    _print_transfer(_exact(url, admin_token, "POST", f"/payouts/transfers/{transfer}/advance", json=body))


@payouts_app.command("settle")
def payout_settle(url: UrlOption = DEFAULT_URL, admin_token: AdminOption = None):
    """Settle every transfer that is due at the sandbox clock now (advance the clock first to settle later ones)."""
    result = _exact(url, admin_token, "POST", "/payouts/settle")
    print(f"Settled {result['settled']} step(s) at {result['clock']['now']}")


def main() -> None:
    app()

"""EnKash Sandbox benchmark: the sandbox side by side with Prism, WireMock and a bare ASGI ceiling.

    python bench/run.py            # full run (installs wrk and the npm targets if missing), about 10 minutes
    python bench/run.py --smoke    # a few seconds: sandbox and ceiling only, tiny loads (CI runs this)

Targets are measured in one invocation, alternating (A B A B ...) over several rounds; the table quotes
medians and ratios to the ceiling. Prints the table and writes bench/results/latest.md and latest.json.
Every process the harness starts is stopped when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

from enkash_sandbox import crypto  # noqa: E402

CARD = "/api/v0/partner/enKashCard"
PROCS: list[subprocess.Popen] = []


# -- plumbing -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    PROCS.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if proc in PROCS:
        PROCS.remove(proc)


def wait_ready(url: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} never answered")


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def ensure_tools(smoke: bool) -> dict:
    """wrk from Debian, Prism and WireMock from npm into bench/node_modules (never committed)."""
    have = {"wrk": shutil.which("wrk") is not None}
    if not have["wrk"] and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
        have["wrk"] = shutil.which("wrk") is not None
    if smoke:
        return have
    modules = HERE / "node_modules"
    if not (modules / "@stoplight" / "prism-cli").exists() or not (modules / "wiremock").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, capture_output=True)
    have["prism"] = (modules / ".bin" / "prism").exists()
    jars = sorted((modules / "wiremock").rglob("wiremock-standalone*.jar")) if (modules / "wiremock").exists() else []
    have["wiremock_jar"] = str(jars[-1]) if jars else None
    have["java"] = shutil.which("java") is not None
    return have


# -- load ------------------------------------------------------------------------------------------
@dataclass
class Load:
    path: str
    body: bytes | None
    headers: dict = field(default_factory=dict)
    method: str = "POST"


def run_wrk(url: str, load: Load, duration: float, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("wb", delete=False, suffix=".json") as f:
        f.write(load.body or b"")
        body_file = f.name
    env = {
        "WRK_METHOD": load.method,
        "WRK_BODY_FILE": body_file if load.body else "",
        "WRK_AUTH": load.headers.get("Authorization", ""),
        "WRK_PARTNER": load.headers.get("partnerId", ""),
    }
    seconds = max(1, round(duration))  # wrk takes whole seconds
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(HERE / "wrk" / "request.lua"),
            url + load.path,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    os.unlink(body_file)
    line = next(li for li in out.stdout.splitlines() if li.startswith("WRKJSON "))
    data = json.loads(line[len("WRKJSON ") :])
    seconds = data["duration_us"] / 1e6
    return {
        "rps": data["requests"] / seconds,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "errors": data["non2xx"] + data["socket_errors"],
        "requests": data["requests"],
    }


def run_python_load(url: str, load: Load, duration: float, connections: int) -> dict:
    """A fallback when wrk is missing (smoke mode): threads with keep-alive clients."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors = 0

    def worker(_):
        nonlocal errors
        with httpx.Client(base_url=url, timeout=10) as c:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                r = c.request(
                    load.method, load.path, content=load.body, headers={**load.headers, "Content-Type": "application/json"}
                )
                latencies.append(time.perf_counter() - t)
                errors += r.status_code >= 300

    started = time.perf_counter()
    with ThreadPoolExecutor(min(connections, 8)) as pool:
        list(pool.map(worker, range(min(connections, 8))))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "errors": errors,
        "requests": len(latencies),
    }


def measure(url: str, load: Load, duration: float, connections: int, use_wrk: bool) -> dict:
    return (run_wrk if use_wrk else run_python_load)(url, load, duration, connections)


# -- targets ---------------------------------------------------------------------------------------
class Target:
    name = "?"
    persists = False

    def start(self) -> float: ...
    def stop(self) -> None: ...
    def loads(self) -> dict[str, Load]: ...


class SandboxTarget(Target):
    persists = True

    def __init__(
        self, name: str, encryption: str, workers: int = 1, db: Path | None = None, demo: bool = True, card: dict | None = None
    ):
        self.name, self.encryption, self.workers = name, encryption, workers
        self.db = db
        self.demo = demo
        self.proc = None
        self.card = card

    def start(self) -> float:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if self.db is None:
            self.db = Path(tempfile.mkdtemp(prefix="bench-sandbox-")) / "enkash_sandbox.db"
        started = time.perf_counter()
        self.proc = spawn(
            [
                shutil.which("enkash-sandbox") or "enkash-sandbox",
                "serve",
                "--port",
                str(self.port),
                "--quiet",
                "--workers",
                str(self.workers),
            ],
            env={"ENKASH_SANDBOX_DB": str(self.db), "ENKASH_SANDBOX_SEED_DEMO": str(self.demo).lower()},
        )
        wait_ready(self.url + "/_sandbox/health")
        ready = time.perf_counter() - started
        if self.card is None:
            self.card = prepare_card(self.url, self.encryption)
        return ready

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)

    def loads(self) -> dict[str, Load]:
        c = self.card
        headers = {"Authorization": f"Bearer {c['token']}", "partnerId": c["partnerId"]}
        search = {"companyId": c["companyId"], "cardAccountId": c["cardAccountId"], "enKashCardId": c["enKashCardId"]}
        load = {**search, "amount": 1, "transactionType": "CR", "type": "LOAD_MONEY"}

        def body(obj):
            wrapped = crypto.encrypt_json(obj, c["clientSecret"]) if self.encryption != "off" else obj
            return json.dumps(wrapped).encode()

        return {"read": Load(f"{CARD}/search", body(search), headers), "write": Load(f"{CARD}/balance", body(load), headers)}


def prepare_card(url: str, encryption: str, fund: int = 10**11) -> dict:
    from enkash_sandbox.client import EnKashClient

    creds = httpx.post(f"{url}/_sandbox/partners", json={"encryption": encryption, "fundBalance": fund}, timeout=60).json()
    with EnKashClient.from_credentials(url, creds, encrypt=encryption != "off") as c:
        ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
        card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9876543210", firstName="Bench")
        token = c.access_token()
    return {
        "partnerId": creds["partnerId"],
        "clientSecret": creds["clientSecret"],
        "companyId": ref[0],
        "cardAccountId": ref[1],
        "enKashCardId": card["enKashCardId"],
        "token": token,
    }


class CeilingTarget(Target):
    name = "bare uvicorn/Starlette (ceiling)"

    def start(self) -> float:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        self.proc = spawn(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ceiling:app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=HERE,
        )
        wait_ready(self.url + "/_sandbox/health")
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.proc)

    def loads(self) -> dict[str, Load]:
        body = json.dumps({"companyId": "CEK", "cardAccountId": "CA", "enKashCardId": "EKC"}).encode()
        return {"read": Load(f"{CARD}/search", body), "write": Load(f"{CARD}/balance", body)}


class PrismTarget(Target):
    name = "Stoplight Prism (mock of openapi/enkash.yaml)"

    def __init__(self, card: dict):
        self.card = card

    def start(self) -> float:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        self.proc = spawn(
            [
                str(HERE / "node_modules" / ".bin" / "prism"),
                "mock",
                str(ROOT / "openapi" / "enkash.yaml"),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "--errors",
                "false",
            ]
        )
        wait_ready(self.url + "/openapi-health-probe")
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.proc)

    def loads(self) -> dict[str, Load]:
        c = self.card
        headers = {"Authorization": "Bearer bench", "partnerId": c["partnerId"]}
        search = {"companyId": c["companyId"], "cardAccountId": c["cardAccountId"], "enKashCardId": c["enKashCardId"]}
        load = {**search, "amount": 1, "transactionType": "CR"}
        return {
            "read": Load(f"{CARD}/search", json.dumps(search).encode(), headers),
            "write": Load(f"{CARD}/balance", json.dumps(load).encode(), headers),
        }


class WireMockTarget(Target):
    name = "WireMock (standalone jar, stubs)"

    def __init__(self, jar: str, bodies: dict[str, bytes]):
        self.jar = jar
        self.bodies = bodies

    def start(self) -> float:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root = Path(tempfile.mkdtemp(prefix="bench-wiremock-"))
        (root / "mappings").mkdir()
        for i, (path, body) in enumerate(self.bodies.items()):
            (root / "mappings" / f"stub{i}.json").write_text(
                json.dumps(
                    {
                        "request": {"method": "POST", "url": path},
                        "response": {"status": 200, "body": body.decode(), "headers": {"Content-Type": "application/json"}},
                    }
                )
            )
        started = time.perf_counter()
        self.proc = spawn(
            [
                "java",
                "-jar",
                self.jar,
                "--port",
                str(self.port),
                "--root-dir",
                str(root),
                "--disable-banner",
                "--no-request-journal",
                "--async-response-enabled",
                "true",
            ]
        )
        wait_ready(self.url + "/__admin/health")
        return time.perf_counter() - started

    def stop(self) -> None:
        stop(self.proc)

    def loads(self) -> dict[str, Load]:
        body = json.dumps({"companyId": "CEK"}).encode()
        return {"read": Load(f"{CARD}/search", body), "write": Load(f"{CARD}/balance", body)}


# -- the measurements ------------------------------------------------------------------------------
def throughput(targets: list[Target], rounds: int, duration: float, connections: int, use_wrk: bool) -> dict:
    samples: dict[tuple[str, str], list[dict]] = {}
    ready: dict[str, list[float]] = {}
    rss: dict[str, dict] = {}
    for r in range(rounds):
        for target in targets:  # A B A B ...: a noisy neighbour hits every target alike
            ready.setdefault(target.name, []).append(target.start())
            try:
                idle = rss_mb(target.proc.pid)
                for kind, load in target.loads().items():
                    measure(target.url, load, min(1.0, duration / 4), connections, use_wrk)  # warm-up
                    samples.setdefault((target.name, kind), []).append(measure(target.url, load, duration, connections, use_wrk))
                peak = rss_mb(target.proc.pid, "VmHWM")
                rss.setdefault(target.name, {"idle": [], "peak": []})
                rss[target.name]["idle"].append(idle)
                rss[target.name]["peak"].append(peak)
            finally:
                target.stop()
            print(f"  round {r + 1}/{rounds}: {target.name}", flush=True)
    out = {}
    for target in targets:
        row = {
            "persists": target.persists,
            "start_to_ready_s": statistics.median(ready[target.name]),
            "rss_idle_mb": statistics.median(rss[target.name]["idle"]),
            "rss_peak_mb": statistics.median(rss[target.name]["peak"]),
        }
        for kind in ("read", "write"):
            runs = samples[(target.name, kind)]
            row[kind] = {k: statistics.median(run[k] for run in runs) for k in ("rps", "p50_ms", "p99_ms")}
            row[kind]["errors"] = sum(run["errors"] for run in runs)
        out[target.name] = row
    return out


def reset_and_bulk(rounds: int, rows: int) -> dict:
    target = SandboxTarget("sandbox", "off")
    target.start()
    try:
        from enkash_sandbox.client import EnKashClient

        creds = httpx.post(f"{target.url}/_sandbox/partners", json={"encryption": "off", "fundBalance": 10**9}).json()
        bulk, reset_server, reset_client = [], [], []
        for r in range(rounds):
            data = [
                {
                    "title": "Mr",
                    "name": f"Bulk User {i}",
                    "email": f"b{r}u{i}@example.com",
                    "mobile": f"8{r:02d}{i:07d}",
                    "loadAmount": 10,
                    "uniqueReferenceNumber": f"B{r}-{i}",
                }
                for i in range(rows)
            ]
            with EnKashClient.from_credentials(target.url, creds, encrypt=False, timeout=300) as c:
                t = time.perf_counter()
                result = c.bulk_allocate(creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"], data)
                bulk.append(time.perf_counter() - t)
                assert result["successCount"] == rows, result["failureCount"]
            t = time.perf_counter()
            answer = httpx.post(f"{target.url}/_sandbox/reset", timeout=60).json()
            reset_client.append((time.perf_counter() - t) * 1000)
            reset_server.append(answer["elapsedMs"])
            creds = httpx.post(f"{target.url}/_sandbox/partners", json={"encryption": "off", "fundBalance": 10**9}).json()
        return {
            "rows": rows,
            "bulk_s": statistics.median(bulk),
            "reset_server_ms": statistics.median(reset_server),
            "reset_http_ms": statistics.median(reset_client),
        }
    finally:
        target.stop()


def scale(sizes: list[int], samples: int) -> dict:
    """Search and load latency with 1k ... 1M cards in the store: the cost must stay flat."""
    from enkash_sandbox.config import Settings
    from enkash_sandbox.container import build

    out = {}
    for size in sizes:
        db = Path(tempfile.mkdtemp(prefix=f"bench-scale-{size}-")) / "enkash_sandbox.db"
        core = build(Settings(db=str(db), seed_demo=False))
        core.start()
        creds = core.tenants.provision(encryption="off", fund_balance=__import__("decimal").Decimal(10**11))
        t = time.perf_counter()
        fill_cards(core, creds, size)
        filled = time.perf_counter() - t
        core.close()
        target = SandboxTarget(f"sandbox {size:,} cards", "off", db=db, demo=False)
        target.start()
        try:
            loads = target.loads()
            with httpx.Client(base_url=target.url, timeout=30) as c:
                lat = {}
                for kind, load in loads.items():
                    times = []
                    for _ in range(samples):
                        s0 = time.perf_counter()
                        r = c.post(load.path, content=load.body, headers={**load.headers, "Content-Type": "application/json"})
                        times.append((time.perf_counter() - s0) * 1000)
                        body = r.json()
                        assert r.status_code == 200 and body.get("code", body.get("response_code")) == 0, r.text[:200]
                    lat[kind] = statistics.median(times)
            out[size] = {"fill_s": filled, "search_ms": lat["read"], "load_ms": lat["write"]}
        finally:
            target.stop()
        print(f"  scale {size:,} cards: {out[size]}", flush=True)
    return out


def fill_cards(core, creds: dict, size: int) -> None:
    """Bulk-insert holders and cards straight into the store (the bulk API's insert path, without HTTP)."""
    from enkash_sandbox.products.cards.schemas import HolderFields
    from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company
    from sqlalchemy import insert

    chunk = 20_000
    with core.db.write() as s:
        account = s.get(CardAccount, creds["cardAccounts"]["RELOADABLE_GPR"])
        company = s.get(Company, account.company_id)
        fields = HolderFields(title="Mr", firstName="Scale", mobile="7000000000")
        conn = s.connection()
        for start in range(0, size, chunk):
            holders, cards = [], []
            for _ in range(min(chunk, size - start)):
                h = core.cards.holder_row(s, company, fields)
                h["mobile"] = None
                holders.append(h)
                cards.append(core.cards.card_row(s, account, h["id"]))
            conn.execute(insert(CardHolder.__table__), holders)
            conn.execute(insert(Card.__table__), cards)


def workers_comparison(duration: float, connections: int, use_wrk: bool) -> dict:
    out = {}
    for workers in (1, 2):
        target = SandboxTarget(f"sandbox, {workers} worker(s)", "off", workers=workers)
        target.start()
        try:
            loads = target.loads()
            out[workers] = {
                "read": measure(target.url, loads["read"], duration, connections, use_wrk),
                "write": measure(target.url, loads["write"], duration, connections, use_wrk),
            }
            audit = httpx.get(f"{target.url}/_sandbox/audit", timeout=120).json()
            out[workers]["audit_ok"] = audit["ok"]
        finally:
            target.stop()
    return out


# -- report ----------------------------------------------------------------------------------------
def report(results: dict) -> str:
    tp = results["throughput"]
    ceiling = tp.get(CeilingTarget.name)
    lines = [
        f"# Benchmark ({results['mode']})",
        "",
        f"{results['when']} · {results['machine']} · wrk {results['load']} · {results['rounds']} rounds, "
        f"medians · command: `{results['command']}`",
        "",
        "| target | persists writes | read req/s | read p50 / p99 ms | write req/s | write p50 / p99 ms "
        "| read vs ceiling | start to ready s | RSS idle / peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in tp.items():
        ratio = f"{row['read']['rps'] / ceiling['read']['rps']:.0%}" if ceiling else "—"
        lines.append(
            f"| {name} | {'yes' if row['persists'] else 'no'} | {row['read']['rps']:,.0f} | "
            f"{row['read']['p50_ms']:.1f} / {row['read']['p99_ms']:.1f} | {row['write']['rps']:,.0f} | "
            f"{row['write']['p50_ms']:.1f} / {row['write']['p99_ms']:.1f} | {ratio} | "
            f"{row['start_to_ready_s']:.2f} | {row['rss_idle_mb']:.0f} / {row['rss_peak_mb']:.0f} |"
        )
    if "reset" in results:
        r = results["reset"]
        lines += [
            "",
            f"Bulk allocation of {r['rows']:,} rows in one call: **{r['bulk_s']:.2f} s**. "
            f"Full reset with {r['rows']:,} cards: **{r['reset_server_ms']:.1f} ms** in the server "
            f"({r['reset_http_ms']:.1f} ms over HTTP).",
        ]
    if "scale" in results:
        lines += ["", "| cards in the store | search p50 ms | load p50 ms |", "|---|---|---|"]
        for size, row in results["scale"].items():
            lines.append(f"| {int(size):,} | {row['search_ms']:.2f} | {row['load_ms']:.2f} |")
        sizes = sorted(results["scale"], key=int)
        small, big = results["scale"][sizes[0]], results["scale"][sizes[-1]]
        lines.append(
            f"\n{int(sizes[-1]):,} vs {int(sizes[0]):,} cards: search ×{big['search_ms'] / small['search_ms']:.2f}, "
            f"load ×{big['load_ms'] / small['load_ms']:.2f}."
        )
    if "workers" in results:
        lines += ["", "| worker processes | read req/s | write req/s | audit after |", "|---|---|---|---|"]
        for w, row in results["workers"].items():
            lines.append(
                f"| {w} | {row['read']['rps']:,.0f} | {row['write']['rps']:,.0f} | "
                f"{'clean' if row['audit_ok'] else 'DISCREPANCIES'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds; sandbox and ceiling only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of load per target and endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sizes", default="1000,100000,1000000", help="store sizes for the scale test")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.duration, args.connections, args.sizes = 1, 1.0, 8, "1000"
    tools = ensure_tools(args.smoke)
    use_wrk = tools["wrk"]
    print(f"tools: {tools}", flush=True)
    try:
        sandbox_off = SandboxTarget("sandbox (encryption off)", "off")
        sandbox_on = SandboxTarget("sandbox (encryption on)", "required")
        targets: list[Target] = [sandbox_off, sandbox_on, CeilingTarget()]
        if not args.smoke:
            sandbox_off.start()
            card = sandbox_off.card
            sandbox_off.stop()
            if tools.get("prism"):
                targets.append(PrismTarget(card))
            if tools.get("wiremock_jar") and tools.get("java"):
                bodies = {
                    f"{CARD}/search": json.dumps(
                        {"code": 0, "message": "Success", "payload": {"enKashCardId": "EKC0000000", "otbBalance": 100}}
                    ).encode(),
                    f"{CARD}/balance": json.dumps(
                        {"code": 0, "message": "Success", "payload": {"enKashCardId": "EKC0000000", "otbBalance": 101}}
                    ).encode(),
                }
                targets.append(WireMockTarget(tools["wiremock_jar"], bodies))
        print("throughput:", flush=True)
        results = {
            "mode": "smoke" if args.smoke else "full",
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}",
            "load": f"-t2 -c{args.connections} -d{args.duration:g}s" if use_wrk else "python fallback",
            "rounds": args.rounds,
            "command": "python bench/run.py" + (" --smoke" if args.smoke else ""),
            "throughput": throughput(targets, args.rounds, args.duration, args.connections, use_wrk),
        }
        save(args, results)
        print("reset and bulk:", flush=True)
        results["reset"] = reset_and_bulk(1 if args.smoke else 3, 200 if args.smoke else 10_000)
        save(args, results)
        print("scale:", flush=True)
        results["scale"] = scale([int(s) for s in args.sizes.split(",")], 20 if args.smoke else 300)
        save(args, results)
        if not args.smoke:
            print("workers:", flush=True)
            results["workers"] = workers_comparison(args.duration, args.connections, use_wrk)
    finally:
        for proc in list(PROCS):
            stop(proc)
    print("\n" + save(args, results))


def save(args, results: dict) -> str:
    """Write what has been measured so far (a long run that fails late still leaves its numbers)."""
    text = report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "smoke" if args.smoke else "latest"
    (args.out / f"{name}.md").write_text(text)
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    return text


if __name__ == "__main__":
    main()

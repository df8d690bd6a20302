"""EnKash Sandbox benchmark: the sandbox side by side with Prism, WireMock and a bare ASGI ceiling.

    python bench/run.py            # full run, about 15 minutes
    python bench/run.py --quick    # under a minute: tiny loads, one round (the test suite runs this)

What it needs is installed beforehand, never by the harness: `wrk` (Debian package; without it a slower
Python load generator stands in), `npm install --prefix bench` for Prism and WireMock (a JDK for WireMock), and
for the PostgreSQL rows a server reachable at ENKASH_SANDBOX_BENCH_DATABASE_URL (or
ENKASH_SANDBOX_TEST_DATABASE_URL); the harness creates and drops its own database there. A target whose tool
is missing is left out of the table with a line saying why.

Targets are measured in one invocation, alternating (A B A B ...) over the rounds, so a noisy neighbour hits
every target alike; the table quotes medians and ratios. It prints the goals first (measured, goal, met),
then the detail tables, and writes bench/results/latest.md and latest.json (quick.md/.json with --quick).
Every process the harness starts is stopped when it ends.
"""

from __future__ import annotations

import argparse
import atexit
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
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

from enkash_sandbox import crypto  # noqa: E402

CARD = "/api/v0/partner/enKashCard"
PROCS: list[subprocess.Popen] = []
# Every store a run makes lives under one folder, removed when the run ends (a full run writes several GB:
# the 1 M-card stores alone are ~1 GB each, and leftovers of interrupted runs once filled the disk).
_SCRATCH: list[Path] = []


def scratch_dir(prefix: str) -> Path:
    """A new empty folder for one store of this run, under the run's own temporary folder."""
    if not _SCRATCH:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="enkash-bench-")))
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_SCRATCH[0]))


def clean_up() -> None:
    """Stop every server this run started and remove its stores."""
    for proc in list(PROCS):
        stop(proc)
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


def cleaned_up_on_exit() -> None:
    """Clean up on SIGTERM (a CI timeout or `kill`) too, not only on a normal end, an exception or Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


# any script that imports this module (the other benchmarks, a one-off measurement) stops its servers and
# removes its stores when it ends
atexit.register(clean_up)


# -- plumbing -------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
    # servers run as users run them: with Python's bytecode cache (a shell that sets PYTHONDONTWRITEBYTECODE
    # would otherwise make every start compile the sandbox's modules again)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(
        cmd,
        env={**base, **(env or {})},
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


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> float:
    """Seconds until `url` answers; polls every 5 ms so start-to-ready is measured, not rounded up."""
    started = time.perf_counter()
    with httpx.Client(timeout=1) as client:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {proc.returncode} before answering")
            try:
                if client.get(url).status_code < 500:
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


def find_tools() -> dict[str, Any]:
    """What is installed. Nothing is installed here: a benchmark that downloads measures the network."""
    modules = HERE / "node_modules"
    jars = sorted((modules / "wiremock").rglob("wiremock-standalone*.jar")) if (modules / "wiremock").exists() else []
    return {
        "wrk": shutil.which("wrk") is not None,
        "prism": (modules / ".bin" / "prism").exists(),
        "wiremock_jar": str(jars[-1]) if jars else None,
        "java": shutil.which("java") is not None,
        "postgres_url": os.environ.get("ENKASH_SANDBOX_BENCH_DATABASE_URL") or os.environ.get("ENKASH_SANDBOX_TEST_DATABASE_URL"),
    }


def fresh_postgres_database(url: str, name: str) -> str:
    """An empty database of the harness's own beside the one in `url` (dropped first if a run left it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    database = f"{base.database}_{name}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return base.set(database=database).render_as_string(hide_password=False)


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
    script = str(HERE / "wrk" / "request.lua")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url + load.path]
    out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True, timeout=seconds + 60)
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
    """The stand-in when wrk is missing: threads with keep-alive clients (it saturates before the server does)."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.perf_counter() + duration
    latencies: list[float] = []
    errors = 0

    def worker(_):
        nonlocal errors
        with httpx.Client(base_url=url, timeout=10) as c:
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    r = c.request(
                        load.method, load.path, content=load.body, headers={**load.headers, "Content-Type": "application/json"}
                    )
                    errors += r.status_code >= 400
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    with ThreadPoolExecutor(min(connections, 8)) as pool:
        list(pool.map(worker, range(min(connections, 8))))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
        "requests": len(latencies),
    }


def check_answers(url: str, load: Load) -> None:
    """One request before the load: a target that answers with a business failure is not measured."""
    r = httpx.request(
        load.method, url + load.path, content=load.body, headers={**load.headers, "Content-Type": "application/json"}
    )
    body = r.json()
    code = body.get("code", body.get("response_code", 0)) if isinstance(body, dict) else 0
    if r.status_code >= 400 or code not in (0, "0"):
        raise RuntimeError(f"{url}{load.path} answered {r.status_code}: {r.text[:300]}")


# -- targets ---------------------------------------------------------------------------------------
class Target:
    name = "?"
    persists = False
    proc: subprocess.Popen
    url: str

    def start(self) -> float:
        raise NotImplementedError

    def stop(self) -> None:
        stop(self.proc)

    def loads(self) -> dict[str, Load]:
        raise NotImplementedError


class SandboxTarget(Target):
    persists = True

    def __init__(
        self,
        name: str,
        encryption: str = "off",
        workers: int = 1,
        db: Path | None = None,
        demo: bool = True,
        loop: str = "asyncio",
        postgres_url: str | None = None,
    ):
        self.name, self.encryption, self.workers, self.loop = name, encryption, workers, loop
        self.db, self.demo, self.postgres_url = db, demo, postgres_url
        self.card: dict | None = None
        self.fresh_db = db is None

    def store_env(self) -> dict[str, str]:
        if self.postgres_url:
            database = fresh_postgres_database(self.postgres_url, "bench") if self.fresh_db else self.postgres_url
            return {"ENKASH_SANDBOX_DATABASE_URL": database}
        db = self.db if not self.fresh_db else scratch_dir("sandbox-") / "enkash_sandbox.db"
        return {"ENKASH_SANDBOX_DB": str(db)}

    def start(self) -> float:
        """Start on a new store (the first start: schema and demo seed included) and return start-to-ready."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**self.store_env(), "ENKASH_SANDBOX_SEED_DEMO": str(self.demo).lower(), "ENKASH_SANDBOX_LOOP": self.loop}
        cmd = [shutil.which("enkash-sandbox") or "enkash-sandbox", "serve", "--port", str(self.port), "--quiet"]
        started = time.perf_counter()
        self.proc = spawn(cmd + ["--workers", str(self.workers)], env=env)
        wait_ready(self.url + "/_sandbox/health", self.proc)
        ready = time.perf_counter() - started
        if self.workers > 1:  # every worker process must answer before the load starts
            wait_for_workers(self.url, self.workers)
        self.card = prepare_card(self.url, self.encryption)
        return ready

    def loads(self) -> dict[str, Load]:
        c = self.card
        assert c is not None
        headers = {"Authorization": f"Bearer {c['token']}", "partnerId": c["partnerId"]}
        search = {"companyId": c["companyId"], "cardAccountId": c["cardAccountId"], "enKashCardId": c["enKashCardId"]}
        load = {**search, "amount": 1, "transactionType": "CR", "type": "LOAD_MONEY"}

        def body(obj):
            wrapped = crypto.encrypt_json(obj, c["clientSecret"]) if self.encryption != "off" else obj
            return json.dumps(wrapped).encode()

        return {"read": Load(f"{CARD}/search", body(search), headers), "write": Load(f"{CARD}/balance", body(load), headers)}


def wait_for_workers(url: str, workers: int, timeout: float = 120) -> None:
    """Until `workers` distinct processes have answered the health check. The first answer comes from whichever
    worker started first; the others import and start on the same two cores for seconds more, and a load
    started then measures one worker under the 2-worker label."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {workers} worker processes answered within {timeout:g} s")
        try:
            # a new connection each time: the kernel hands it to any worker that is accepting
            seen.add(httpx.get(url + "/_sandbox/health", timeout=5).json()["pid"])
        except httpx.HTTPError:
            pass
        time.sleep(0.02)


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
        cmd = [sys.executable, "-m", "uvicorn", "ceiling:app", "--port", str(self.port), "--log-level", "warning"]
        self.proc = spawn(cmd + ["--no-access-log", "--loop", "asyncio"], cwd=HERE)
        wait_ready(self.url + "/_sandbox/health", self.proc)
        return time.perf_counter() - started

    def loads(self) -> dict[str, Load]:
        body = json.dumps({"companyId": "CEK", "cardAccountId": "CA", "enKashCardId": "EKC"}).encode()
        return {"read": Load(f"{CARD}/search", body), "write": Load(f"{CARD}/balance", body)}


class FloorTarget(Target):
    """The sandbox's own card statements on a bare Starlette route (bench/floor.py), on a store the sandbox made."""

    name = "the sandbox's SQL on bare Starlette (floor)"
    persists = True

    def start(self) -> float:
        # a store with a card, made by the sandbox itself (same schema, indexes and PRAGMAs), then left to the floor
        maker = SandboxTarget("floor store", demo=False)
        store = maker.store_env()
        maker.store_env = lambda: store  # type: ignore[method-assign]
        maker.start()
        maker.stop()
        self.card = maker.card
        assert self.card is not None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"FLOOR_DB": store["ENKASH_SANDBOX_DB"], "FLOOR_CARD": self.card["enKashCardId"]}
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "uvicorn", "floor:app", "--port", str(self.port), "--log-level", "warning"]
        self.proc = spawn(cmd + ["--no-access-log", "--loop", "asyncio"], env=env, cwd=HERE)
        wait_ready(self.url + "/_sandbox/health", self.proc)
        return time.perf_counter() - started

    def loads(self) -> dict[str, Load]:
        c = self.card
        search = {"companyId": c["companyId"], "cardAccountId": c["cardAccountId"], "enKashCardId": c["enKashCardId"]}
        load = {**search, "amount": 1, "transactionType": "CR", "type": "LOAD_MONEY"}
        return {
            "read": Load(f"{CARD}/search", json.dumps(search).encode()),
            "write": Load(f"{CARD}/balance", json.dumps(load).encode()),
        }


class PrismTarget(Target):
    name = "Stoplight Prism (mock of openapi/enkash.yaml)"

    def __init__(self, sandbox: SandboxTarget):
        self.sandbox = sandbox  # Prism validates requests against the spec: send it the sandbox's real ids

    def start(self) -> float:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        started = time.perf_counter()
        spec = str(ROOT / "openapi" / "enkash.yaml")
        prism = str(HERE / "node_modules" / ".bin" / "prism")
        self.proc = spawn([prism, "mock", spec, "-p", str(self.port), "-h", "127.0.0.1", "--errors", "false"])
        wait_ready(self.url + "/openapi-health-probe", self.proc)
        return time.perf_counter() - started

    def loads(self) -> dict[str, Load]:
        c = self.sandbox.card
        assert c is not None, "the sandbox target runs before Prism in every round"
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
        root = scratch_dir("wiremock-")
        (root / "mappings").mkdir()
        for i, (path, body) in enumerate(self.bodies.items()):
            stub = {
                "request": {"method": "POST", "url": path},
                "response": {"status": 200, "body": body.decode(), "headers": {"Content-Type": "application/json"}},
            }
            (root / "mappings" / f"stub{i}.json").write_text(json.dumps(stub))
        started = time.perf_counter()
        flags = ["--disable-banner", "--no-request-journal", "--async-response-enabled", "true"]
        self.proc = spawn(["java", "-jar", self.jar, "--port", str(self.port), "--root-dir", str(root), *flags])
        wait_ready(self.url + "/__admin/health", self.proc)
        return time.perf_counter() - started

    def loads(self) -> dict[str, Load]:
        body = json.dumps({"companyId": "CEK"}).encode()
        return {"read": Load(f"{CARD}/search", body), "write": Load(f"{CARD}/balance", body)}


# -- the measurements ------------------------------------------------------------------------------
Measure = Callable[[str, Load, float, int], dict]


def median_row(runs: list[dict]) -> dict:
    row = {k: statistics.median(run[k] for run in runs) for k in ("rps", "p50_ms", "p99_ms")}
    row["errors"] = sum(run["errors"] for run in runs)
    return row


def throughput(targets: list[Target], rounds: int, duration: float, connections: int, measure: Measure) -> dict:
    """Read and write load on every target, A B A B ...; RSS idle is taken right after ready, before any load."""
    samples: dict[tuple[str, str], list[dict]] = {}
    rss: dict[str, dict[str, list[float]]] = {}
    for r in range(rounds):
        for target in targets:
            target.start()
            try:
                time.sleep(0.3)
                idle = rss_mb(target.proc.pid)
                for kind, load in target.loads().items():
                    check_answers(target.url, load)
                    measure(target.url, load, min(1.0, duration / 4), connections)  # warm-up
                    samples.setdefault((target.name, kind), []).append(measure(target.url, load, duration, connections))
                rss.setdefault(target.name, {"idle": [], "peak": []})
                rss[target.name]["idle"].append(idle)
                rss[target.name]["peak"].append(rss_mb(target.proc.pid, "VmHWM"))
            finally:
                target.stop()
            print(f"  round {r + 1}/{rounds}: {target.name}", flush=True)
    out = {}
    for target in targets:
        out[target.name] = {
            "persists": target.persists,
            "rss_idle_mb": statistics.median(rss[target.name]["idle"]),
            "rss_peak_mb": statistics.median(rss[target.name]["peak"]),
            "read": median_row(samples[(target.name, "read")]),
            "write": median_row(samples[(target.name, "write")]),
        }
    return out


def startup(rounds: int) -> dict:
    """`enkash-sandbox serve` to the first answer: on a new store (schema and demo seed) and on an existing one."""
    fresh, existing, idle, floor = [], [], [], []
    for _ in range(rounds):
        port = free_port()  # the stack's own floor, in the same round (bench/stack_floor.py)
        cmd = [sys.executable, "-m", "uvicorn", "stack_floor:app", "--port", str(port), "--log-level", "warning"]
        started = time.perf_counter()
        proc = spawn(cmd, cwd=HERE)
        try:
            wait_ready(f"http://127.0.0.1:{port}/_sandbox/health", proc)
            floor.append(time.perf_counter() - started)
        finally:
            stop(proc)
        db = scratch_dir("start-") / "enkash_sandbox.db"
        for times in (fresh, existing):
            port = free_port()
            cmd = [shutil.which("enkash-sandbox") or "enkash-sandbox", "serve", "--port", str(port), "--quiet"]
            started = time.perf_counter()
            proc = spawn(cmd, env={"ENKASH_SANDBOX_DB": str(db)})
            try:
                wait_ready(f"http://127.0.0.1:{port}/_sandbox/health", proc)
                times.append(time.perf_counter() - started)
                if times is existing:
                    time.sleep(0.5)
                    idle.append(rss_mb(proc.pid))
            finally:
                stop(proc)
    return {
        "fresh_store_s": statistics.median(fresh),
        "existing_store_s": statistics.median(existing),
        "rss_idle_mb": statistics.median(idle),
        "stack_floor_s": statistics.median(floor),
    }


def workers_comparison(stores: dict[str, str | None], rounds: int, duration: float, connections: int, measure: Measure) -> dict:
    """1 vs 2 worker processes on each store, alternating; the audit must stay clean after every run."""
    runs: dict[tuple[str, int], dict[str, list[dict]]] = {}
    audits: dict[tuple[str, int], bool] = {}
    for r in range(rounds):
        for store, postgres_url in stores.items():
            for workers in (1, 2):
                target = SandboxTarget(f"{store}, {workers} worker(s)", workers=workers, postgres_url=postgres_url)
                target.start()
                try:
                    for kind, load in target.loads().items():
                        check_answers(target.url, load)
                        measure(target.url, load, min(1.0, duration / 4), connections)
                        runs.setdefault((store, workers), {}).setdefault(kind, []).append(
                            measure(target.url, load, duration, connections)
                        )
                    audit = httpx.get(f"{target.url}/_sandbox/audit", timeout=300).json()
                    audits[(store, workers)] = audits.get((store, workers), True) and bool(audit["ok"])
                finally:
                    target.stop()
                print(f"  round {r + 1}/{rounds}: {target.name}", flush=True)
    out: dict[str, dict] = {}
    for (store, workers), kinds in runs.items():
        out.setdefault(store, {})[str(workers)] = {
            "read": median_row(kinds["read"]),
            "write": median_row(kinds["write"]),
            "audit_ok": audits[(store, workers)],
        }
    return out


def reset_and_bulk(rounds: int, rows: int) -> dict:
    from enkash_sandbox.client import EnKashClient

    target = SandboxTarget("sandbox")
    target.start()
    try:
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
        db = scratch_dir(f"scale-{size}-") / "enkash_sandbox.db"
        container = build(Settings(db=str(db), seed_demo=False))
        container.start()
        creds = container.tenants.provision(encryption="off", fund_balance=Decimal(10**11))
        t = time.perf_counter()
        fill_cards(container, creds, size)
        filled = time.perf_counter() - t
        container.close()
        target = SandboxTarget(f"sandbox {size:,} cards", db=db, demo=False)
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


def fill_cards(container, creds: dict, size: int) -> None:
    """Bulk-insert holders and cards straight into the store (the bulk API's insert path, without HTTP)."""
    from enkash_sandbox.products.cards.schemas import HolderFields
    from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company
    from sqlalchemy import insert

    chunk = 20_000
    with container.db.write() as s:
        account = s.get(CardAccount, creds["cardAccounts"]["RELOADABLE_GPR"])
        company = s.get(Company, account.company_id)
        fields = HolderFields(title="Mr", firstName="Scale", mobile="7000000000")
        conn = s.connection()
        for start in range(0, size, chunk):
            holders, cards = [], []
            for _ in range(min(chunk, size - start)):
                h = container.cards.holder_row(s, company, fields)
                h["mobile"] = None
                holders.append(h)
                cards.append(container.cards.card_row(s, account, h["id"]))
            conn.execute(insert(CardHolder.__table__), holders)
            conn.execute(insert(Card.__table__), cards)


# -- goals and report ------------------------------------------------------------------------------
SANDBOX = "sandbox (encryption off)"
SANDBOX_ON = "sandbox (encryption on)"
SANDBOX_UVLOOP = "sandbox (encryption off, uvloop)"


def goals(results: dict) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, goal, met) for each of the request path's targets that this run measured."""
    tp, out = results.get("throughput", {}), []
    sandbox, ceiling = tp.get(SANDBOX), tp.get(CeilingTarget.name)
    prism, wiremock = tp.get(PrismTarget.name), tp.get(WireMockTarget.name)
    workers = results.get("workers", {})
    if sandbox and ceiling:
        ratio = sandbox["read"]["rps"] / ceiling["read"]["rps"]
        out.append(("card search vs bare Starlette, 1 worker", f"{ratio:.2f}×", "≥ 0.25×", ratio >= 0.25))
    if wiremock and "sqlite" in workers:
        ratio = workers["sqlite"]["2"]["read"]["rps"] / wiremock["read"]["rps"]
        out.append(("card search, 2 workers, vs WireMock", f"{ratio:.2f}×", "≥ 1.0×", ratio >= 1.0))
    if sandbox:
        rps = sandbox["write"]["rps"]
        out.append(("card loads per second, 1 worker", f"{rps:,.0f}", "≥ 1,000", rps >= 1000))
    if sandbox and prism:
        ratio = sandbox["write"]["rps"] / prism["write"]["rps"]
        out.append(("card loads vs Prism's write figure", f"{ratio:.2f}×", "≥ 1.5×", ratio >= 1.5))
    for store, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if store in workers:
            ratio = workers[store]["2"]["write"]["rps"] / workers[store]["1"]["write"]["rps"]
            out.append((f"card loads, 2 workers vs 1, {label}", f"{ratio:.2f}×", "≥ 1.5×", ratio >= 1.5))
    if sandbox:
        worst = max(sandbox["read"]["p99_ms"], sandbox["write"]["p99_ms"])
        conns = results.get("connections", 32)
        out.append((f"p99 of search and load at {conns} connections", f"{worst:.1f} ms", "≤ 50 ms", worst <= 50))
    errors = sum(row[k]["errors"] for name, row in tp.items() for k in ("read", "write") if name.startswith("sandbox"))
    errors += sum(row[k]["errors"] for store in workers.values() for row in store.values() for k in ("read", "write"))
    out.append(("errors in every sandbox run", f"{errors}", "0", errors == 0))
    if "startup" in results:
        s = results["startup"]
        out.append(("start to ready, existing store", f"{s['existing_store_s']:.2f} s", "≤ 1.0 s", s["existing_store_s"] <= 1.0))
        out.append(
            (
                "start to ready, new store (schema + demo seed)",
                f"{s['fresh_store_s']:.2f} s",
                "≤ 1.0 s",
                s["fresh_store_s"] <= 1.0,
            )
        )
        if "stack_floor_s" in s:  # no target: what the frameworks' start costs on this machine, for scale
            floor = s["stack_floor_s"]
            out.append(("start to ready of FastAPI + uvicorn + SQLModel alone (one route)", f"{floor:.2f} s", "—", None))
        out.append(("idle RSS", f"{s['rss_idle_mb']:.0f} MB", "≤ 120 MB", s["rss_idle_mb"] <= 120))
    if "reset" in results:
        ms = results["reset"]["reset_server_ms"]
        out.append((f"reset with {results['reset']['rows']:,} cards", f"{ms:.1f} ms", "≤ 20 ms", ms <= 20))
    if len(results.get("scale", {})) > 1:
        sizes = sorted(results["scale"], key=int)
        small, big = results["scale"][sizes[0]], results["scale"][sizes[-1]]
        worst = max(big["search_ms"] / small["search_ms"], big["load_ms"] / small["load_ms"])
        label = f"search and load, {int(sizes[-1]):,} vs {int(sizes[0]):,} cards"
        out.append((label, f"{worst:.2f}×", "≤ 1.3×", worst <= 1.3))
    return out


def report(results: dict) -> str:
    tp = results.get("throughput", {})
    ceiling = tp.get(CeilingTarget.name)
    lines = [
        f"# Benchmark ({results['mode']})",
        "",
        f"{results['when']} · {results['machine']} · load: {results['load']} · {results['rounds']} rounds, "
        f"medians · command: `{results['command']}`",
    ]
    if results.get("left_out"):
        lines += ["", "Left out: " + "; ".join(results["left_out"]) + "."]
    met = goals(results)
    if met:
        lines += ["", "| goal | measured | target | met |", "|---|---|---|---|"]
        for what, measured, goal, ok in met:
            lines.append(f"| {what} | {measured} | {goal} | {'—' if ok is None else 'yes' if ok else '**no**'} |")
    if tp:
        lines += [
            "",
            "| target | persists writes | read vs ceiling | read req/s | read p50 / p99 ms | read errors "
            "| write req/s | write p50 / p99 ms | write errors | RSS idle / peak MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, row in tp.items():
            ratio = f"{row['read']['rps'] / ceiling['read']['rps']:.2f}×" if ceiling else "—"
            rd, wr = row["read"], row["write"]
            lines.append(
                f"| {name} | {'yes' if row['persists'] else 'no'} | {ratio} | {rd['rps']:,.0f} | "
                f"{rd['p50_ms']:.1f} / {rd['p99_ms']:.1f} | {rd['errors']} | {wr['rps']:,.0f} | "
                f"{wr['p50_ms']:.1f} / {wr['p99_ms']:.1f} | {wr['errors']} | "
                f"{row['rss_idle_mb']:.0f} / {row['rss_peak_mb']:.0f} |"
            )
    floor = tp.get(FloorTarget.name)
    if floor and ceiling and SANDBOX in tp:
        sandbox = tp[SANDBOX]
        lines += [
            "",
            "The floor row runs the sandbox's own search and load statements on its own store, on a bare Starlette "
            "route with nothing else (no token, gateway, validation model or envelope; bench/floor.py). The sandbox "
            f"reaches **{sandbox['read']['rps'] / floor['read']['rps']:.2f}×** of the floor's searches and "
            f"**{sandbox['write']['rps'] / floor['write']['rps']:.2f}×** of its loads; the floor itself searches at "
            f"{floor['read']['rps'] / ceiling['read']['rps']:.2f}× of the ceiling and loads {floor['write']['rps']:,.0f} "
            f"times a second (p99 {floor['write']['p99_ms']:.1f} ms).",
        ]
    if "workers" in results:
        lines += [
            "",
            "| store | workers | write vs 1 worker | read req/s | read p99 ms | write req/s | write p99 ms "
            "| errors | audit after |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for store, by_workers in results["workers"].items():
            one = by_workers["1"]["write"]["rps"]
            for w, row in by_workers.items():
                errors = row["read"]["errors"] + row["write"]["errors"]
                lines.append(
                    f"| {store} | {w} | {row['write']['rps'] / one:.2f}× | {row['read']['rps']:,.0f} | "
                    f"{row['read']['p99_ms']:.1f} | {row['write']['rps']:,.0f} | {row['write']['p99_ms']:.1f} | {errors} | "
                    f"{'clean' if row['audit_ok'] else 'DISCREPANCIES'} |"
                )
    if "startup" in results:
        s = results["startup"]
        lines += [
            "",
            f"`enkash-sandbox serve` to its first answer: **{s['existing_store_s']:.2f} s** on an existing store, "
            f"**{s['fresh_store_s']:.2f} s** on a new one (schema and demo seed); idle RSS {s['rss_idle_mb']:.0f} MB. "
            f"FastAPI, uvicorn and SQLModel alone with one route (`bench/stack_floor.py`), same rounds: "
            f"{s.get('stack_floor_s', float('nan')):.2f} s.",
        ]
    if "reset" in results:
        r = results["reset"]
        lines += [
            "",
            f"Bulk allocation of {r['rows']:,} rows in one call: **{r['bulk_s']:.2f} s**. "
            f"Full reset with {r['rows']:,} cards: **{r['reset_server_ms']:.1f} ms** in the server "
            f"({r['reset_http_ms']:.1f} ms over HTTP).",
        ]
    if results.get("scale"):
        lines += ["", "| cards in the store | search p50 ms | load p50 ms |", "|---|---|---|"]
        for size, row in results["scale"].items():
            lines.append(f"| {int(size):,} | {row['search_ms']:.2f} | {row['load_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", "--smoke", action="store_true", help="under a minute: one round, tiny loads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per target and endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--sizes", default="1000,100000,1000000", help="store sizes for the scale test")
    parser.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL rows")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    cleaned_up_on_exit()
    if args.quick:
        args.rounds, args.duration, args.connections, args.sizes = 1, 0.5, 8, "1000"
    tools = find_tools()
    if args.no_postgres:
        tools["postgres_url"] = None
    use_wrk = tools["wrk"]

    def measure(url: str, load: Load, duration: float, connections: int) -> dict:
        return (run_wrk if use_wrk else run_python_load)(url, load, duration, connections)

    left_out = []
    if not use_wrk:
        left_out.append("wrk is not installed (apt-get install wrk): a Python load generator stands in")
    print(f"tools: { {k: bool(v) for k, v in tools.items()} }", flush=True)
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}",
        "load": f"wrk -t2 -c{args.connections} -d{args.duration:g}s" if use_wrk else f"python, {args.connections} threads max 8",
        "connections": args.connections,
        "rounds": args.rounds,
        "command": "python bench/run.py" + (" --quick" if args.quick else ""),
        "left_out": left_out,
    }
    try:
        sandbox = SandboxTarget(SANDBOX)
        targets: list[Target] = [sandbox, SandboxTarget(SANDBOX_ON, encryption="required"), FloorTarget(), CeilingTarget()]
        if not args.quick:
            targets.insert(2, SandboxTarget(SANDBOX_UVLOOP, loop="uvloop"))
            if tools["prism"]:
                targets.append(PrismTarget(sandbox))
            else:
                left_out.append("Prism (npm install --prefix bench)")
            if tools["wiremock_jar"] and tools["java"]:
                stub = {"code": 0, "message": "Success", "payload": {"enKashCardId": "EKC0000000", "otbBalance": 100}}
                bodies = {f"{CARD}/search": json.dumps(stub).encode(), f"{CARD}/balance": json.dumps(stub).encode()}
                targets.append(WireMockTarget(tools["wiremock_jar"], bodies))
            else:
                left_out.append("WireMock (npm install --prefix bench, and a JDK)")
        print("throughput:", flush=True)
        results["throughput"] = throughput(targets, args.rounds, args.duration, args.connections, measure)
        save(args, results)
        print("workers:", flush=True)
        stores: dict[str, str | None] = {"sqlite": None}
        if tools["postgres_url"]:
            stores["postgresql"] = tools["postgres_url"]
        else:
            left_out.append("PostgreSQL rows (set ENKASH_SANDBOX_BENCH_DATABASE_URL)")
        results["workers"] = workers_comparison(stores, args.rounds, args.duration, args.connections, measure)
        save(args, results)
        print("startup:", flush=True)
        results["startup"] = startup(args.rounds)
        print("reset and bulk:", flush=True)
        results["reset"] = reset_and_bulk(1 if args.quick else 3, 200 if args.quick else 10_000)
        save(args, results)
        print("scale:", flush=True)
        results["scale"] = scale([int(s) for s in args.sizes.split(",")], 20 if args.quick else 300)
    finally:
        clean_up()
    print("\n" + save(args, results))


def save(args, results: dict) -> str:
    """Write what has been measured so far (a long run that fails late still leaves its numbers)."""
    text = report(results)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "quick" if args.quick else "latest"
    (args.out / f"{name}.md").write_text(text)
    (args.out / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    return text


if __name__ == "__main__":
    main()

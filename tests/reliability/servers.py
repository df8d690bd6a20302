"""Real server processes for the reliability tests: started, killed and restarted like a partner's CI does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
from enkash_sandbox.testing.live import free_port


class ServerProcess:
    def __init__(self, env: dict, workers: int = 1, log_file: Path | None = None):
        """`log_file`: run as a developer does (banner, access log, log level info) and write everything the
        server prints there; without it the server runs --quiet and only its stderr is kept (for start-up errors)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.workers = workers
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        # the worker processes that have answered the health check (pid in its answer)
        self.pids: set[int] = set()

    def start(self, timeout: float = 30) -> ServerProcess:
        cmd = [
            shutil.which("enkash-sandbox") or "enkash-sandbox",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if self.log_file is None:
            cmd.append("--quiet")
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
        else:
            with open(self.log_file, "ab") as log:  # the child keeps its own copy of the descriptor
                env = {**self.env, "PYTHONUNBUFFERED": "1"}
                self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pids = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()[-2000:]}")
            try:
                health = httpx.get(f"{self.url}/_sandbox/health", timeout=1)
                if health.status_code == 200:
                    # a race "across 2 workers" must not start while only the first worker is answering
                    self.pids.add(health.json()["pid"])
                    if len(self.pids) >= self.workers:
                        return self
                time.sleep(0.02)
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy ({len(self.pids)} of {self.workers} worker processes answered)")

    def output(self) -> str:
        """What the server printed: its log file, or (quiet) its stderr once it has exited."""
        if self.log_file is not None:
            return self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""
        if self.proc is not None and self.proc.stderr is not None and self.proc.poll() is not None:
            return self.proc.stderr.read().decode(errors="replace")
        return ""

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flush, like a crash."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def provision(self, **body) -> dict:
        r = httpx.post(f"{self.url}/_sandbox/partners", json=body or None, timeout=30)
        r.raise_for_status()
        return r.json()

    def audit(self, partner_id: str | None = None) -> dict:
        params = {"partnerId": partner_id} if partner_id else None
        return httpx.get(f"{self.url}/_sandbox/audit", params=params, timeout=120).json()

    def control_raw(self, method: str, path: str, **kw) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_sandbox{path}", timeout=120, **kw)

    def control(self, method: str, path: str, **kw):
        response = self.control_raw(method, path, **kw)
        assert response.status_code < 300, (method, path, response.status_code, response.text[:500])
        return response.json()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

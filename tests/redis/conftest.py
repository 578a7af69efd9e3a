"""A real redis-server on 127.0.0.1 for each test, and helpers to run `signaldesk worker` processes.

redis-server cannot pick its own port (``--port 0`` disables TCP), so a free port is found by
binding to port 0 and closing. The server writes an append-only file with ``appendfsync always``
in the test's tmp folder: every write Redis has acknowledged survives a SIGKILL of the server,
which the restart test relies on. Without redis-server the tests skip with the install hint,
except in CI (``CI=true``), where a missing server is a failure: ``.ci/run`` installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import REPO_ROOT

REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir),
             "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.ping():
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:] if (self.dir / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server did not start on port {self.port}: {log}")
            time.sleep(0.05)
        client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown save, only what the append-only file already holds survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def client(self, **kw) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)


def _require_redis_server() -> None:
    if REDIS_SERVER is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; .ci/run should have installed it")
        pytest.skip(message)


@pytest.fixture
def redis_server(tmp_path: Path):
    _require_redis_server()
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_factory(tmp_path: Path):
    """Servers the test starts itself (e.g. later, on a port chosen first)."""
    _require_redis_server()
    servers: list[RedisServer] = []

    def make(port: int | None = None, name: str = "redis") -> RedisServer:
        server = RedisServer(tmp_path / name, port)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("SIGNALDESK_REDIS_URL", None)
    # One ONNX thread per worker: several workers share this machine's two cores.
    env.update(SIGNALDESK_INTRA_OP_THREADS="1", SIGNALDESK_REDIS_CLAIM_INTERVAL_S="0.5",
               SIGNALDESK_REDIS_MAX_BACKOFF_S="1", SIGNALDESK_REDIS_BLOCK_MS="300")
    env.update(extra)
    return env


class WorkerProcess:
    def __init__(self, data_dir: Path, url: str, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.stderr_path = data_dir.parent / f"{name}.stderr"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir), "worker", "--redis", url, "--consumer", name,
             "--wait", "10", *args],
            cwd=REPO_ROOT, env=env or child_env(), stdout=subprocess.PIPE, stderr=open(self.stderr_path, "wb"))

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def terminate(self, timeout: float = 30.0) -> dict:
        """SIGTERM, wait, and return the JSON counts it prints on a clean exit."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f"worker {self.name} exited {self.proc.returncode}: {self.stderr()[-3000:]}"
        return json.loads(out.decode().strip().splitlines()[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def workers(tmp_path: Path):
    """Start `signaldesk worker` processes; any left running are killed at the end."""
    started: list[WorkerProcess] = []

    def start(url: str, name: str, *args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        data_dir = tmp_path / f"worker-{name}"
        data_dir.mkdir(exist_ok=True)
        worker = WorkerProcess(data_dir, url, name, *args, env=env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05, on_timeout=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}. {on_timeout()}")


def consumers(client: redis.Redis, stream: str = "signaldesk:news", group: str = "scorers") -> dict[str, dict]:
    try:
        return {c["name"].decode() if isinstance(c["name"], bytes) else c["name"]: c
                for c in client.xinfo_consumers(stream, group)}
    except redis.ResponseError:  # no stream or group yet
        return {}


def results(client: redis.Redis, stream: str = "signaldesk:results") -> list[dict]:
    """Every result entry: news_id, worker and the decoded payload."""
    out = []
    for _entry_id, fields in client.xrange(stream):
        payload = json.loads(fields[b"payload"])
        out.append({"news_id": fields[b"news_id"].decode(), "worker": fields[b"worker"].decode(), "payload": payload})
    return out

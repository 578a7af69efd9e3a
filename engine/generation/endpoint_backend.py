"""Generation through an OpenAI-compatible endpoint (llama.cpp's server, Ollama, LM Studio, vLLM…).

The same ``chat`` contract as the local llama.cpp generator (engine/generation/llama_backend.py),
so the reasoning service drives both alike: streamed tokens, ``should_stop`` after each token,
``should_abort`` (cancel or deadline) while waiting for the first one, and a ``Generation`` back.

* Structured output: the endpoint's JSON-schema mode where it has one. OpenAI's
  ``{"type": "json_schema", ...}`` is tried first, then llama-cpp-python's
  ``{"type": "json_object", "schema": ...}``, then plain JSON mode, then none; the first mode the
  endpoint accepts is remembered. Whatever comes back is validated here either way.
* Health: ``health()`` lists the endpoint's models and checks that ours is among them.
* Timeouts: a connect timeout, a read timeout between chunks, and a watchdog that closes the
  connection the moment ``should_abort`` says so. Retries and the circuit breaker are the
  reasoning service's, as for the local model.
* The API key is read from an environment variable at each call; only the variable's name is
  ever stored, and neither the key nor the request headers reach a log or an error message.

Plain ``http.client``: streaming SSE needs nothing more, and the installer leaves the OpenAI SDK
and its HTTP stack out.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from engine.generation.llama_backend import Generation

log = logging.getLogger(__name__)

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
MODEL_NAME = re.compile(r"^[\w.:/@+-]{1,200}$")
MAX_LINE = 1 << 20  # one SSE line; a larger one is not a chat chunk
MAX_BODY = 4 << 20  # a non-streamed answer (errors, the model list)
STRUCTURED_MODES = ("json_schema", "json_object_schema", "json_object", "none")


class EndpointError(RuntimeError):
    """The endpoint could not be used; the message says why in one line (never the key)."""


@dataclass(frozen=True)
class EndpointConfig:
    url: str  # base URL, normalised to end in /v1
    model: str
    api_key_env: str = ""  # the NAME of the environment variable holding the key
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0  # between two chunks of a stream


def normalise_url(url: str) -> str:
    """http(s)://host[:port][/path] -> the OpenAI base URL (…/v1); refuses credentials in the URL."""
    url = str(url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{url!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise EndpointError("put the API key in an environment variable (--api-key-env), not in the URL")
    if parts.query or parts.fragment:
        raise EndpointError("the endpoint URL must not have a query or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}"


def check_config(url: str, model: str, api_key_env: str = "") -> EndpointConfig:
    if not MODEL_NAME.match(model or ""):
        raise EndpointError(f"{model!r} is not a model name (letters, digits and . : / @ + - _ only)")
    if api_key_env and not ENV_NAME.match(api_key_env):
        # Never echo the value: a key pasted here by mistake would land in logs and on screen.
        raise EndpointError(f"the API key setting must name an environment variable (letters, digits and _, "
                            f"{len(api_key_env)} characters given), not hold the key itself")
    return EndpointConfig(normalise_url(url), model, api_key_env)


class EndpointGenerator:
    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        parts = urlsplit(config.url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port or (443 if self._https else 80)
        self._base_path = parts.path
        self._mode: str | None = None  # the structured-output mode this endpoint accepted
        self.path = None  # no local file (the model manager's callers look at generators' paths)

    # --- plumbing ---------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env, "")
            if not key:
                raise EndpointError(f"environment variable {self.config.api_key_env} (the API key) is not set")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.config.connect_timeout_s,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=self.config.connect_timeout_s)

    def _open(self, method: str, path: str, body: dict | None) -> tuple[http.client.HTTPConnection,
                                                                        http.client.HTTPResponse]:
        conn = self._connection()
        try:
            conn.request(method, self._base_path + path, body=json.dumps(body).encode() if body is not None else None,
                         headers=self._headers())
            conn.sock.settimeout(self.config.read_timeout_s)
            return conn, conn.getresponse()
        except EndpointError:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise EndpointError(f"{self.where}: {type(exc).__name__}: {exc}") from None

    @property
    def where(self) -> str:
        return f"endpoint {self._host}:{self._port}"

    def _error(self, resp: http.client.HTTPResponse) -> EndpointError:
        body = resp.read(MAX_BODY).decode("utf-8", "replace")
        try:
            detail = json.loads(body).get("error", body)
            detail = detail.get("message", detail) if isinstance(detail, dict) else detail
        except (ValueError, AttributeError):
            detail = body
        return EndpointError(f"{self.where} answered HTTP {resp.status}: {' '.join(str(detail).split())[:200]}")

    # --- health -----------------------------------------------------------------------------
    def health(self) -> dict:
        """The endpoint answers and serves our model: {"models": [...], "ms": round trip}."""
        started = time.perf_counter()
        conn, resp = self._open("GET", "/models", None)
        try:
            if resp.status != 200:
                raise self._error(resp)
            try:
                data = json.loads(resp.read(MAX_BODY))
                models = [str(m.get("id")) for m in data.get("data", []) if isinstance(m, dict)]
            except (ValueError, AttributeError):
                raise EndpointError(f"{self.where}: /models did not answer with a model list") from None
        finally:
            conn.close()
        if models and self.config.model not in models:
            raise EndpointError(f"{self.where} does not serve {self.config.model!r}; it serves "
                                f"{', '.join(models[:5])}")
        return {"models": models, "ms": round((time.perf_counter() - started) * 1000, 1)}

    def count_tokens(self, text: str) -> int:
        """No tokenizer here: ~4 characters a token, for sizing only."""
        return max(1, len(text) // 4)

    def close(self) -> None:
        pass

    # --- generation -------------------------------------------------------------------------
    def _format(self, mode: str, schema: dict | None) -> dict | None:
        if mode == "json_schema" and schema is not None:
            return {"type": "json_schema", "json_schema": {"name": "j6_signal", "schema": schema, "strict": True}}
        if mode == "json_object_schema" and schema is not None:
            return {"type": "json_object", "schema": schema}
        if mode == "json_object":
            return {"type": "json_object"}
        return None

    def chat(self, messages: list[dict], *, max_tokens: int = 256, temperature: float = 0.0,
             response_format: dict | None = None, on_token: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None, should_abort: Callable[[], bool] | None = None,
             reuse_prefix: bool = True) -> Generation:
        """Stream a chat completion (``reuse_prefix`` is the server's business: llama.cpp's server
        keeps its own prompt cache)."""
        schema = (response_format or {}).get("schema")
        modes = [self._mode] if self._mode else [m for m in STRUCTURED_MODES if schema is not None or m == "none"]
        last: EndpointError | None = None
        for mode in modes:
            body = {"model": self.config.model, "messages": messages, "max_tokens": int(max_tokens),
                    "temperature": float(temperature), "stream": True}
            fmt = self._format(mode, schema)
            if fmt is not None:
                body["response_format"] = fmt
            started = time.perf_counter()
            conn, resp = self._open("POST", "/chat/completions", body)
            if resp.status >= 400 and mode != "none" and self._mode is None:
                # This structured-output form is not spoken here (llama-cpp-python's server answers
                # OpenAI's json_schema with HTTP 500, others with 400 or 422): try the next form.
                last = self._error(resp)
                conn.close()
                log.info("%s refused response_format %s (%s); trying the next form", self.where, mode, last)
                continue
            if resp.status != 200:
                error = self._error(resp)
                conn.close()
                raise error
            self._mode = mode
            return self._stream(conn, resp, started, on_token, should_stop, should_abort)
        raise last or EndpointError(f"{self.where}: no request form was accepted")

    def _stream(self, conn, resp, started: float, on_token, should_stop, should_abort) -> Generation:
        pieces: list[str] = []
        first_ms = 0.0
        usage: dict = {}
        watchdog = _Watchdog(conn, should_abort) if should_abort is not None else None
        try:
            while True:
                line = resp.readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE:
                    raise EndpointError(f"{self.where}: a stream line over {MAX_LINE:,} bytes")
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise EndpointError(f"{self.where}: a stream chunk is not JSON") from None
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise EndpointError(f"{self.where}: {str(chunk['error'])[:200]}")
                usage = chunk.get("usage") or usage
                choices = chunk.get("choices") or [{}]
                delta = (choices[0].get("delta") or {}).get("content") if isinstance(choices[0], dict) else None
                if not delta:
                    continue
                if not pieces:
                    first_ms = (time.perf_counter() - started) * 1000
                    if watchdog is not None:
                        watchdog.stop()  # token steps are short: should_stop covers them
                pieces.append(str(delta))
                if on_token is not None:
                    on_token(str(delta))
                if should_stop is not None and should_stop():
                    break
        except (OSError, http.client.HTTPException) as exc:
            if watchdog is None or not watchdog.fired:
                raise EndpointError(f"{self.where}: {type(exc).__name__}: {exc}") from None
            log.info("endpoint request aborted after %.0f ms", (time.perf_counter() - started) * 1000)
        finally:
            if watchdog is not None:
                watchdog.stop()
            conn.close()  # also how a stopped stream tells the server to stop generating
        text = "".join(pieces)
        completion = int(usage.get("completion_tokens") or len(pieces))
        return Generation(text, int(usage.get("prompt_tokens") or 0), completion, first_ms,
                          (time.perf_counter() - started) * 1000)


class _Watchdog:
    """Closes the connection when ``should_abort`` fires while we wait for the first token (a
    blocking read cannot ask it), so cancel and the deadline act within ~50 ms."""

    def __init__(self, conn: http.client.HTTPConnection, should_abort: Callable[[], bool]) -> None:
        self._conn, self._should_abort = conn, should_abort
        self._done = threading.Event()
        self.fired = False
        self._thread = threading.Thread(target=self._run, name="endpoint-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.05):
            try:
                if self._should_abort():
                    self.fired = True
                    sock = self._conn.sock
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)
                    return
            except Exception:  # a closed socket or a failing check: nothing left to watch
                log.debug("endpoint watchdog stopped", exc_info=True)
                return

    def stop(self) -> None:
        self._done.set()

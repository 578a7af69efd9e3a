"""A GGUF generator on llama-cpp-python. The caller verifies the file's sha256 first.

llama.cpp releases the GIL while it computes, so generation on a slow-lane thread does not
stall headline scoring on another thread.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    first_token_ms: float
    total_ms: float

    @property
    def tokens_per_s(self) -> float:
        gen_ms = self.total_ms - self.first_token_ms
        if self.completion_tokens <= 1 or gen_ms <= 0:
            return 0.0
        return (self.completion_tokens - 1) * 1000.0 / gen_ms


def default_threads() -> int:
    """Half the physical cores: llama.cpp's OpenMP workers spin, and sharing cores with the
    scoring lane is ruinous (SmolLM2 on 2 cores: 0.45 s with 1 thread, 16.5 s with 2 while
    another job held both cores)."""
    import psutil

    physical = psutil.cpu_count(logical=False) or 2
    return max(1, physical // 2)


class LlamaGenerator:
    def __init__(self, path: Path, n_threads: int = 0, n_ctx: int = 2048, seed: int = 0) -> None:
        from llama_cpp import Llama

        threads = n_threads or default_threads()
        self.path = Path(path)
        self._llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=threads,
                          n_threads_batch=threads, seed=seed, verbose=False)

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None and hasattr(llm, "close"):
            llm.close()
        self._llm = None

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    def chat(self, messages: list[dict], *, max_tokens: int = 256, temperature: float = 0.0,
             response_format: dict | None = None, on_token: Callable[[str], None] | None = None,
             should_stop: Callable[[], bool] | None = None,
             should_abort: Callable[[], bool] | None = None) -> Generation:
        """Stream a chat completion; ``on_token`` sees each piece as it arrives.

        ``should_stop`` is asked after every token. ``should_abort`` (cancel or deadline only: it runs
        inside llama.cpp's compute loop, so it must be quick and never sleep) can also interrupt the
        prompt evaluation before the first token, which takes seconds for a long prompt.
        """
        started = time.perf_counter()
        first_ms = 0.0
        pieces: list[str] = []
        completion_tokens = 0
        kwargs = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                  "stream": True}
        if response_format is not None:
            kwargs["response_format"] = response_format
        abort = _PromptAbort(self._llm, should_abort) if should_abort is not None else None
        try:
            stream: Iterable[dict] = self._llm.create_chat_completion(**kwargs)
            for chunk in stream:
                if abort is not None:
                    abort.disarm()  # the prompt is in: token steps are short, should_stop covers them
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if not delta:
                    continue
                if not pieces:
                    first_ms = (time.perf_counter() - started) * 1000
                pieces.append(delta)
                completion_tokens += 1
                if on_token is not None:
                    on_token(delta)
                if should_stop is not None and should_stop():
                    break
        except RuntimeError:
            if abort is None or not abort.fired:
                raise
            log.info("prompt evaluation aborted after %.0f ms", (time.perf_counter() - started) * 1000)
        finally:
            if abort is not None:
                abort.disarm()
        text = "".join(pieces)
        # llama-cpp-python streams one chunk per token and keeps prompt + completion in its
        # context, so this matches the `usage` block of a non-streamed call exactly.
        prompt_tokens = max(0, int(self._llm.n_tokens) - completion_tokens)
        return Generation(text, prompt_tokens, completion_tokens, first_ms,
                          (time.perf_counter() - started) * 1000)


class _PromptAbort:
    """llama.cpp's abort callback, armed while the prompt is evaluated.

    ggml asks it between graph nodes (hundreds per batch). Each call enters Python and takes the
    GIL, so it stays armed only until the first token; per-token steps are checked by the caller.
    An aborted decode raises RuntimeError in llama-cpp-python; the context stays usable (the next
    evaluation drops whatever the aborted batch left in the KV cache).
    """

    def __init__(self, llm, should_abort: Callable[[], bool]) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self._ctx = llm._ctx.ctx
        self._should_abort = should_abort
        self.fired = False
        # Kept referenced: llama.cpp holds a raw pointer to it.
        self._callback = llama_cpp.ggml_abort_callback(self._check)
        self._armed = True
        llama_cpp.llama_set_abort_callback(self._ctx, self._callback, None)

    def _check(self, _data) -> bool:
        try:
            if self._should_abort():
                self.fired = True
        except Exception:  # an exception cannot cross into C; keep computing
            log.exception("abort check failed")
        return self.fired

    def disarm(self) -> None:
        if self._armed:
            self._armed = False
            self._llama_cpp.llama_set_abort_callback(self._ctx, self._llama_cpp.ggml_abort_callback(), None)

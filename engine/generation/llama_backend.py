"""A GGUF generator on llama-cpp-python. The caller verifies the file's sha256 first.

llama.cpp releases the GIL while it computes, so generation on a slow-lane thread does not
stall headline scoring on another thread.

Fast start (issue 19): an explanation's prompt is ~1,000 tokens, of which everything before the
news item (system prompt, schema words, guardrail text, worked examples) is the same on every
call of a mode. ``PrefixStates`` keeps the evaluated KV state of that fixed prefix per prompt
kind and restores it before a call whose context no longer holds it (another mode ran, a
benchmark, a reset), so only the item itself is evaluated. Prompt evaluation (a batch: it
scales with cores) runs on all cores; token-by-token generation keeps its own, smaller thread
count, as before.
"""

from __future__ import annotations

import collections
import ctypes
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

log = logging.getLogger(__name__)

CONTEXT_TOKENS = 2048  # the context every GGUF generator is loaded with (and memory is estimated for)



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


def batch_threads(generation_threads: int = 1, own_load: float = 0.0) -> int:
    """Threads for prompt evaluation now: every logical core the machine has free, at least the
    generation's own count. A batch scales with cores on a quiet machine, but llama.cpp's workers
    spin: on 2 cores with other jobs holding both (load average 12), a 292-token prompt took
    4.2 s on 1 thread and 11.0 s on 2, a restored prefix's suffix 0.2 s and 1.6-2.9 s.

    ``own_load``: the share of the load average that this generator's own recent calls make up
    (OwnLoad). Without it, an analyst explaining one item after another on a quiet machine kept
    the machine "busy" with the previous explanation and got one thread: 2.4 s to the first
    token of a chain explanation instead of 1.4 s (bench_reasoning --only prefix, 2 cores)."""
    import os

    import psutil

    cores = max(1, psutil.cpu_count(logical=True) or 1)
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform: assume quiet
        load = 0.0
    load = max(0.0, load - own_load)
    return max(generation_threads, min(cores, int(cores - load + 0.5)))


class OwnLoad:
    """What this generator's own calls add to the 1-minute load average: each call's busy
    thread-seconds, decayed the way the kernel decays the load average (e^(-age/60 s))."""

    WINDOW_S = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._calls: collections.deque[tuple[float, float]] = collections.deque(maxlen=256)

    def record(self, busy_thread_s: float) -> None:
        self._calls.append((self._clock(), max(0.0, busy_thread_s)))

    def __call__(self) -> float:
        now = self._clock()
        return sum(busy / self.WINDOW_S * math.exp(-(now - ended) / self.WINDOW_S)
                   for ended, busy in self._calls if now - ended < 5 * self.WINDOW_S)


class LlamaGenerator:
    def __init__(self, path: Path, n_threads: int = 0, n_ctx: int = CONTEXT_TOKENS, seed: int = 0,
                 n_threads_batch: int = 0, prefix_states: int = 4) -> None:
        from llama_cpp import Llama

        self.threads = n_threads or default_threads()
        self.fixed_batch_threads = n_threads_batch  # 0: chosen per call from the free cores
        self.own_load = OwnLoad()
        self.batch_threads = n_threads_batch or batch_threads(self.threads)
        self.path = Path(path)
        self._llm = Llama(model_path=str(self.path), n_ctx=n_ctx, n_threads=self.threads,
                          n_threads_batch=self.batch_threads, seed=seed, verbose=False)
        self.prefixes = PrefixStates(self._llm, prefix_states)

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
             should_abort: Callable[[], bool] | None = None, reuse_prefix: bool = True) -> Generation:
        """Stream a chat completion; ``on_token`` sees each piece as it arrives.

        ``reuse_prefix``: restore the evaluated state of everything before the last message when
        an earlier call with the same leading messages saved it (and save it after this call).

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
        wanted = self.fixed_batch_threads or batch_threads(self.threads, self.own_load())
        if wanted != self.batch_threads:
            self._llm._ctx.set_n_threads(self.threads, wanted)
            self.batch_threads = wanted
        key = self.prefixes.key(messages[:-1]) if reuse_prefix and len(messages) > 1 else None
        if key is not None:
            self.prefixes.restore(key)
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
        total_s = time.perf_counter() - started
        prompt_s = first_ms / 1000 if pieces else total_s
        self.own_load.record(prompt_s * wanted + (total_s - prompt_s) * self.threads)
        text = "".join(pieces)
        # llama-cpp-python streams one chunk per token and keeps prompt + completion in its
        # context, so this matches the `usage` block of a non-streamed call exactly.
        prompt_tokens = max(0, int(self._llm.n_tokens) - completion_tokens)
        if key is not None and completion_tokens and key not in self.prefixes:
            self.prefixes.save(key, prompt_tokens, str(messages[-1].get("content", "")))
        return Generation(text, prompt_tokens, completion_tokens, first_ms,
                          (time.perf_counter() - started) * 1000)


class PrefixStates:
    """Evaluated KV states of fixed prompt prefixes, by the leading messages that produce them.

    The prefix's tokens are taken from the prompt llama.cpp actually evaluated (whatever the chat
    template), cut where the last message's content begins. Saved with llama.cpp's per-sequence
    state API (the KV cells only: ~20 MB for SmolLM2's 1,000-token prefix, no logits), at most
    ``capacity`` of them, least recently used dropped first. A restore clears the context's
    memory and loads the prefix; llama-cpp-python's own prefix match then evaluates the rest.
    """

    def __init__(self, llm, capacity: int = 4) -> None:
        self._llm = llm
        self.capacity = max(0, int(capacity))
        self._states: collections.OrderedDict[str, tuple[list[int], bytes]] = collections.OrderedDict()
        self.hits = self.misses = self.restores = 0

    @staticmethod
    def key(messages: list[dict]) -> str:
        return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def __contains__(self, key: str) -> bool:
        return key in self._states

    def tokens(self, key: str) -> int:
        return len(self._states[key][0]) if key in self._states else 0

    def restore(self, key: str) -> bool:
        """Make the context start with the saved prefix of ``key``; False when none is saved."""
        import llama_cpp

        if key not in self._states:
            self.misses += 1
            return False
        self.hits += 1
        self._states.move_to_end(key)
        tokens, data = self._states[key]
        llm, n = self._llm, len(tokens)
        if llm.n_tokens >= n and list(llm.input_ids[:n]) == tokens:
            return True  # still in the context: llama-cpp-python's prefix match reuses it as is
        llm._ctx.kv_cache_clear()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, buffer, len(data), 0) != len(data):
            llm.reset()
            llm._ctx.kv_cache_clear()
            self._states.pop(key, None)
            log.warning("prefix state could not be restored; evaluating the whole prompt")
            return False
        llm.input_ids[:n] = tokens
        llm.n_tokens = n
        llm._requires_eval = True  # the logits are not the prefix's: the suffix decode refreshes them
        self.restores += 1
        return True

    def save(self, key: str, prompt_tokens: int, last_content: str) -> bool:
        """After a call: keep the state of the prompt up to where ``last_content`` begins."""
        import llama_cpp

        if self.capacity == 0:
            return False
        llm = self._llm
        prompt = [int(t) for t in llm.input_ids[:prompt_tokens]]
        content = llm.tokenize(last_content.encode("utf-8"), add_bos=False, special=True)[1:]
        cut = _find_tail(prompt, content)
        if cut is None or cut < 16:
            return False
        # Keep only the prefix in the context (the completion is not worth keeping), then copy it.
        if not llm._ctx.kv_cache_seq_rm(0, cut, -1):
            return False
        llm.n_tokens = cut
        llm._requires_eval = True
        size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, buffer, size, 0)
        if not written:
            return False
        self._states[key] = (prompt[:cut], bytes(buffer[:written]))
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)
        return True


def _find_tail(prompt: list[int], content: list[int]) -> int | None:
    """Where the last message's content starts in the prompt, less one token: the token before it
    may have merged with the content's first one (BPE across the boundary)."""
    if not content or len(content) > len(prompt):
        return None
    first = content[0]
    for start in range(len(prompt) - len(content), -1, -1):
        if prompt[start] == first and prompt[start:start + len(content)] == content:
            return max(0, start - 1)
    return None


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

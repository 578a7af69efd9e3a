"""What a GGUF file needs in memory, read from its header before anything loads it.

A GGUF file starts with a header: metadata key/value pairs (architecture, layer count, training
context length, attention heads…) and one entry per tensor (name, shape, type, offset into the
data section that follows). From it: the weights (the data section's size, tensor by tensor), the
KV cache at the context the desk uses (layers x context x (K + V) heads x head size, f16), and the
logits and compute buffers (proportional to the batch and vocabulary). Summed and set against the
RAM available now, before a multi-gigabyte file is loaded, as LM Studio and GPT4All show it.

The header is untrusted input: every count and length is bounded, and a file that breaks a bound
or ends early is refused with one message. Written here rather than with the ``gguf`` package
(the reference reader, used by the tests to check this one) because that package imports PyYAML
and requests, which the installer leaves out, and only the header is needed.
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from engine.generation.llama_backend import CONTEXT_TOKENS

__all__ = ["CONTEXT_TOKENS", "GGUFError", "GGUFHeader", "MemoryEstimate", "cached_header", "estimate_memory",
           "read_header"]

MAGIC = b"GGUF"
MAX_TENSORS = 1_000_000
MAX_KV = 100_000
MAX_STRING = 16 * 1024 * 1024  # a chat template or merges entry; far beyond any real one
MAX_ARRAY = 50_000_000
MAX_DIMS = 8
DEFAULT_ALIGNMENT = 32
KV_BYTES = 2  # llama.cpp's default cache type is f16 for K and V
# The compute graph holds a batch of logits (n_batch x n_vocab float32) and activations, plus a
# fixed working set. Checked against SmolLM2-135M on this machine: estimated 262 MB at 2,048
# tokens, measured RSS +189 MB after loading and a 1,200-token prompt (KV cache partly used):
# an upper estimate, as a "will it fit" answer should be.
BATCH = 512
FIXED_OVERHEAD_MB = 20.0

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class GGUFError(ValueError):
    """The file is not a GGUF file this reader accepts; the message says why."""


@dataclass(frozen=True)
class GGUFHeader:
    version: int
    metadata: dict[str, Any]  # arrays of more than 64 items are kept as their length only
    array_lengths: dict[str, int]
    tensor_bytes: dict[str, int]  # name -> bytes in the data section
    data_offset: int
    file_size: int

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def arch(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}", default)


class _Reader:
    def __init__(self, fh: BinaryIO, size: int) -> None:
        self._fh, self._size = fh, size

    def take(self, n: int) -> bytes:
        data = self._fh.read(n)
        if len(data) != n:
            raise GGUFError("the file ends inside its header")
        return data

    def scalar(self, kind: int) -> Any:
        fmt = _SCALARS[kind]
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def u32(self) -> int:
        return self.scalar(4)

    def u64(self) -> int:
        return self.scalar(10)

    def string(self, limit: int = MAX_STRING) -> str:
        n = self.u64()
        if n > limit:
            raise GGUFError(f"a header string of {n:,} bytes is over the {limit:,}-byte limit")
        return self.take(n).decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        n = self.u64()
        if n > MAX_STRING:
            raise GGUFError(f"a header string of {n:,} bytes is over the {MAX_STRING:,}-byte limit")
        self._fh.seek(n, os.SEEK_CUR)

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.scalar(kind)
        if kind == _STRING:
            if keep:
                return self.string()
            self.skip_string()
            return None
        if kind == _ARRAY:
            item_kind, count = self.u32(), self.u64()
            if count > MAX_ARRAY:
                raise GGUFError(f"an array of {count:,} items is over the {MAX_ARRAY:,} limit")
            if item_kind in _SCALARS and count > 64:
                self._fh.seek(struct.calcsize(_SCALARS[item_kind]) * count, os.SEEK_CUR)
                return _Length(count)
            if item_kind not in _SCALARS and item_kind not in (_STRING, _ARRAY):
                raise GGUFError(f"unknown value type {item_kind}")
            small = count <= 64
            items = [self.value(item_kind, keep and small) for _ in range(count)]
            return items if small else _Length(count)
        raise GGUFError(f"unknown value type {kind}")


class _Length(int):
    """An array too long to keep: only its length."""


def read_header(path: str | Path) -> GGUFHeader:
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        r = _Reader(fh, size)
        if r.take(4) != MAGIC:
            raise GGUFError(f"{path.name} is not a GGUF file (bad magic bytes)")
        version = r.u32()
        if version not in (2, 3):
            raise GGUFError(f"{path.name}: GGUF version {version} is not supported (2 or 3)")
        n_tensors, n_kv = r.u64(), r.u64()
        if n_tensors > MAX_TENSORS or n_kv > MAX_KV:
            raise GGUFError(f"{path.name}: {n_tensors:,} tensors / {n_kv:,} metadata keys is over the limit")
        metadata: dict[str, Any] = {}
        lengths: dict[str, int] = {}
        for _ in range(n_kv):
            key = r.string(65_536)
            value = r.value(r.u32())
            if isinstance(value, _Length):
                lengths[key] = int(value)
            else:
                metadata[key] = value
                if isinstance(value, list):
                    lengths[key] = len(value)
        offsets: list[tuple[int, str]] = []
        for _ in range(n_tensors):
            name = r.string(65_536)
            dims = r.u32()
            if dims > MAX_DIMS:
                raise GGUFError(f"{path.name}: tensor {name!r} has {dims} dimensions")
            fh.seek(8 * dims + 4, os.SEEK_CUR)  # the shape and type: sizes come from the offsets
            offsets.append((r.u64(), name))
        alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
        data_offset = -(-fh.tell() // alignment) * alignment
    if data_offset > size:
        raise GGUFError(f"{path.name}: the header runs past the end of the file")
    offsets.sort()
    ends = [o for o, _ in offsets[1:]] + [size - data_offset]
    tensor_bytes = {}
    for (offset, name), end in zip(offsets, ends):
        if end < offset or data_offset + end > size:
            raise GGUFError(f"{path.name}: tensor {name!r} lies outside the file")
        tensor_bytes[name] = end - offset
    return GGUFHeader(version, metadata, lengths, tensor_bytes, data_offset, size)


@dataclass(frozen=True)
class MemoryEstimate:
    """What loading a GGUF generator at ``context`` tokens is expected to need, in MB."""

    architecture: str
    layers: int
    context: int
    trained_context: int
    weights_mb: float
    kv_cache_mb: float
    compute_mb: float
    available_mb: float | None = None  # RAM available when estimated

    @property
    def total_mb(self) -> float:
        return self.weights_mb + self.kv_cache_mb + self.compute_mb

    @property
    def fits(self) -> bool | None:
        from engine.models.budget import RAM_HEADROOM

        return None if self.available_mb is None else self.total_mb <= self.available_mb * RAM_HEADROOM

    def describe(self) -> str:
        parts = (f"~{self.total_mb:,.0f} MB (weights {self.weights_mb:,.0f} + KV cache {self.kv_cache_mb:,.0f} "
                 f"at {self.context:,} tokens + compute {self.compute_mb:,.0f}; {self.architecture}, "
                 f"{self.layers} layers)")
        if self.available_mb is None:
            return parts
        verdict = "fits" if self.fits else "does not fit"
        return f"{verdict}: needs {parts}, {self.available_mb:,.0f} MB available"

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, "layers": self.layers, "context": self.context,
                "trained_context": self.trained_context, "weights_mb": round(self.weights_mb, 1),
                "kv_cache_mb": round(self.kv_cache_mb, 1), "compute_mb": round(self.compute_mb, 1),
                "total_mb": round(self.total_mb, 1), "available_mb": None if self.available_mb is None
                else round(self.available_mb, 1), "fits": self.fits, "text": self.describe()}


def _per_layer(value: Any, layers: int) -> list[int]:
    if isinstance(value, list):
        return [int(v) for v in value[:layers]] + [int(value[-1])] * max(0, layers - len(value)) if value else []
    return [int(value)] * layers


def estimate_memory(header: GGUFHeader, context: int, available_mb: float | None = None) -> MemoryEstimate:
    layers = int(header.arch("block_count", 0) or 0)
    trained = int(header.arch("context_length", 0) or 0)
    ctx = min(context, trained) if trained else context
    embd = int(header.arch("embedding_length", 0) or 0)
    heads = header.arch("attention.head_count", 1) or 1
    heads_kv = header.arch("attention.head_count_kv", heads) or heads
    head_max = max(heads) if isinstance(heads, list) else int(heads)
    key_len = int(header.arch("attention.key_length", embd // max(1, head_max)) or 0)
    value_len = int(header.arch("attention.value_length", key_len) or 0)
    kv_heads = _per_layer(heads_kv, layers)
    kv_bytes = sum(ctx * h * (key_len + value_len) * KV_BYTES for h in kv_heads)
    vocab = int(header.array_lengths.get("tokenizer.ggml.tokens", 0) or header.arch("vocab_size", 0) or 0)
    compute_bytes = BATCH * vocab * 4 + BATCH * embd * 4 * 8
    weights = sum(header.tensor_bytes.values())
    return MemoryEstimate(header.architecture, layers, ctx, trained, weights / 2**20, kv_bytes / 2**20,
                          compute_bytes / 2**20 + FIXED_OVERHEAD_MB, available_mb)


_CACHE: dict[tuple[str, int, float], GGUFHeader] = {}
_CACHE_LOCK = threading.Lock()


def cached_header(path: str | Path) -> GGUFHeader:
    """``read_header`` once per file version (path, size, mtime): the Models panel asks often."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    header = read_header(path)
    with _CACHE_LOCK:
        _CACHE[key] = header
    return header

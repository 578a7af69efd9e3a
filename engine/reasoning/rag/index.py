"""A FAISS index over stored signals and analyst notes, for retrieval-grounded rationales.

* Cosine similarity: embeddings are unit vectors (normalised inside the ONNX graph, and again
  here as a guard), so inner product is cosine.
* Exact ``IndexFlatIP`` while small; above ``ivf_threshold`` vectors the index is rebuilt as
  ``IndexIVFFlat`` (inner product, ``nlist ~ 4 sqrt(n)``, trained on the stored vectors), and
  retrained when it has grown fourfold since its training, so the clustering keeps up.
* SQLite (``rag_documents``) is the source of truth: one row per indexed item, its FAISS id is
  the row id, and the text is kept so the index can always be rebuilt. The FAISS file is a
  cache of the embeddings: written with ``faiss.write_index`` (atomically, via a side file),
  described by a small JSON file (embedding model, kind, count, last row indexed). No pickle.
  If the files disagree with the table (crash between the two writes, another embedding
  model) the index is rebuilt from the table.
* Incremental: ``sync()`` copies new signals and notes into the table with two INSERT ...
  SELECT statements, then embeds and adds only rows past the last one indexed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)


def _import_faiss():
    """FAISS, imported without its loader's INFO lines: trying each CPU build in turn, it logs a
    ``ModuleNotFoundError`` traceback for every build it does not ship, which reads as a failure to
    an operator. One line instead says which build loaded."""
    loader_log = logging.getLogger("faiss.loader")
    level = loader_log.level
    loader_log.setLevel(logging.WARNING)
    try:
        import faiss as module
    finally:
        loader_log.setLevel(level)
    try:
        build = module.get_compile_options().strip() or "generic"
    except Exception:  # older builds have no get_compile_options: the version says enough
        build = "generic"
    log.info("FAISS %s loaded (CPU build: %s)", getattr(module, "__version__", "?"), build)
    return module


faiss = _import_faiss()

# One query at a time never gains from OpenMP, and on a small shared machine its spinning
# workers lose badly: 10k flat search p50 30 ms with 2 threads, 0.7 ms with 1 (2 busy cores).
# FAISS is used only here, so the process-wide setting is ours to make.
faiss.omp_set_num_threads(1)

INDEX_FILE, META_FILE = "index.faiss", "index.json"
META_VERSION = 1


@dataclass(frozen=True)
class Retrieved:
    id: str  # "signal:12" or "note:3": what a rationale cites
    kind: str
    ref_id: int
    score: float  # cosine similarity
    text: str
    at: float  # unix seconds
    label: str | None  # classifier label for signals, None for notes

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "ref_id": self.ref_id, "score": round(self.score, 4),
                "text": self.text, "at": self.at, "label": self.label}


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norms, 1e-12), dtype=np.float32)


class VectorIndex:
    """FAISS only (no SQL): flat below a size threshold, IVF above it; ids are int64."""

    def __init__(self, dim: int, *, ivf_threshold: int = 20_000, nprobe: int = 16) -> None:
        self.dim = int(dim)
        self.ivf_threshold = max(1, int(ivf_threshold))
        self.nprobe = max(1, int(nprobe))
        self.trained_on = 0
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._quantizer: Any = None  # kept referenced: the IVF index does not own it

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self._index, faiss.IndexIVFFlat) else "flat"

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    @property
    def nlist(self) -> int:
        return int(self._index.nlist) if self.kind == "ivf" else 0

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        ids_arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        x = _unit_rows(vectors)
        if x.shape != (len(ids_arr), self.dim):
            raise ValueError(f"expected {len(ids_arr)} vectors of {self.dim}, got {x.shape}")
        if not len(ids_arr):
            return
        total = self.ntotal + len(ids_arr)
        if (self.kind == "flat" and total > self.ivf_threshold) or (
                self.kind == "ivf" and total > 4 * max(1, self.trained_on)):
            ids_all, x_all = self.vectors()
            self._build_ivf(np.concatenate([ids_all, ids_arr]), np.concatenate([x_all, x]))
            return
        self._index.add_with_ids(x, ids_arr)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of everything indexed, in no particular order."""
        if self.ntotal == 0:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        if self.kind == "flat":
            ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids, faiss.downcast_index(self._index.index).reconstruct_n(0, self.ntotal)
        ids = self._ivf_ids()
        return ids, self._index.reconstruct_batch(ids)

    def _ivf_ids(self) -> np.ndarray:
        # The hashtable direct map knows every id; ask it through a full search-free scan.
        found = []
        invlists = self._index.invlists
        for list_no in range(self._index.nlist):
            size = invlists.list_size(list_no)
            if size:
                ptr = invlists.get_ids(list_no)
                found.append(faiss.rev_swig_ptr(ptr, size).copy())
                invlists.release_ids(list_no, ptr)
        return np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)

    def _build_ivf(self, ids: np.ndarray, x: np.ndarray) -> None:
        n = len(ids)
        nlist = int(min(4096, max(16, 4 * math.sqrt(n))))
        nlist = min(nlist, max(1, n // 39))  # faiss wants ~39 training points per centroid
        started = time.perf_counter()
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = 1234  # reproducible clustering
        sample = x if n <= 256 * nlist else x[np.random.default_rng(0).choice(n, 256 * nlist, replace=False)]
        ivf.train(sample)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # lets a retrain get the vectors back
        ivf.add_with_ids(x, ids)
        ivf.nprobe = min(self.nprobe, nlist)
        self._index, self._quantizer, self.trained_on = ivf, quantizer, n
        log.info("RAG index rebuilt as IVF (%d vectors, nlist %d) in %.1f s", n, nlist,
                 time.perf_counter() - started)

    def search(self, query: np.ndarray, k: int, min_score: float = -1.0,
               exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """Top ``k`` (id, cosine) with cosine >= ``min_score``, best first."""
        if self.ntotal == 0 or k <= 0:
            return []
        excluded = set(int(e) for e in exclude)
        q = _unit_rows(query)
        scores, ids = self._index.search(q, min(self.ntotal, k + len(excluded)))
        out = [(int(i), float(s)) for i, s in zip(ids[0], scores[0])
               if i >= 0 and int(i) not in excluded and s >= min_score]
        return out[:k]

    def save(self, path: Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".part")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, ivf_threshold: int, nprobe: int, trained_on: int) -> "VectorIndex":
        index = faiss.read_index(str(path))
        out = cls(index.d, ivf_threshold=ivf_threshold, nprobe=nprobe)
        if isinstance(index, faiss.IndexIVFFlat):
            index.nprobe = min(out.nprobe, index.nlist)  # not stored in the file
            out.trained_on = int(trained_on) or int(index.ntotal)
        elif not isinstance(index, faiss.IndexIDMap2):
            raise ValueError(f"{path}: unexpected FAISS index type {type(index).__name__}")
        out._index = index
        return out


Embedder = Callable[[Sequence[str]], np.ndarray]


class RagIndex:
    """Stored signals and analyst notes, searchable by meaning; see the module docstring."""

    def __init__(self, store: Any, folder: Path | None, embedder: Callable[[], tuple[Any, str]], *,
                 ivf_threshold: int = 20_000, nprobe: int = 16, batch: int = 256) -> None:
        """``embedder()`` returns (object with ``embed(texts)``, "model_id@version")."""
        self._store = store
        self.folder = Path(folder) if folder else None
        self._embedder = embedder
        self.ivf_threshold, self.nprobe, self.batch = ivf_threshold, nprobe, max(1, batch)
        self._lock = threading.RLock()
        self._index: VectorIndex | None = None
        self._model = ""
        self._last_row = 0  # highest rag_documents.faiss_id in the FAISS index

    # --- persistence ---------------------------------------------------------------------
    def _paths(self) -> tuple[Path, Path] | None:
        if self.folder is None:
            return None
        return self.folder / INDEX_FILE, self.folder / META_FILE

    def _open(self, model: str, dim: int) -> None:
        if self._index is not None and self._model == model:
            return
        self._index, self._model, self._last_row = None, model, 0
        paths = self._paths()
        if paths is not None and paths[0].is_file() and paths[1].is_file():
            try:
                meta = json.loads(paths[1].read_text(encoding="utf-8"))
                index = VectorIndex.load(paths[0], ivf_threshold=self.ivf_threshold, nprobe=self.nprobe,
                                         trained_on=int(meta.get("trained_on", 0)))
                rows = self._store.query("SELECT COUNT(*) FROM rag_documents WHERE faiss_id <= ?",
                                         (int(meta["last_row"]),))[0][0]
                if (meta.get("version") == META_VERSION and meta.get("model") == model
                        and index.dim == dim and index.ntotal == int(meta["ntotal"]) == rows):
                    self._index, self._last_row = index, int(meta["last_row"])
                    return
                log.info("RAG index files do not match the table or the model; rebuilding")
            except Exception as exc:  # a damaged cache file is rebuilt, never fatal
                log.warning("RAG index could not be read (%s); rebuilding", exc)
        self._index = VectorIndex(dim, ivf_threshold=self.ivf_threshold, nprobe=self.nprobe)

    def _save(self) -> None:
        paths = self._paths()
        if paths is None or self._index is None:
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        self._index.save(paths[0])
        meta = {"version": META_VERSION, "model": self._model, "dim": self._index.dim,
                "kind": self._index.kind, "ntotal": self._index.ntotal, "last_row": self._last_row,
                "trained_on": self._index.trained_on, "saved_at": time.time()}
        tmp = paths[1].with_name(paths[1].name + ".part")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, paths[1])

    # --- content -------------------------------------------------------------------------
    def add_note(self, text: str, *, signal_id: int | None = None, author: str = "analyst") -> int:
        text = (text or "").strip()
        if not text:
            raise ValueError("a note needs some text")
        rows = self._store.query("INSERT INTO analyst_notes (created_at, author, signal_id, text) "
                                 "VALUES (?,?,?,?) RETURNING id", (time.time(), author, signal_id, text))
        return int(rows[0][0])

    def sync(self) -> int:
        """Index whatever was stored since the last call; returns how many items were added."""
        with self._lock:
            self._store.execute(
                "INSERT OR IGNORE INTO rag_documents (kind, ref_id, text, at, label) "
                "SELECT 'signal', id, text, received_at, label FROM signals WHERE id > "
                "(SELECT COALESCE(MAX(ref_id), 0) FROM rag_documents WHERE kind = 'signal') ORDER BY id")
            self._store.execute(
                "INSERT OR IGNORE INTO rag_documents (kind, ref_id, text, at, label) "
                "SELECT 'note', n.id, n.text, n.created_at, NULL FROM analyst_notes n WHERE NOT EXISTS "
                "(SELECT 1 FROM rag_documents d WHERE d.kind = 'note' AND d.ref_id = n.id) ORDER BY n.id")
            embedder, model = self._embedder()
            added = 0
            while True:
                self._open(model, int(getattr(embedder, "dim", 384)))
                rows = self._store.query(
                    "SELECT faiss_id, text FROM rag_documents WHERE faiss_id > ? ORDER BY faiss_id LIMIT ?",
                    (self._last_row, self.batch))
                if not rows:
                    break
                vectors = embedder.embed([r[1] for r in rows])
                self._index.add([r[0] for r in rows], vectors)
                self._last_row = int(rows[-1][0])
                added += len(rows)
            if added:
                self._save()
                log.info("RAG index: %d item(s) added, %d in total (%s)", added, self._index.ntotal,
                         self._index.kind)
            return added

    def search(self, text: str, *, k: int = 5, min_score: float = 0.5,
               exclude: Iterable[str] = ()) -> list[Retrieved]:
        """Top ``k`` items at least ``min_score`` similar to ``text``; excluded ids and items with
        the very same text (the item itself, stored earlier) are left out."""
        with self._lock:
            embedder, model = self._embedder()
            self._open(model, int(getattr(embedder, "dim", 384)))
            if self._index.ntotal == 0:
                return []
            query = embedder.embed([text])[0]
            excluded_rows = self._rows_for(exclude)
            hits = self._index.search(query, k + 4, min_score, excluded_rows)
        if not hits:
            return []
        marks = ",".join("?" * len(hits))
        rows = {r[0]: r for r in self._store.query(
            f"SELECT faiss_id, kind, ref_id, text, at, label FROM rag_documents WHERE faiss_id IN ({marks})",
            tuple(h[0] for h in hits))}
        same = " ".join(text.split()).casefold()
        out: list[Retrieved] = []
        for row_id, score in hits:
            row = rows.get(row_id)
            if row is None or " ".join(row[3].split()).casefold() == same:
                continue
            out.append(Retrieved(f"{row[1]}:{row[2]}", row[1], int(row[2]), float(score), row[3], float(row[4]),
                                 row[5]))
        return out[:k]

    def _rows_for(self, ids: Iterable[str]) -> list[int]:
        rows: list[int] = []
        for item in ids:
            kind, _, ref = str(item).partition(":")
            if kind in ("signal", "note") and ref.isdigit():
                found = self._store.query("SELECT faiss_id FROM rag_documents WHERE kind = ? AND ref_id = ?",
                                          (kind, int(ref)))
                rows.extend(int(r[0]) for r in found)
        return rows

    def stats(self) -> dict:
        with self._lock:
            index = self._index
            return {"kind": index.kind if index else "none", "ntotal": index.ntotal if index else 0,
                    "nlist": index.nlist if index else 0, "model": self._model,
                    "file": str(self._paths()[0]) if self._paths() else None}

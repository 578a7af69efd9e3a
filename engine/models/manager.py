"""ModelManager: which model serves each task, and everything that changes that.

Thread model: ``acquire(task)`` hands out the active runtime for one batch under a lock, so a
switch from another thread takes effect between batches and never splits or repeats an item.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.config import Config
from engine.hardware import HardwareProfile
from engine.models import TASKS
from engine.models.benchmark import BenchmarkResult, machine_id, run_benchmark
from engine.models.cache import LoadedModel, ModelCache
from engine.models.compat import Compatibility, check
from engine.models.loaders import load_model
from engine.models.registry import (ModelRegistryError, describe_endpoint, describe_user_model, desk_spec,
                                    shipped_specs, user_spec)
from engine.models.select import PRIORITIES, Candidate, select
from engine.models.spec import ModelSpec, model_source
from engine.types import ModelStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelEvent:
    kind: str  # loaded | switched | fallback | evicted | unloaded | failed | added | removed
    task: str
    model_id: str
    message: str
    at: float


@dataclass(frozen=True)
class ModelInfo:
    id: str
    task: str
    backend: str
    version: str
    origin: str
    size_mb: float
    # active | loaded | available | incompatible | not installed | missing. "not installed": an
    # optional model whose package is not in this installation (reason says how to add it);
    # "missing": files that should be there are not (a broken install or a moved user folder).
    status: str
    compatible: bool
    reason: str
    active: bool
    benchmark: dict | None
    licence: str
    memory_mb: float | None
    quality: float | None
    how_to_add: tuple[str, ...] = ()  # for "not installed": the ways to add the model, for people
    # GGUF generators: what loading needs against the RAM available now, from the file's header
    # (engine/models/gguf.py MemoryEstimate.to_dict(): weights/KV cache/compute/total MB, fits, text).
    memory_estimate: dict | None = None
    source: str = ""  # "local file X.gguf" | "endpoint HOST, model NAME" | the folder, for people

    def to_dict(self) -> dict:
        return {"task": self.task, "id": self.id, "backend": self.backend, "version": self.version,
                "origin": self.origin, "size_mb": self.size_mb, "status": self.status,
                "compatible": self.compatible, "reason": self.reason, "active": self.active,
                "benchmark": self.benchmark, "licence": self.licence, "memory_mb": self.memory_mb,
                "quality": self.quality, "how_to_add": list(self.how_to_add),
                "memory_estimate": self.memory_estimate, "source": self.source}


class ModelSwitchError(RuntimeError):
    """A requested switch cannot happen; the active model is unchanged."""


class ModelManager:
    def __init__(self, config: Config, data_dir: Path | None, store: Any, hardware: Callable[[], HardwareProfile]) -> None:
        self.config = config
        self.data_dir = data_dir
        self._store = store
        self._hardware = hardware
        self._lock = threading.RLock()
        self._listeners: list[Callable[[ModelEvent], None]] = []
        self._cache = ModelCache(config.model_memory_limit_mb, config.max_model_cache_size,
                                 config.model_idle_unload_s, on_event=self._cache_event)
        self._active: dict[str, str] = {}
        self._explanations: dict[str, str] = {}
        self._degraded: dict[str, str] = {}
        self._failed: dict[str, str] = {}  # model id -> why it failed to load this session
        self._latencies: dict[str, collections.deque] = {}
        self._benchmarks: dict[str, BenchmarkResult] = {}
        self._specs: dict[str, ModelSpec] = {}
        self.reload_registry()

    # --- registry ------------------------------------------------------------------------
    def reload_registry(self) -> None:
        with self._lock:
            specs = shipped_specs(self.data_dir)
            if self._store is not None:
                for (raw,) in self._store.query("SELECT manifest FROM user_models ORDER BY added_at"):
                    specs.append(user_spec(json.loads(raw)))
                installed = {s.id: s for s in specs}
                for model_id, path, raw in self._store.query("SELECT id, path, manifest FROM desk_models ORDER BY number"):
                    specs.append(desk_spec(model_id, path, json.loads(raw), installed))
            self._specs = {s.id: s for s in specs}
            self._benchmarks = self._load_benchmarks()

    def specs(self, task: str | None = None) -> list[ModelSpec]:
        with self._lock:
            return [s for s in self._specs.values() if task is None or s.task == task]

    def spec(self, model_id: str) -> ModelSpec:
        with self._lock:
            if model_id not in self._specs:
                raise ModelRegistryError(f"no model {model_id!r}; `signaldesk models` lists them")
            return self._specs[model_id]

    def add_user_model(self, path: Path, task: str | None = None, labels: list[str] | None = None,
                       model_id: str | None = None) -> ModelInfo:
        self._need_store()
        manifest = describe_user_model(path, task, labels, model_id)
        if manifest["backend"] == "llama_cpp":
            from engine.models.gguf import GGUFError, read_header

            try:  # a file whose header does not read is refused before anything stores it
                read_header(manifest["source_path"])
            except GGUFError as exc:
                raise ModelRegistryError(str(exc)) from None
        return self._register(manifest, f"{manifest['id']} added from {manifest['source_path']}")

    def add_endpoint(self, url: str, model: str, *, api_key_env: str = "", model_id: str | None = None,
                     check: bool = True) -> ModelInfo:
        """Register an OpenAI-compatible endpoint as a generation model (after a health check):
        it answers, and serves ``model``. Only the key's environment variable name is stored."""
        self._need_store()
        manifest = describe_endpoint(url, model, api_key_env, model_id)
        if check:
            from engine.generation.endpoint_backend import EndpointError, EndpointGenerator, check_config

            try:
                EndpointGenerator(check_config(url, model, api_key_env)).health()
            except EndpointError as exc:
                raise ModelRegistryError(f"health check failed: {exc}") from None
        return self._register(manifest, f"{manifest['id']} added: endpoint {manifest['source_path']}, model {model}")

    def _need_store(self) -> None:
        if self._store is None:
            raise ModelRegistryError("user models need a data folder to be remembered")

    def _register(self, manifest: dict, message: str) -> ModelInfo:
        with self._lock:
            if manifest["id"] in self._specs:
                raise ModelRegistryError(f"a model with id {manifest['id']!r} already exists; pass another id")
            self._store.execute(
                "INSERT INTO user_models (id, task, backend, path, manifest, added_at) VALUES (?,?,?,?,?,?)",
                (manifest["id"], manifest["task"], manifest["backend"], manifest["source_path"],
                 json.dumps(manifest), time.time()))
            spec = user_spec(manifest)
            self._specs[spec.id] = spec
        self._emit("added", spec.task, spec.id, message)
        return self.info(spec.id)

    def remove_user_model(self, model_id: str) -> None:
        spec = self.spec(model_id)
        if spec.origin != "user":
            raise ModelRegistryError(f"{model_id} ships with SignalDesk and cannot be removed")
        with self._lock:
            self._cache.unload(model_id, "unloaded: model removed")
            self._store.execute("DELETE FROM user_models WHERE id = ?", (model_id,))
            self._store.execute("DELETE FROM model_choices WHERE model_id = ?", (model_id,))
            del self._specs[model_id]
            was_active = self._active.get(spec.task) == model_id
            if was_active:
                del self._active[spec.task]
        self._emit("removed", spec.task, model_id, f"{model_id} removed (its files were not touched)")
        if was_active:
            self.active(spec.task)

    # --- compatibility and selection -----------------------------------------------------
    def _budget_ms(self, task: str) -> float:
        return {"sentiment": self.config.sentiment_latency_budget_ms,
                "embedding": self.config.embedding_latency_budget_ms,
                "generation": self.config.generation_latency_budget_ms}[task]

    def compatibility(self, spec: ModelSpec) -> Compatibility:
        if spec.id in self._failed:
            return Compatibility(False, f"failed to load: {self._failed[spec.id]}", None)
        bench = self._benchmarks.get(spec.id)
        measured = bench.p95_ms if bench is not None and bench.version == spec.version else None
        return check(spec, self._hardware(), memory_budget_mb=self.config.model_memory_limit_mb,
                     latency_budget_ms=self._budget_ms(spec.task), measured_p95_ms=measured)

    def _candidates(self, task: str) -> list[Candidate]:
        out = []
        for spec in self.specs(task):
            bench = self._benchmarks.get(spec.id)
            quality = bench.weighted_f1 if bench is not None and bench.version == spec.version else None
            out.append(Candidate(spec, self.compatibility(spec), quality))
        return out

    def _preferred(self, task: str) -> str | None:
        configured = getattr(self.config, f"{task}_model", "auto")
        if configured and configured != "auto":
            return "lexicon-fin" if configured == "lexicon" else configured
        if self._store is not None:
            rows = self._store.query("SELECT model_id FROM model_choices WHERE task = ?", (task,))
            if rows:
                return rows[0][0]
        return None

    def _choose(self, task: str, exclude: set[str] = frozenset()) -> ModelSpec | None:
        priority = self.config.model_priority if self.config.model_priority in PRIORITIES else "balanced"
        preferred = self._preferred(task)
        # A desk version serves only once promoted (the remembered choice), and an endpoint only when the
        # operator chose it (it may be remote or metered; an unknown latency must not win automatic
        # selection): neither is picked on its own.
        candidates = [c for c in self._candidates(task) if c.spec.id not in exclude
                      and ((c.spec.origin != "desk" and not c.spec.is_endpoint) or c.spec.id == preferred)]
        selection = select(task, candidates, self._hardware(), priority, preferred)
        self._explanations[task] = selection.explanation
        if preferred and selection.spec is not None and selection.spec.id != preferred:
            # The operator asked for something we cannot give: run, but say so.
            self._degraded[task] = selection.explanation.split("; ")[0]
        log.info("model selection: %s", selection.explanation)
        return selection.spec

    def explain(self, task: str) -> str:
        with self._lock:
            if task not in self._explanations:
                self._choose(task)
            return self._explanations[task]

    # --- activation ----------------------------------------------------------------------
    def active(self, task: str) -> ModelInfo | None:
        with self._lock:
            if task not in self._active:
                spec = self._choose(task)
                if spec is None:
                    return None
                self._active[task] = spec.id
            return self.info(self._active[task])

    def acquire(self, task: str) -> tuple[Any, ModelSpec]:
        """The loaded active model for one unit of work; falls back if loading fails."""
        tried: set[str] = set()
        while True:
            with self._lock:
                info = self.active(task)
                if info is None:
                    raise ModelSwitchError(f"no usable {task} model: {self._explanations.get(task, '')}")
                spec = self._specs[info.id]
            try:
                # Loading happens outside the manager lock so other tasks keep working meanwhile.
                return self._cache.get(spec, self._load), spec
            except Exception as exc:
                tried.add(spec.id)
                with self._lock:
                    self._failed[spec.id] = str(exc)
                    log.error("%s failed to load: %s", spec.id, exc)
                    fallback = self._choose(task, exclude=tried)
                    if fallback is None:
                        raise ModelSwitchError(f"no {task} model could be loaded; last error: {exc}") from exc
                    self._active[task] = fallback.id
                    reason = f"{spec.id} refused: {exc}"
                    self._degraded[task] = reason
                self._emit("fallback", task, fallback.id, f"{reason}; using {fallback.id} instead")

    @contextmanager
    def in_use(self, task: str) -> Iterator[tuple[Any, ModelSpec]]:
        """``acquire`` and pin the model for the block (engine/models/cache.py ``in_use``), so
        eviction and idle unload cannot close it under a long call such as a generation."""
        for _ in range(3):
            _, spec = self.acquire(task)  # loads it
            with ExitStack() as pinned:
                try:
                    pinned.enter_context(self._cache.in_use(spec.id))
                except KeyError:  # evicted between loading and pinning: try again
                    continue
                model, now = self.acquire(task)  # pinned, so this is the very model that stays loaded
                if now.id != spec.id:  # switched meanwhile: pin the new one instead
                    continue
                yield model, spec
                return
        raise ModelSwitchError(f"the {task} model kept being evicted before it could be used")

    def runtime(self, model_id: str) -> Any:
        """The loaded runtime of any registered model, active or not (through the cache), e.g. to
        evaluate one against another; raises like loading does."""
        return self._cache.get(self.spec(model_id), self._load)

    def _load(self, spec: ModelSpec) -> Any:
        return load_model(spec, self.config)

    def switch(self, task: str, model_id: str, *, remember: bool = True, promotion: bool = False) -> ModelInfo:
        """Operator switch: load first, then flip; on failure the active model stays.

        A desk version is switched to only by a promotion or rollback (engine/desklearn), which checks
        its figures first and audits the change; ``promotion=True`` says the caller is that."""
        spec = self.spec(model_id)
        if spec.task != task:
            raise ModelSwitchError(f"{model_id} is a {spec.task} model, not {task}")
        if spec.origin == "desk" and not promotion:
            raise ModelSwitchError(f"{model_id} is a desk version: promote it (`signaldesk models promote {model_id}`) "
                                   "so its figures are checked and the change is audited")
        self._failed.pop(model_id, None)  # an explicit request deserves a fresh try
        compat = self.compatibility(spec)
        if not compat.compatible:
            raise ModelSwitchError(f"{model_id} is not usable here: {compat.reason}")
        try:
            self._cache.get(spec, self._load)  # outside the lock: scoring continues meanwhile
        except Exception as exc:
            self._failed[model_id] = str(exc)
            raise ModelSwitchError(f"{model_id} failed to load: {exc}") from exc
        with self._lock:
            previous = self._active.get(task)
            self._active[task] = model_id
            self._degraded.pop(task, None)
            self._latencies.pop(model_id, None)
            self._explanations[task] = f"{model_id} chosen for {task}: switched by the operator; {compat.reason}"
            if remember and self._store is not None:
                self._store.execute("INSERT OR REPLACE INTO model_choices (task, model_id, chosen_at) VALUES (?,?,?)",
                                    (task, model_id, time.time()))
        self._emit("switched", task, model_id, f"{task}: {previous or 'none'} -> {model_id}")
        return self.info(model_id)

    def record_latency(self, task: str, model_id: str, per_item_ms: float) -> None:
        """Feed call latencies; a p95 over budget for N calls in a row moves to a lighter model."""
        n = max(1, self.config.fallback_after_calls)
        with self._lock:
            window = self._latencies.setdefault(model_id, collections.deque(maxlen=n))
            window.append(per_item_ms)
            if len(window) < n or self._active.get(task) != model_id:
                return
            ordered = sorted(window)
            p95 = ordered[min(n - 1, int(round(0.95 * (n - 1))))]
            budget = self._budget_ms(task)
            if p95 <= budget:
                return
            current = self._specs[model_id]
            lighter = [c for c in self._candidates(task) if c.spec.id != model_id and c.compat.compatible
                       and c.spec.origin != "desk" and (c.compat.expected_latency_ms or 0.0) < p95]
            window.clear()
            if not lighter:
                self._emit("failed", task, model_id, f"{model_id} p95 {p95:.1f} ms over the {budget:.0f} ms "
                                                    "budget and no lighter model is available")
                return
            target = min(lighter, key=lambda c: (c.compat.expected_latency_ms or 0.0, c.spec.size_bytes)).spec
            self._active[task] = target.id
            reason = f"{current.id} p95 {p95:.1f} ms over the {budget:.0f} ms budget for {n} calls"
            self._degraded[task] = reason
            self._explanations[task] = f"{target.id} chosen for {task}: automatic fallback, {reason}"
        self._emit("fallback", task, target.id, f"{reason}; switched to {target.id}")

    def status(self, task: str) -> ModelStatus:
        info = self.active(task)
        if info is None:
            return ModelStatus(task, "none", "", "", True, self._explanations.get(task, "no model"))
        reason = self._degraded.get(task, "")
        return ModelStatus(task, info.id, info.version, info.backend, bool(reason), reason)

    # --- info ----------------------------------------------------------------------------
    def info(self, model_id: str) -> ModelInfo:
        spec = self.spec(model_id)
        compat = self.compatibility(spec)
        loaded = {m.id: m for m in self._cache.loaded()}
        is_active = self._active.get(spec.task) == spec.id
        if not spec.present:
            status = "not installed" if spec.not_installed else "missing"
        elif is_active:
            status = "active"
        elif spec.id in loaded:
            status = "loaded"
        else:
            status = "available" if compat.compatible else "incompatible"
        bench = self._benchmarks.get(spec.id)
        estimate = spec.memory_estimate(self._hardware().ram_available_gb * 1024) if spec.present else None
        return ModelInfo(
            id=spec.id, task=spec.task, backend=spec.backend, version=spec.version, origin=spec.origin,
            size_mb=round(spec.size_bytes / 1e6, 1), status=status, compatible=compat.compatible,
            reason=compat.reason, active=is_active,
            benchmark=bench.to_dict() if bench is not None and bench.version == spec.version else None,
            licence=spec.licence, memory_mb=loaded[spec.id].memory_mb if spec.id in loaded else None,
            quality=spec.quality, how_to_add=spec.how_to_add if spec.not_installed else (),
            memory_estimate=estimate.to_dict() if estimate is not None else None,
            source=model_source(spec))

    def available(self, task: str) -> list[ModelInfo]:
        with self._lock:
            if task not in self._active:
                self.active(task)
            return [self.info(s.id) for s in self.specs(task)]

    def all_models(self) -> list[ModelInfo]:
        return [info for task in TASKS for info in self.available(task)]

    def loaded(self) -> list[LoadedModel]:
        return self._cache.loaded()

    def sweep_idle(self) -> list[str]:
        return self._cache.sweep_idle()

    # --- benchmarks ----------------------------------------------------------------------
    def _load_benchmarks(self) -> dict[str, BenchmarkResult]:
        if self._store is None:
            return {}
        mid = machine_id(self._hardware())
        rows = self._store.query("SELECT result FROM model_benchmarks WHERE machine_id = ?", (mid,))
        results = [BenchmarkResult(**json.loads(raw)) for (raw,) in rows]
        return {r.model_id: r for r in results}

    def benchmark(self, model_id: str, progress=None, cancelled=None) -> BenchmarkResult:
        spec = self.spec(model_id)
        result = run_benchmark(spec, self._load, self._hardware(), progress, cancelled)
        with self._lock:
            self._benchmarks[model_id] = result
            if self._store is not None:
                self._store.execute(
                    "INSERT OR REPLACE INTO model_benchmarks (model_id, model_version, machine_id, measured_at, result) "
                    "VALUES (?,?,?,?,?)", (result.model_id, result.version, result.machine_id, result.measured_at,
                                           json.dumps(result.to_dict())))
        log.info("benchmark %s: %s", model_id, result.to_dict())
        return result

    # --- events --------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[ModelEvent], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, kind: str, task: str, model_id: str, message: str) -> None:
        event = ModelEvent(kind, task, model_id, message, time.time())
        (log.warning if kind in ("fallback", "failed") else log.info)("model %s: %s", kind, message)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break model management
                log.exception("model event listener failed")

    def _cache_event(self, kind: str, spec: ModelSpec, message: str) -> None:
        self._emit(kind, spec.task, spec.id, message)

    def close(self) -> None:
        for loaded in self._cache.loaded():
            self._cache.unload(loaded.id, "unloaded at shutdown")

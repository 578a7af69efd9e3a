"""DeskLearning: train, evaluate, promote and roll back desk-adapted sentiment versions.

Reached as ``engine.desk``. Every call is plain Python that may take seconds (training: a minute
at most for 2,000 labels on two cores); the desk runs them as operations on a lane and passes
``progress`` / ``cancel`` callbacks (app/bridge/desklearn.py).

A version is a folder under ``<data dir>/models/desk/`` holding ``head.json`` (the desk head),
``oof.npz`` (its held-out predictions, keyed by the sha256 of each label's text) and a
``manifest.json`` with the sha256 of both, its figures and its calibrator. It is written into a
temporary folder and renamed into place, and only then recorded in the database: a cancel or a
crash before that leaves no version behind (a temporary folder of a dead process is removed the
next time the desk opens).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from engine.calibration.calibrators import fit_calibrator
from engine.calibration.fitting import choose_calibrator, out_of_fold
from engine.calibration.metrics import calibration_metrics
from engine.calibration.policy import RefitPolicy
from engine.desklearn.errors import Cancelled, DeskLearningError
from engine.desklearn.evaluate import compare, summary
from engine.desklearn.features import Features, FeatureSource
from engine.desklearn.labels import (
    AnalystLabel,
    ImportReport,
    analyst_labels,
    export_labels,
    import_label_file,
    text_key,
    training_rows,
)
from engine.desklearn.repository import AuditEntry, DeskRepository, DeskVersion
from engine.desklearn.sets import GuardSet, fingerprint, load_guard, load_reference
from engine.desklearn.train import GATE_C, HEAD_CS, INNER_FOLDS, SEED, fit_recipe
from engine.embeddings.onnx_embedder import DEFAULT_EMBEDDING_MODEL, OnnxEmbedder
from engine.hardware import inference_threads
from engine.manifest import load_verified, write_manifest
from engine.sentiment.base import LABELS
from engine.sentiment.desk_backend import HEAD_FILE
from engine.sentiment.desk_head import DeskHead
from engine.sentiment.onnx_backend import OnnxSentimentBackend
from engine.users import current_user

log = logging.getLogger(__name__)

OOF_FILE = "oof.npz"
MIN_LABELS = 30
MIN_PER_CLASS = 5  # every cross-validation fold then holds each class
MIN_CALIBRATION = RefitPolicy().min_samples  # as for any calibrator of the desk
# A complete folder without a database row is what a crash between the rename and the insert
# leaves; one younger than this may be another process's version being recorded right now.
ORPHAN_AGE_S = 300.0
TMP_PREFIX = ".tmp-"

STAGES = ("labels", "features", "reference", "guard", "cross-validation", "evaluating", "writing")


@dataclass(frozen=True)
class TrainProgress:
    stage: str  # one of STAGES
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1], each stage an equal share (enough for a progress bar)."""
        part = self.done / self.total if self.total else 0.0
        return (STAGES.index(self.stage) + min(1.0, part)) / len(STAGES)


ProgressFn = Callable[[TrainProgress], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class DeskVersionView:
    """A desk version as the Models panel and ``signaldesk models`` show it."""

    id: str
    version: str
    number: int
    base: tuple[str, str]
    created_at: float
    created_by: str
    labels: int
    state: str  # active | offered | refused | missing
    summary: str  # the latest evaluation in one line
    evaluation: dict[str, Any]
    calibrator: str  # what its calibrator was fitted on, or why it has none
    last_action: str  # e.g. "promoted by ana 2026-12-01 10:02", "rolled back by …"
    missing_reason: str = ""


@dataclass(frozen=True)
class LabelSummary:
    total: int
    usable: int  # after one label per text and without the guard set's texts
    by_label: dict[str, int]
    wrong_without_label: int
    in_guard_set: int
    by_analyst: dict[str, int]


@dataclass(frozen=True)
class DeskOverview:
    versions: tuple[DeskVersionView, ...]
    active: tuple[str, str]  # the sentiment model serving now
    why: str  # why that one is active
    labels: LabelSummary
    audit: tuple[AuditEntry, ...]  # newest first, at most 50


@dataclass(frozen=True)
class TrainResult:
    version: DeskVersionView
    evaluation: dict[str, Any]
    seconds: dict[str, float]
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rows:
    texts: list[str]
    y: np.ndarray
    skipped: dict[str, int]


def _reporter(progress: ProgressFn | None, stage: str) -> Callable[[int, int], None]:
    """A (done, total) callback that reports ``stage`` to ``progress`` (or nothing)."""
    return lambda done, total: progress(TrainProgress(stage, done, total)) if progress else None


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _text_hash(text: str) -> str:
    return hashlib.sha256(text_key(text).encode("utf-8", "surrogateescape")).hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DeskLearning:
    def __init__(self, engine, *, guard: GuardSet | None = None, reference: Sequence[str] | None = None) -> None:
        """``guard`` and ``reference`` default to the shipped sets (resources/guard, resources/desklearn)."""
        if engine.store is None or engine.data_dir is None:
            raise DeskLearningError("desk versions need a data folder")
        self.engine = engine
        self.models = engine.models
        self.repo = DeskRepository(engine.store)
        self.root = Path(engine.data_dir) / "models" / "desk"
        self._guard = guard
        self._reference = tuple(reference) if reference is not None else None
        self._training = threading.Lock()
        self.cleanup()

    # --- fixed sets ----------------------------------------------------------------------------
    def guard(self) -> GuardSet:
        if self._guard is None:
            self._guard = load_guard()
        return self._guard

    def reference(self) -> tuple[str, ...]:
        if self._reference is None:
            self._reference = load_reference()
        return self._reference

    # --- labels --------------------------------------------------------------------------------
    def labels(self) -> list[AnalystLabel]:
        return analyst_labels(self.engine.store)

    def import_labels(self, path: Path, analyst: str | None = None, *, progress=None, cancel=None) -> ImportReport:
        return import_label_file(self.engine, Path(path), current_user(analyst), progress=progress, cancel=cancel)

    def export_labels(self, path: Path) -> int:
        return export_labels(self.engine.store, Path(path))

    def _rows(self, labels: Sequence[AnalystLabel]) -> _Rows:
        texts, y, skipped = training_rows(labels)
        # The guard set is never fitted on: an analyst's label on one of its texts stays out.
        guard_keys = {text_key(t) for t in self.guard().texts}
        keep = [i for i, t in enumerate(texts) if text_key(t) not in guard_keys]
        skipped["in_guard_set"] = len(texts) - len(keep)
        return _Rows([texts[i] for i in keep], np.array([y[i] for i in keep], dtype=np.int64), skipped)

    def label_summary(self) -> LabelSummary:
        labels = self.labels()
        rows = self._rows(labels)
        by_label = {name: int((rows.y == i).sum()) for i, name in enumerate(LABELS)}
        by_analyst: dict[str, int] = {}
        for lab in labels:
            by_analyst[lab.analyst] = by_analyst.get(lab.analyst, 0) + 1
        return LabelSummary(len(labels), len(rows.texts), by_label, rows.skipped["wrong_without_label"],
                            rows.skipped["in_guard_set"], by_analyst)

    # --- features ------------------------------------------------------------------------------
    def _base_spec(self, base: str | None):
        if base is None:
            active = self.models.spec(self.models.active("sentiment").id)
            base = active.manifest.get("base", {}).get("id") if active.origin == "desk" else active.id
        spec = self.models.spec(base)
        if spec.task != "sentiment" or spec.backend != "onnx" or spec.origin != "shipped":
            raise DeskLearningError(f"a desk version is trained on a shipped ONNX sentiment model, and {spec.id} is "
                                    f"a {spec.origin} {spec.backend} model: switch to one (`signaldesk models`) "
                                    "or name it with --base")
        if not spec.present:
            raise DeskLearningError(f"{spec.id} cannot be used: {spec.missing_reason}")
        return spec

    def _source(self, base_id: str) -> FeatureSource:
        """Own copies of the base model and encoder with the scoring threads: batches of thousands."""
        threads = inference_threads(self.engine.config.intra_op_threads)
        base = self.models.spec(base_id)
        embed = self.models.spec(DEFAULT_EMBEDDING_MODEL)
        if not embed.present:
            raise DeskLearningError(f"{embed.id} cannot be used: {embed.missing_reason}")
        return FeatureSource(OnnxSentimentBackend(base.path, intra_op_threads=threads),
                             OnnxEmbedder(embed.path, intra_op_threads=threads), self.root / "cache")

    def _scorer(self, model_id: str, source: FeatureSource) -> Callable[[list[str], Features, CancelFn | None], np.ndarray]:
        """Held-out predictions of a registered model on texts whose features ``source`` computed."""
        spec = self.models.spec(model_id)
        if (spec.id, spec.version) == (source.base.model_id, source.base.version):
            return lambda texts, feats, cancel: feats.probs
        if spec.origin == "desk":
            head, held_out = self._stored(spec.path)
            inputs = (spec.manifest.get("base"), spec.manifest.get("embedding"))
            same = inputs == ({"id": source.base.model_id, "version": source.base.version},
                              {"id": source.embedder.model_id, "version": source.embedder.version})

            def desk_scores(texts, feats, cancel):
                probs = (head.predict_proba(feats.probs, feats.embeddings) if same
                         else self._run(model_id, texts, cancel))
                for i, text in enumerate(texts):  # where it trained, its own held-out prediction
                    if (hit := held_out.get(_text_hash(text))) is not None:
                        probs[i] = hit
                return probs
            return desk_scores
        return lambda texts, feats, cancel: self._run(model_id, texts, cancel)

    def _run(self, model_id: str, texts: list[str], cancel: CancelFn | None) -> np.ndarray:
        runtime = self.models.runtime(model_id)
        out = np.zeros((len(texts), len(LABELS)))
        for start in range(0, len(texts), 256):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            out[start:start + 256] = runtime.predict_proba(texts[start:start + 256])
        return out

    @staticmethod
    def _stored(folder: Path) -> tuple[DeskHead, dict[str, np.ndarray]]:
        load_verified(folder)  # sha256 of head.json and oof.npz
        head = DeskHead.load(folder / HEAD_FILE)
        with np.load(folder / OOF_FILE, allow_pickle=False) as data:
            return head, dict(zip(data["keys"].tolist(), data["probs"]))

    # --- training ------------------------------------------------------------------------------
    def train(self, *, who: str | None = None, base: str | None = None, progress: ProgressFn | None = None,
              cancel: CancelFn | None = None) -> TrainResult:
        """Train a desk version on every analyst label, evaluate it against the active version and
        record it (offered for promotion or refused, with the figures). Raises ``Cancelled``
        (nothing written) or ``DeskLearningError`` (too few labels, unusable base)."""
        if not self._training.acquire(blocking=False):
            raise DeskLearningError("a desk version is being trained already")
        try:
            return self._train(current_user(who), base, progress, cancel)
        finally:
            self._training.release()

    def _train(self, who: str, base: str | None, progress: ProgressFn | None, cancel: CancelFn | None) -> TrainResult:
        def stage(name: str) -> Callable[[int, int], None]:
            return _reporter(progress, name)

        clock, seconds = time.perf_counter(), {}

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            seconds[name] = round(now - clock, 2)
            clock = now

        stage("labels")(0, 1)
        rows = self._rows(self.labels())
        self._check_enough(rows.y)
        base_spec = self._base_spec(base)
        source = self._source(base_spec.id)
        lap("labels")
        feats = source.compute(rows.texts, stage("features"), cancel)
        lap("features")
        reference = source.cached("reference", self.reference(), stage("reference"), cancel, with_probs=False)
        lap("reference")
        guard = self.guard()
        guard_feats = source.cached("guard", guard.texts, stage("guard"), cancel)
        lap("guard")
        fitted = fit_recipe(feats, rows.y, reference.embeddings, progress=stage("cross-validation"), cancel=cancel)
        lap("cross-validation")

        stage("evaluating")(0, 1)
        number = self._next_number()
        model_id, version = f"{base_spec.id}-desk{number}", f"{base_spec.version}+desk{number}"
        active = self.models.active("sentiment")
        score_active = self._scorer(active.id, source)
        evaluation = compare(
            candidate=(model_id, version), active=(active.id, active.version), desk_y=rows.y,
            desk_candidate=fitted.oof, desk_active=score_active(rows.texts, feats, cancel),
            guard_y=guard.labels, guard_slices=guard.slices(),
            guard_candidate=fitted.head.predict_proba(guard_feats.probs, guard_feats.embeddings),
            guard_active=score_active(guard.texts, guard_feats, cancel),
            desk_kind=f"{fitted.folds}-fold cross-validated")
        calibration, calibrator = self._calibration(fitted.oof, rows.y)
        lap("evaluating")

        created = time.time()
        manifest = {
            "id": model_id, "version": version, "task": "sentiment", "backend": "desk", "labels": list(LABELS),
            "description": f"{base_spec.id} {base_spec.version} adapted to this desk's analyst labels "
                           f"({len(rows.y)} labels)",
            "licence": f"Desk head trained here on this desk's own labels; runs on {base_spec.id}: {base_spec.licence}",
            "min_ram_mb": base_spec.min_ram_mb, "min_cores": 1,
            "base": {"id": base_spec.id, "version": base_spec.version},
            "embedding": {"id": source.embedder.model_id, "version": source.embedder.version},
            "recipe": {"head_cs": list(HEAD_CS), "head_c": fitted.head_c, "fold_head_cs": list(fitted.fold_cs),
                       "gate_c": GATE_C, "outer_folds": fitted.folds, "inner_folds": INNER_FOLDS, "seed": SEED,
                       "reference": {"rows": len(self.reference()), "sha256": fingerprint(self.reference())}},
            "training": {"labels": len(rows.y), "by_label": {n: int((rows.y == i).sum()) for i, n in enumerate(LABELS)},
                         "skipped": rows.skipped, "trained_by": who, "trained_at": created,
                         "label_set_sha256": fingerprint(sorted(f"{_text_hash(t)} {int(c)}"
                                                                for t, c in zip(rows.texts, rows.y))),
                         "seconds": seconds},
            "metrics": {"desk_cv": evaluation["desk"]["candidate"],
                        "guard": {k: v["candidate"] for k, v in evaluation["guard"].items()}},
            "evaluation": evaluation,
            "calibration": calibration,
        }
        folder = self._write(number, model_id, manifest, fitted.head, fitted.oof, rows.texts, stage("writing"), cancel)
        lap("writing")
        written = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.repo.add(DeskVersion(model_id, number, version, base_spec.id, base_spec.version, str(folder), written,
                                  created, who, len(rows.y), evaluation, bool(evaluation["offered"])),
                      audit_figures={"evaluation": evaluation, "seconds": seconds})
        if calibrator is not None and self.engine.calibration is not None:
            self.engine.calibration.repo.save_calibrator(
                model_id, version, calibrator, len(rows.y),
                {"holdout": calibration["holdout"], "fitted_on": calibration["fitted_on"]}, ["desk_holdout"])
        self.models.reload_registry()
        log.info("desk version %s trained by %s on %d labels: %s", model_id, who, len(rows.y), summary(evaluation))
        return TrainResult(self._view(model_id), evaluation, seconds, rows.skipped)

    @staticmethod
    def _check_enough(y: np.ndarray) -> None:
        counts = np.bincount(y, minlength=len(LABELS)) if len(y) else np.zeros(len(LABELS), dtype=int)
        if len(y) < MIN_LABELS or counts.min() < MIN_PER_CLASS:
            have = ", ".join(f"{counts[i]} {name}" for i, name in enumerate(LABELS))
            raise DeskLearningError(f"a desk version needs at least {MIN_LABELS} analyst labels with {MIN_PER_CLASS} "
                                    f"of each class; there are {len(y)} ({have})")

    @staticmethod
    def _calibration(oof: np.ndarray, y: np.ndarray):
        """Its calibrator, fitted on its own held-out predictions, with honest before/after figures."""
        fitted_on = f"{len(y)} held-out predictions of its own on the desk's labels"
        if len(y) < MIN_CALIBRATION:
            return {"fitted": False, "reason": f"{len(y)} held-out predictions, {MIN_CALIBRATION} needed",
                    "fitted_on": fitted_on}, None
        method, scheme, cv = choose_calibrator(oof, y)
        calibrator = fit_calibrator(oof, y, method, scheme)
        after = out_of_fold(oof, y, method, scheme)  # each row calibrated by a map that never saw it
        record = {"fitted": True, "calibrator": calibrator.to_dict(), "n_fit": int(len(y)), "fitted_on": fitted_on,
                  "cv_ece": cv, "holdout": {"kind": "5-fold out-of-fold on the version's held-out predictions",
                                            "before": calibration_metrics(oof, y).to_dict(),
                                            "after": calibration_metrics(after, y).to_dict()}}
        return record, calibrator

    # --- the folder ----------------------------------------------------------------------------
    def _next_number(self) -> int:
        on_disk = [0]
        if self.root.is_dir():
            for child in self.root.iterdir():
                digits = child.name.rsplit("-desk", 1)[-1] if "-desk" in child.name else ""
                if digits.isdigit():
                    on_disk.append(int(digits))
        return max(self.repo.last_number(), *on_disk) + 1

    def _write(self, number: int, model_id: str, manifest: dict, head: DeskHead, oof: np.ndarray,
               texts: list[str], progress: Callable[[int, int], None], cancel: CancelFn | None) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / model_id
        if final.exists():
            raise DeskLearningError(f"{final} exists already; remove it or train again")
        tmp = self.root / f"{TMP_PREFIX}{number}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            steps = 3
            (tmp / HEAD_FILE).write_text(json.dumps(head.to_dict()), encoding="utf-8")
            progress(1, steps)
            keys = np.array([_text_hash(t) for t in texts])
            np.savez(tmp / OOF_FILE, keys=keys, probs=oof)
            progress(2, steps)
            write_manifest(tmp, manifest)
            (tmp / "MODEL_CARD.md").write_text(_card(manifest), encoding="utf-8")
            for path in tmp.iterdir():
                _fsync(path)
            if cancel is not None and cancel():  # the last moment a cancel can take effect
                raise Cancelled("cancelled")
            os.rename(tmp, final)
            _fsync(self.root)
            progress(3, steps)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def cleanup(self) -> list[str]:
        """Remove what an interrupted training left: temporary folders of processes that are gone,
        and complete folders that were never recorded. Returns what was removed."""
        if not self.root.is_dir():
            return []
        recorded = {Path(v.path).name for v in self.repo.versions()}
        removed = []
        for child in self.root.iterdir():
            if not child.is_dir() or child.name == "cache" or child.name in recorded:
                continue
            if child.name.startswith(TMP_PREFIX):
                pid = child.name[len(TMP_PREFIX):].split("-")[1] if child.name.count("-") >= 3 else ""
                if pid.isdigit() and (int(pid) == os.getpid() or _alive(int(pid))):
                    continue  # still being written
            elif time.time() - child.stat().st_mtime < ORPHAN_AGE_S:
                continue
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
            log.warning("desk versions: removed %s, left by an interrupted training", child.name)
        return removed

    # --- evaluation, promotion, rollback -------------------------------------------------------
    def evaluate(self, model_id: str, *, who: str | None = None, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> dict[str, Any]:
        """Evaluate a stored version again, against the version active now, on today's labels."""
        row = self._row(model_id)
        active = self.models.active("sentiment")
        if active.id == model_id:
            raise DeskLearningError(f"{model_id} is the active version: there is nothing to compare it with")
        _reporter(progress, "labels")(0, 1)
        rows = self._rows(self.labels())
        if not len(rows.y):
            raise DeskLearningError("there are no analyst labels to evaluate on")
        source = self._source(row.base_model_id)
        feats = source.compute(rows.texts, _reporter(progress, "features"), cancel)
        guard = self.guard()
        guard_feats = source.cached("guard", guard.texts, _reporter(progress, "guard"), cancel)
        _reporter(progress, "evaluating")(0, 1)
        candidate, current = self._scorer(model_id, source), self._scorer(active.id, source)
        evaluation = compare(
            candidate=(model_id, row.version), active=(active.id, active.version), desk_y=rows.y,
            desk_candidate=candidate(rows.texts, feats, cancel), desk_active=current(rows.texts, feats, cancel),
            guard_y=guard.labels, guard_slices=guard.slices(),
            guard_candidate=candidate(guard.texts, guard_feats, cancel),
            guard_active=current(guard.texts, guard_feats, cancel),
            desk_kind="held-out predictions (cross-validated where a version trained)")
        self.repo.set_evaluation(model_id, evaluation, bool(evaluation["offered"]), current_user(who))
        return evaluation

    def _row(self, model_id: str) -> DeskVersion:
        row = self.repo.get(model_id)
        if row is None:
            raise DeskLearningError(f"no desk version {model_id!r}; `signaldesk models` lists them")
        return row

    def promote(self, model_id: str, *, who: str | None = None, progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> DeskVersionView:
        """Make a desk version the active sentiment model, if its figures allow it; audited.

        Figures taken against another version than the active one are taken again first."""
        from engine.models.manager import ModelSwitchError

        who = current_user(who)
        row = self._row(model_id)
        spec = self.models.spec(model_id)
        if not spec.present:
            raise DeskLearningError(f"{model_id} cannot be used: {spec.missing_reason}")
        active = self.models.active("sentiment")
        if active.id == model_id:
            raise DeskLearningError(f"{model_id} is active already")
        evaluation = row.evaluation
        if (evaluation["against"]["id"], evaluation["against"]["version"]) != (active.id, active.version):
            evaluation = self.evaluate(model_id, who=who, progress=progress, cancel=cancel)
        if not evaluation["offered"]:
            failed = [r for r in evaluation["reasons"] if r.startswith(("not better", "guard "))]
            raise DeskLearningError(f"{model_id} is not offered for promotion: {'; '.join(failed)}")
        try:
            self.models.switch("sentiment", model_id, promotion=True)
        except ModelSwitchError as exc:
            raise DeskLearningError(str(exc)) from exc
        self.repo.record(who, "promoted", model_id, (active.id, active.version), (model_id, row.version), evaluation)
        log.info("desk version %s promoted by %s: %s", model_id, who, summary(evaluation))
        return self._view(model_id)

    def _promotions_in_effect(self) -> list[AuditEntry]:
        stack: list[AuditEntry] = []
        for entry in self.repo.audit():
            if entry.action == "promoted":
                stack.append(entry)
            elif entry.action == "rolled_back" and stack:
                stack.pop()
        return stack

    def rollback(self, *, who: str | None = None) -> tuple[str, str]:
        """Undo the last promotion still in effect: the model active before it serves again; audited.
        Returns the (id, version) now active."""
        from engine.models.manager import ModelSwitchError
        from engine.models.registry import ModelRegistryError

        who = current_user(who)
        stack = self._promotions_in_effect()
        if not stack:
            raise DeskLearningError("nothing to roll back: no promotion is in effect")
        last = stack[-1]
        active = self.models.active("sentiment")
        if (active.id, active.version) != last.to_model:
            raise DeskLearningError(f"the active model {active.id} was not set by the last promotion "
                                    f"({last.to_model[0] if last.to_model else '?'}): switch with `signaldesk models switch`")
        target = last.from_model or ("", "")
        try:
            info = self.models.switch("sentiment", target[0], promotion=True)
        except (ModelSwitchError, ModelRegistryError) as exc:
            raise DeskLearningError(f"cannot go back to {target[0]}: {exc}") from exc
        self.repo.record(who, "rolled_back", last.model_id, last.to_model, (info.id, info.version),
                         {"undoes_audit_entry": last.id, "promotion_figures": last.figures})
        log.info("desk version %s rolled back by %s: %s %s serves again", last.model_id, who, info.id, info.version)
        return info.id, info.version

    # --- views ---------------------------------------------------------------------------------
    def _view(self, model_id: str, active: tuple[str, str] | None = None,
              audit: Sequence[AuditEntry] | None = None) -> DeskVersionView:
        row = self._row(model_id)
        if active is None:
            info = self.models.active("sentiment")
            active = (info.id, info.version)
        try:
            spec = self.models.spec(model_id)
            missing = spec.missing_reason
        except ValueError:
            missing = "not in the model registry"
        state = ("active" if active[0] == model_id else "missing" if missing
                 else "offered" if row.offered else "refused")
        entries = [e for e in (audit if audit is not None else self.repo.audit(model_id))
                   if e.model_id == model_id and e.action in ("promoted", "rolled_back")]
        last = (f"{entries[-1].action.replace('_', ' ')} by {entries[-1].who} {_stamp(entries[-1].at)}"
                if entries else "")
        cal = row.manifest.get("calibration", {})
        calibrator = (f"{cal['calibrator']['method']}/{cal['calibrator']['scheme']} on {cal['fitted_on']}"
                      if cal.get("fitted") else f"none: {cal.get('reason', 'not fitted')}")
        return DeskVersionView(row.id, row.version, row.number, (row.base_model_id, row.base_model_version),
                               row.created_at, row.created_by, row.labels, state, summary(row.evaluation),
                               row.evaluation, calibrator, last, missing)

    def versions(self) -> list[DeskVersionView]:
        info = self.models.active("sentiment")
        audit = self.repo.audit()
        return [self._view(v.id, (info.id, info.version), audit) for v in self.repo.versions()]

    def overview(self) -> DeskOverview:
        info = self.models.active("sentiment")
        audit = self.repo.audit()
        stack = self._promotions_in_effect()
        if stack and stack[-1].to_model == (info.id, info.version):
            last = stack[-1]
            why = (f"{info.id} promoted by {last.who} {_stamp(last.at)}: "
                   + "; ".join(last.figures.get("reasons", [])))
        else:
            why = self.models.explain("sentiment")
        versions = tuple(self._view(v.id, (info.id, info.version), audit) for v in self.repo.versions())
        return DeskOverview(versions, (info.id, info.version), why, self.label_summary(), tuple(reversed(audit[-50:])))


def _card(manifest: dict) -> str:
    ev = manifest["evaluation"]
    lines = [f"# {manifest['id']} ({manifest['version']})", "",
             manifest["description"] + ".", "",
             f"Trained by {manifest['training']['trained_by']} on {_stamp(manifest['training']['trained_at'])} from "
             f"{manifest['training']['labels']} analyst labels ({manifest['training']['by_label']}); skipped: "
             f"{manifest['training']['skipped']}.", "",
             "Desk head on the shipped model's probabilities and the shipped encoder's embeddings, gated by how much "
             "an item looks like the desk's labelled items (engine/desklearn/__init__.py).", "",
             f"Evaluated against {ev['against']['id']} {ev['against']['version']}: "
             + ("offered for promotion." if ev["offered"] else "not offered for promotion."), ""]
    lines += [f"- {reason}" for reason in ev["reasons"]]
    lines += ["", "| set | this version | against | change |", "| --- | --- | --- | --- |",
              f"| desk labels ({ev['desk']['kind']}) | {ev['desk']['candidate']['weighted_f1']:.4f} | "
              f"{ev['desk']['active']['weighted_f1']:.4f} | {ev['desk']['delta']:+.4f} |"]
    lines += [f"| guard {name} | {g['candidate']['weighted_f1']:.4f} | {g['active']['weighted_f1']:.4f} | "
              f"{g['delta']:+.4f} |" for name, g in ev["guard"].items()]
    cal = manifest["calibration"]
    lines += ["", "Calibrator: " + (f"{cal['calibrator']['method']}/{cal['calibrator']['scheme']} fitted on "
                                    f"{cal['fitted_on']}" if cal.get("fitted") else f"none ({cal['reason']})."), ""]
    return "\n".join(lines)

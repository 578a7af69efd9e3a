"""The desk learns from its analysts (issue 21): labels, desk versions, evaluation, promotion, rollback.

Real parts throughout: real SQLite files, the shipped finsent-minilm-l6 and minilm-l6-embed
models through the Engine, the team's news corpus train part as the analysts' labels. To keep
the run short the guard set is a fixed slice of the shipped one (both parts) and the gate learns
from a slice of the shipped reference texts; the shipped sets themselves are checked below.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.calibration.labelled import load_labelled_csv
from engine.config import Config
from engine.desklearn.errors import Cancelled, DeskLearningError
from engine.desklearn.labels import LabelImportError, analyst_labels, export_labels
from engine.desklearn.service import DeskLearning
from engine.desklearn.sets import GuardPart, GuardSet, load_guard, load_reference
from engine.engine import Engine
from engine.manifest import ModelIntegrityError, load_verified
from engine.models.manager import ModelSwitchError
from engine.sentiment.base import LABELS
from engine.store import DB_FILE_NAME
from tests.conftest import REPO_ROOT, SHARED_DATA

NEWS_TRAIN = REPO_ROOT / "engine" / "training" / "data" / "news" / "train"
GUARD_ROWS = 150  # per part
REFERENCE_ROWS = 400
LABELS_USED = 90


def small_sets() -> tuple[GuardSet, tuple[str, ...]]:
    guard = load_guard()
    return (GuardSet(tuple(GuardPart(p.name, p.texts[:GUARD_ROWS], p.labels[:GUARD_ROWS]) for p in guard.parts)),
            load_reference()[:REFERENCE_ROWS])


def news_rows(n: int, seed: int) -> list[tuple[str, int]]:
    rows = [r for f in sorted(NEWS_TRAIN.glob("*.csv")) for r in load_labelled_csv(f).rows]
    picked = np.random.default_rng(seed).choice(len(rows), n, replace=False)
    return [(rows[i].text, rows[i].label) for i in sorted(picked)]


def write_labels(path: Path, rows, swap: bool = False) -> Path:
    """A label file; ``swap`` exchanges bullish and bearish: a desk whose labels contradict the guard set."""
    flip = {0: 1, 1: 0, 2: 2} if swap else {0: 0, 1: 1, 2: 2}
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for text, label in rows:
            writer.writerow([text, LABELS[flip[label]]])
    return path


def open_desk(data_dir: Path) -> Engine:
    # 1.0.0, switched to as an analyst would (the choice is stored): the base these tests' figures and
    # the README's demonstration were measured on. A desk version adapts whichever model is active.
    engine = Engine(Config(), data_dir, publish_to_redis=False)
    if engine.sentiment_status.model_id == "finsent-minilm-l6-news":
        engine.models.switch("sentiment", "finsent-minilm-l6")
    guard, reference = small_sets()
    engine._desk = DeskLearning(engine, guard=guard, reference=reference)
    return engine


def desk_folders(data_dir: Path) -> list[str]:
    root = data_dir / "models" / "desk"
    return sorted(p.name for p in root.iterdir() if p.name != "cache") if root.is_dir() else []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One data folder whose analysts labelled 90 news sentences, and the desk version trained on them."""
    data_dir = tmp_path_factory.mktemp("desk")
    engine = open_desk(data_dir)
    labels = write_labels(data_dir / "labels.csv", news_rows(LABELS_USED, seed=1))
    report = engine.desk.import_labels(labels, "ana")
    result = engine.desk.train(who="ana")
    yield engine, report, result, data_dir
    engine.close()


# --- the shipped fixed sets --------------------------------------------------------------------
def test_guard_set_copies_are_byte_identical_to_their_sources() -> None:
    from engine.manifest import sha256_file

    guard_dir = REPO_ROOT / "resources" / "guard"
    manifest = json.loads((guard_dir / "manifest.json").read_text(encoding="utf-8"))
    news = manifest["parts"]["news_test"]
    assert news["sha256"] == sha256_file(REPO_ROOT / "engine" / "training" / "data" / "news" / "test" / "news_test.csv")
    tfns = manifest["parts"]["tfns_valid"]
    assert tfns["sha256"] == sha256_file(SHARED_DATA / "tfns" / "sent_valid.csv")
    guard = load_guard()
    assert [len(p.texts) for p in guard.parts] == [2388, 967]
    # The gate's reference texts are TFNS train rows: none of them is in the guard set.
    assert not set(load_reference()) & set(guard.texts)


def test_a_tampered_guard_set_is_refused(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "guard"
    shutil.copytree(REPO_ROOT / "resources" / "guard", copy)
    with open(copy / "news_test.csv", "a", encoding="utf-8") as fh:
        fh.write("Profit soared.,bullish,headline,results\n")
    with pytest.raises(DeskLearningError, match="sha256"):
        load_guard(copy)


# --- labels ------------------------------------------------------------------------------------
def test_labels_from_feedback_and_files_carry_who_when_and_version(data_dir: Path) -> None:
    engine = open_desk(data_dir)
    try:
        s1, s2, s3 = engine.analyze_batch(["Profit fell sharply in the quarter.", "The company will publish its "
                                           "interim report on 24 April.", "Orders rose 12 %."])
        engine.calibration.record_feedback(s1.id, right=True, analyst="ana", refit=False)
        engine.calibration.record_feedback(s2.id, right=False, analyst="ben", refit=False)  # bare "wrong"
        engine.calibration.record_feedback(s3.id, label="bearish", analyst="ana", refit=False)
        path = data_dir / "in.csv"
        path.write_text("text,label\nNet sales rose 5 %.,bullish\n,bearish\nA fine was imposed.,1.5\n"
                        "Net sales rose 5 %.,neutral\nThe plant closes.,0\n", encoding="utf-8")
        report = engine.desk.import_labels(path, "cara")
        assert (report.imported, report.duplicates, report.replaced) == (2, 1, 0)
        assert [(e.line, e.reason.split(" (")[0]) for e in report.errors] == [(3, "empty text"),
                                                                             (4, "label code '1.5' is not 0, 1 or 2")]
        labels = {lab.text: lab for lab in analyst_labels(engine.store)}
        assert (labels["Profit fell sharply in the quarter."].verdict, labels[s2.text].verdict,
                labels["Orders rose 12 %."].verdict) == ("right", "wrong", "label")
        assert labels[s2.text].label is None and labels["Orders rose 12 %."].label == "bearish"
        assert labels["Net sales rose 5 %."].label == "neutral"  # the later row of the file
        for lab in labels.values():
            assert lab.analyst in ("ana", "ben", "cara") and lab.created_at > 0
            assert (lab.model_id, lab.model_version) == ("finsent-minilm-l6", "1.0.0")
        # Importing the file again replaces its labels instead of counting them twice.
        again = engine.desk.import_labels(path, "cara")
        assert again.replaced == 2 and len(analyst_labels(engine.store)) == 5

        out = data_dir / "export.csv"
        assert export_labels(engine.store, out) == 5
        rows = list(csv.DictReader(open(out, encoding="utf-8", newline="")))
        assert list(rows[0]) == ["text", "label", "verdict", "predicted", "analyst", "labelled_at", "model_id",
                                 "model_version", "signal_id", "origin", "note"]
        by_text = {r["text"]: r for r in rows}
        assert by_text[s2.text]["verdict"] == "wrong" and by_text[s2.text]["analyst"] == "ben"
        assert by_text["The plant closes."]["origin"] == "file in.csv line 6"
        assert by_text["Orders rose 12 %."]["signal_id"] == str(s3.id)
        summary = engine.desk.label_summary()
        assert (summary.total, summary.usable, summary.wrong_without_label) == (5, 4, 1)
    finally:
        engine.close()


def test_label_files_are_bounded_and_all_or_nothing(data_dir: Path, monkeypatch) -> None:
    import engine.desklearn.labels as labels_module

    engine = open_desk(data_dir)
    try:
        path = write_labels(data_dir / "l.csv", news_rows(40, seed=3))
        monkeypatch.setattr(labels_module, "MAX_LABEL_FILE_BYTES", 1000)
        with pytest.raises(LabelImportError, match="limited to"):
            engine.desk.import_labels(path, "ana")
        monkeypatch.undo()
        with pytest.raises(Cancelled):
            engine.desk.import_labels(path, "ana", cancel=lambda: True)
        (data_dir / "bad.csv").write_text("headline,sentiment\nx,1\n", encoding="utf-8")
        with pytest.raises(LabelImportError, match="missing column"):
            engine.desk.import_labels(data_dir / "bad.csv", "ana")
        assert analyst_labels(engine.store) == []
    finally:
        engine.close()


# --- training ----------------------------------------------------------------------------------
def test_training_on_a_small_labelled_set(trained) -> None:
    engine, report, result, data_dir = trained
    assert report.imported == LABELS_USED
    view = result.version
    assert (view.id, view.version, view.labels) == ("finsent-minilm-l6-desk1", "1.0.0+desk1", LABELS_USED)
    folder = data_dir / "models" / "desk" / view.id
    manifest = load_verified(folder)  # every file matches its recorded sha256
    assert set(manifest.files) == {"head.json", "oof.npz"}
    assert manifest.extra["base"] == {"id": "finsent-minilm-l6", "version": "1.0.0"}
    assert manifest.extra["training"]["trained_by"] == "ana"
    ev = result.evaluation
    assert ev["desk"]["candidate"]["n"] == LABELS_USED and ev["desk"]["kind"] == "5-fold cross-validated"
    assert set(ev["guard"]) == {"tfns_valid", "news_test", "all"}
    assert ev["against"] == {"id": "finsent-minilm-l6", "version": "1.0.0"}
    assert manifest.extra["calibration"] == {"fitted": False, "reason": "90 held-out predictions, 300 needed",
                                             "fitted_on": "90 held-out predictions of its own on the desk's labels"}
    assert [e.action for e in engine.desk.repo.audit(view.id)] == ["trained"]

    # At run time (ONNX Runtime + numpy) the version scores exactly as the head that was fitted.
    runtime = engine.models.runtime(view.id)
    texts = [t for t, _ in news_rows(20, seed=9)]
    feats_probs = np.asarray(runtime.base.predict_proba(texts), dtype=np.float64)
    feats_emb = runtime.embedder.embed(texts)
    assert np.allclose(runtime.predict_proba(texts), runtime.head.predict_proba(feats_probs, feats_emb), atol=1e-6)
    # The same head in a fresh process: no torch, and not even scikit-learn, at run time.
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, json\nfrom engine.sentiment.desk_backend import DeskSentimentBackend\n"
         f"p = DeskSentimentBackend({str(folder)!r}).predict_proba({texts[:3]!r})\n"
         "print(json.dumps([p.tolist(), sorted(m for m in ('torch', 'sklearn') if m in sys.modules)]))"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    probs, heavy = json.loads(probe.stdout)
    assert heavy == [] and np.allclose(probs, runtime.predict_proba(texts[:3]), atol=1e-6)


def test_a_desk_version_serves_only_once_promoted(trained) -> None:
    engine, _, result, data_dir = trained
    with pytest.raises(ModelSwitchError, match="promote it"):
        engine.models.switch("sentiment", result.version.id)
    again = Engine(Config(model_priority="accuracy"), data_dir, publish_to_redis=False)
    try:
        assert again.sentiment_status.model_id == "finsent-minilm-l6"
        assert result.version.id in {m.id for m in again.models.available("sentiment")}
    finally:
        again.close()


def test_too_few_labels_are_refused_with_the_counts(data_dir: Path) -> None:
    engine = open_desk(data_dir)
    try:
        engine.desk.import_labels(write_labels(data_dir / "l.csv", news_rows(12, seed=4)), "ana")
        with pytest.raises(DeskLearningError, match=r"at least 30 analyst labels .* there are 12"):
            engine.desk.train()
        assert desk_folders(data_dir) == []
    finally:
        engine.close()


def test_refused_when_the_guard_set_drops(data_dir: Path) -> None:
    """Labels that swap bullish and bearish: the version learns them, and the guard set says no."""
    engine = open_desk(data_dir)
    try:
        engine.desk.import_labels(write_labels(data_dir / "l.csv", news_rows(LABELS_USED, seed=1), swap=True), "eve")
        result = engine.desk.train(who="eve")
        ev = result.evaluation
        assert ev["offered"] is False and result.version.state == "refused"
        assert any(r.startswith("guard news_test") for r in ev["reasons"]), ev["reasons"]
        assert ev["guard"]["news_test"]["delta"] < -0.01
        with pytest.raises(DeskLearningError, match="not offered for promotion: .*guard news_test"):
            engine.desk.promote(result.version.id, who="eve")
        assert engine.sentiment_status.model_id == "finsent-minilm-l6"
        assert [e.action for e in engine.desk.repo.audit()] == ["trained"]
    finally:
        engine.close()


def test_promotion_and_rollback_are_audited_and_signals_keep_their_version(trained) -> None:
    engine, _, result, data_dir = trained
    view = result.version
    assert result.evaluation["offered"], result.evaluation["reasons"]
    with pytest.raises(DeskLearningError, match="nothing to roll back"):
        engine.desk.rollback(who="ben")
    before = engine.analyze("Orders fell by a third.")
    engine.desk.promote(view.id, who="ana")
    during = engine.analyze("Orders fell by a third.")
    assert (during.model_id, during.model_version) == (view.id, view.version)
    overview = engine.desk.overview()
    assert overview.active == (view.id, view.version) and overview.why.startswith(f"{view.id} promoted by ana")
    assert [v.state for v in overview.versions] == ["active"]

    # A next version is compared with the active desk version on held-out predictions only: its own
    # cross-validated ones where it trained (kept in oof.npz), fresh ones on the labels added since.
    extra = news_rows(10, seed=11)
    engine.desk.import_labels(write_labels(data_dir / "more.csv", extra), "ana")
    second = engine.desk.train(who="ana")
    assert second.evaluation["against"] == {"id": view.id, "version": view.version}
    folder = data_dir / "models" / "desk" / view.id
    with np.load(folder / "oof.npz", allow_pickle=False) as stored:
        held_out = dict(zip(stored["keys"].tolist(), stored["probs"]))
    from engine.desklearn.service import _text_hash

    texts = [t for t, _ in news_rows(LABELS_USED, seed=1)] + [t for t, _ in extra]
    truth = [c for _, c in news_rows(LABELS_USED, seed=1)] + [c for _, c in extra]
    # Fresh predictions from features computed in one batch, as the evaluation computes them: the int8
    # models' dynamic quantization makes a probability depend a little on what else is in its batch.
    runtime = engine.models.runtime(view.id)
    fresh = runtime.head.predict_proba(runtime.base.predict_proba(texts), runtime.embedder.embed(texts))[LABELS_USED:]
    honest = np.vstack([held_out[_text_hash(t)] for t in texts[:LABELS_USED]] + [fresh])
    from sklearn.metrics import f1_score

    expected = round(float(f1_score(truth, honest.argmax(1), average="weighted")), 4)
    in_sample = runtime.predict_proba(texts)
    assert second.evaluation["desk"]["active"]["weighted_f1"] == pytest.approx(expected, abs=1e-4)
    assert expected < round(float(f1_score(truth, in_sample.argmax(1), average="weighted")), 4)

    # The choice survives a restart (a second engine reads it), and the rollback works from there.
    reopened = open_desk(data_dir)
    try:
        assert reopened.sentiment_status.model_id == view.id
        assert reopened.desk.rollback(who="ben") == ("finsent-minilm-l6", "1.0.0")
        after = reopened.analyze("Orders fell by a third.")
        assert (after.model_id, after.model_version) == ("finsent-minilm-l6", "1.0.0")
        stored = [reopened.store.get_signal(s.id) for s in (before, during, after)]
        assert [(s.model_id, s.model_version) for s in stored] == [
            ("finsent-minilm-l6", "1.0.0"), (view.id, view.version), ("finsent-minilm-l6", "1.0.0")]
        assert stored[1].probs == during.probs  # as scored: nothing rewritten
        audit = reopened.desk.repo.audit(view.id)
        assert [(e.action, e.who) for e in audit] == [("trained", "ana"), ("promoted", "ana"), ("rolled_back", "ben")]
        assert audit[1].from_model == ("finsent-minilm-l6", "1.0.0") and audit[1].to_model == (view.id, view.version)
        assert audit[1].figures["offered"] is True and "guard" in audit[1].figures
        assert audit[2].to_model == ("finsent-minilm-l6", "1.0.0")
        with pytest.raises(DeskLearningError, match="nothing to roll back"):
            reopened.desk.rollback(who="ben")
        # Evaluated again against the shipped model on the same labels, it scores as when it was trained
        # plus the ten labels added since: its stored held-out predictions stand in where it trained.
        again = reopened.desk.evaluate(view.id, who="ben")
        assert again["against"] == result.evaluation["against"] and again["desk"]["candidate"]["n"] == LABELS_USED + 10
        assert again["guard"] == result.evaluation["guard"]
        assert reopened.desk.repo.audit(view.id)[-1].action == "evaluated"
    finally:
        reopened.close()


@pytest.mark.parametrize("stage", ["features", "cross-validation"])
def test_cancel_leaves_nothing_behind_and_the_job_runs_again(data_dir: Path, stage: str) -> None:
    engine = open_desk(data_dir)
    try:
        engine.desk.import_labels(write_labels(data_dir / "l.csv", news_rows(40, seed=5)), "ana")
        seen: list[str] = []
        with pytest.raises(Cancelled):
            engine.desk.train(progress=lambda p: seen.append(p.stage), cancel=lambda: stage in seen)
        assert engine.desk.repo.versions() == [] and desk_folders(data_dir) == []
        assert engine.desk.train().version.id == "finsent-minilm-l6-desk1"
    finally:
        engine.close()


CRASH_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from tests.engine.test_desklearn import open_desk
    engine = open_desk(Path(sys.argv[1]))

    def progress(p):
        if p.stage == "writing" and p.done == 1:  # head.json written, the manifest not yet
            os.kill(os.getpid(), signal.SIGKILL)

    engine.desk.train(who="ana", progress=progress)
""")


def test_a_crash_while_writing_leaves_no_version_and_restart_cleans_up(data_dir: Path) -> None:
    engine = open_desk(data_dir)
    engine.desk.import_labels(write_labels(data_dir / "l.csv", news_rows(40, seed=6)), "ana")
    engine.close()
    proc = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(data_dir)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    left = desk_folders(data_dir)
    assert len(left) == 1 and left[0].startswith(".tmp-"), left  # half-written, never renamed
    assert (data_dir / "models" / "desk" / left[0] / "head.json").is_file()

    engine = open_desk(data_dir)
    try:
        assert desk_folders(data_dir) == [] and engine.desk.repo.versions() == []
        assert not [m for m in engine.models.available("sentiment") if m.origin == "desk"]
        result = engine.desk.train(who="ana")
        assert desk_folders(data_dir) == [result.version.id]
        load_verified(data_dir / "models" / "desk" / result.version.id)
    finally:
        engine.close()


def test_a_tampered_version_is_refused_at_load(trained, tmp_path: Path) -> None:
    import shutil

    engine, _, result, data_dir = trained
    copy = tmp_path / "copy"
    shutil.copytree(data_dir / "models" / "desk" / result.version.id, copy)
    head = json.loads((copy / "head.json").read_text(encoding="utf-8"))
    head["gate"]["intercept"] += 1.0
    (copy / "head.json").write_text(json.dumps(head), encoding="utf-8")
    from engine.sentiment.desk_backend import DeskSentimentBackend

    with pytest.raises(ModelIntegrityError, match="sha256 mismatch for head.json"):
        DeskSentimentBackend(copy)


def test_models_and_label_commands(trained, tmp_path: Path) -> None:
    """``signaldesk models`` lists desk versions with their figures; promote, rollback and label from the CLI."""
    engine, _, result, data_dir = trained
    vid = result.version.id
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=600, env=env)

    listing = cli("models")
    assert listing.returncode == 0, listing.stderr[-2000:]
    row = next(line for line in listing.stdout.splitlines() if line.startswith(vid))
    ev = engine.desk.repo.get(vid).evaluation  # the latest figures (evaluated again when the module runs whole)
    n_labels = len(engine.desk.labels())  # 90, or 100 after the promotion test added ten: runs alone or in order
    assert f"{ev['desk']['candidate']['weighted_f1']:.3f} ({ev['desk']['active']['weighted_f1']:.3f})" in row
    assert "finsent-minilm-l6 1.0.0" in row and "by ana" in row
    assert f"analyst labels: {n_labels}" in listing.stdout
    as_json = json.loads(cli("models", "--json").stdout)
    entry = next(m for m in as_json if m["id"] == vid)
    assert entry["origin"] == "desk" and entry["desk"]["evaluation"]["guard"] == ev["guard"]

    refused = cli("models", "switch", "sentiment", vid)
    assert refused.returncode == 2 and "promote it" in refused.stderr
    promoted = cli("models", "promote", vid)
    assert promoted.returncode == 0, promoted.stderr[-2000:]
    assert "is now the active sentiment model" in promoted.stdout
    assert f"{vid} *" in cli("models").stdout
    rolled = cli("models", "rollback")
    assert rolled.returncode == 0 and "finsent-minilm-l6 (1.0.0) is the active sentiment model again" in rolled.stdout

    out = tmp_path / "labels.csv"
    exported = cli("label", "--export", str(out))
    assert exported.returncode == 0 and f"exported {n_labels} analyst label(s)" in exported.stdout
    bad = tmp_path / "more.csv"
    bad.write_text("text,label\nProfit doubled.,bullish\nNo label here.,\n", encoding="utf-8")
    imported = cli("label", str(bad), "--analyst", "dan", "-q", "--json")
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert json.loads(imported.stdout)["imported"] == 1 and "more.csv:3: skipped: empty label" in imported.stderr
    assert cli("label").returncode == 2

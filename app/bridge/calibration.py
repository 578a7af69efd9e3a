"""Calibration for the desk: each model version's outcomes and calibrator, reliability reports,
labelled files and refits.

Reads run on the engine lane; labelled files and refits (seconds) on the calibration lane, so
scoring never waits for them. Push feed: ``refitted`` (also automatic refits started by analyst
verdicts, see app/bridge/feedback.py) and ``outcomesChanged`` (new outcomes were stored: views
should re-read).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext, Operation
from engine.calibration.metrics import CalibrationMetrics, ReliabilityDiagram
from engine.wording import plural

log = logging.getLogger(__name__)

# A labelled file's skipped rows are listed up to this many; the count is always exact.
MAX_LISTED_ROW_ERRORS = 20

__all__ = ["CalibrationFeature", "CalibrationModelSummary", "CalibrationOverview", "CalibrationReportView",
           "LabelledProgress", "LabelledSummary", "RefitOutcome", "summary_of"]


@dataclass(frozen=True)
class CalibrationModelSummary:
    """One model version as the Calibration panel lists it."""

    model_id: str
    version: str
    serving: bool  # the sentiment model scoring news right now
    outcomes: int
    by_source: dict[str, int]
    calibrator: str  # e.g. "isotonic/top_label #3"; "" when none is fitted
    fitted_at: float | None
    fitted_on: int  # outcomes the active calibrator was fitted on
    holdout: dict[str, Any] | None  # {"kind", "before": {...}, "after": {...}}: out-of-fold figures at fit time
    refit_due: bool
    explanation: str  # the refit policy in words, e.g. "next refit at 500 outcomes (now 312)"
    shipped: str = ""  # when the active calibrator came with the model: what it was fitted on and scored
    refused: Any = None  # FitVerdict of the last refused refit (both diagrams), until a fit is made active
    # The shipped calibrator's own reliability on the model card's report set (rows neither the
    # model nor the calibrator saw): (set name, before diagram, after diagram), or None.
    shipped_diagrams: Any = None
    # Figures read off those diagrams' bins ({"ece", "mce", "accuracy", "n"} before and after), so the
    # metrics table is not empty beside them; None with the diagrams.
    shipped_metrics: Any = None


@dataclass(frozen=True)
class CalibrationOverview:
    models: tuple[CalibrationModelSummary, ...]  # the serving model first
    sources: tuple[str, ...]  # every outcome source the engine knows
    min_samples: int


@dataclass(frozen=True)
class CalibrationReportView:
    """Before/after reliability of one model version on stored labelled outcomes (small: 15 bins)."""

    model_id: str
    version: str
    sources: tuple[str, ...]  # () = all sources
    before: CalibrationMetrics | None  # None when there is nothing
    after: CalibrationMetrics | None
    before_diagram: ReliabilityDiagram | None
    after_diagram: ReliabilityDiagram | None
    calibrator: str
    in_sample: bool  # the calibrator was fitted on these very outcomes
    holdout: dict[str, Any] | None  # the calibrator's honest out-of-fold figures, when it has them
    message: str = ""  # why there is nothing to show, or what went wrong


@dataclass(frozen=True)
class LabelledProgress:
    done: int
    total: int


@dataclass(frozen=True)
class LabelledSummary:
    path: str
    rows: int  # rows scored
    total: int  # usable rows in the file
    skipped: int  # rows rejected by the parser
    errors: tuple[str, ...]  # the first few rejections, "line N: reason"
    model_id: str
    version: str
    metrics: CalibrationMetrics | None  # of the raw model on the scored rows
    recorded: int  # outcomes stored (0 when not recorded or cancelled)
    calibrator: str  # the calibrator a refit produced, "" when none ran
    explanation: str  # the refit policy after recording
    cancelled: bool
    error: str


@dataclass(frozen=True)
class RefitOutcome:
    model_id: str
    version: str
    method: str
    scheme: str
    calibrator: str  # "" when nothing was fitted
    automatic: bool  # started by the refit policy, not by the Refit button
    error: str
    verdict: Any = None  # FitVerdict when the acceptance rule refused the fit (an operator may confirm it)
    confirmed_by: str = ""  # the operator who made a refused fit active


def summary_of(cal, model_id: str, version: str, serving: bool) -> CalibrationModelSummary:
    st = cal.status(model_id, version)
    active = st.active
    holdout = None
    if active is not None and isinstance(active.metrics.get("holdout"), dict):
        h = active.metrics["holdout"]
        holdout = {"kind": h.get("kind", ""), "before": h.get("before"), "after": h.get("after")}
    shipped, shipped_diagrams = "", None
    if active is not None and isinstance(active.metrics.get("shipped"), dict):
        info = active.metrics["shipped"]
        shipped_diagrams = _report_diagrams(info.get("report_diagrams"))
        shipped = f"fitted on {active.n:,} held-out labelled rows"
        if "report_ece_before" in info and "report_ece_after" in info:
            shipped += (f"; model card: ECE {info['report_ece_before']:.3f} raw, "
                        f"{info['report_ece_after']:.3f} calibrated on unseen data")
    shipped_metrics = None
    if shipped_diagrams is not None:
        shipped_metrics = (diagram_metrics(shipped_diagrams[1]), diagram_metrics(shipped_diagrams[2]))
    return CalibrationModelSummary(model_id, version, serving, st.outcomes, dict(st.by_source),
                                   active.label if active else "", active.fitted_at if active else None,
                                   active.n if active else 0, holdout, st.refit_due, st.explanation, shipped,
                                   cal.last_refusal(model_id, version), shipped_diagrams, shipped_metrics)


def diagram_metrics(diagram: ReliabilityDiagram) -> dict[str, float]:
    """ECE, MCE, accuracy and n from a diagram's bins: the same count-weighted gaps the engine's
    metrics use over the same bins (a Brier score needs every probability, so it is not here)."""
    bins = [b for b in diagram.bins if b.count]
    total = sum(b.count for b in bins)
    if not total:
        return {"n": 0}
    gaps = [abs(b.accuracy - b.mean_confidence) for b in bins]
    return {"n": total,
            "ece": sum(b.count * g for b, g in zip(bins, gaps)) / total,
            "mce": max(gaps),
            "accuracy": sum(b.count * b.accuracy for b in bins) / total}


def _report_diagrams(record) -> tuple[str, ReliabilityDiagram, ReliabilityDiagram] | None:
    """The manifest's ``report_diagrams`` as diagrams (None when absent or malformed)."""
    from engine.calibration.metrics import ReliabilityBin

    def diagram(d: dict) -> ReliabilityDiagram:
        bins = tuple(ReliabilityBin(float(b["lo"]), float(b["hi"]), int(b["count"]),
                                    float("nan") if b["mean_confidence"] is None else float(b["mean_confidence"]),
                                    float("nan") if b["accuracy"] is None else float(b["accuracy"]))
                     for b in d["bins"])
        return ReliabilityDiagram(bins, int(d["n"]))

    if not isinstance(record, dict):
        return None
    try:
        return str(record.get("set", "")), diagram(record["before"]), diagram(record["after"])
    except (KeyError, TypeError, ValueError):
        return None


def refit_now(cal, model_id: str, version: str, method: str | None, scheme: str | None, *,
              automatic: bool, confirmed_by: str = "") -> RefitOutcome | None:
    """Fit (the policy's refit when ``automatic``); None when an automatic refit is no longer due.
    ``confirmed_by``: the operator making this fit active even if the acceptance rule refuses it."""
    from engine.calibration.acceptance import FitRefused

    def outcome(calibrator: str = "", error: str = "", m: str | None = method, s: str | None = scheme) -> RefitOutcome:
        return RefitOutcome(model_id, version, m or "", s or "", calibrator, automatic, error,
                            confirmed_by=confirmed_by if calibrator else "")

    try:
        saved = cal.maybe_refit(model_id, version) if automatic else cal.refit(model_id, version, method, scheme,
                                                                                confirmed_by=confirmed_by)
    except FitRefused as exc:  # not better out of fold: both diagrams go to the panel
        return replace(outcome(error=str(exc), m=exc.verdict.method, s=exc.verdict.scheme), verdict=exc.verdict)
    except ValueError as exc:  # e.g. temperature scaling with a per-class scheme
        return outcome(error=str(exc))
    if saved is None and automatic:
        return None  # another job fitted first; nothing is due any more
    if saved is None:
        st = cal.status(model_id, version)
        return outcome(error=f"Not refitted: {plural(st.outcomes, 'outcome')} stored, {cal.policy.min_samples} needed"
                             + (" (and enough labelled outcomes of every class for this method)."
                                if st.outcomes >= cal.policy.min_samples else "."))
    return outcome(saved.label, "", saved.method, saved.scheme)


class CalibrationFeature(Feature):
    refitted = Signal(object)  # RefitOutcome, from the Refit button or the refit policy
    outcomesChanged = Signal()  # outcomes were stored (verdicts, labelled files): views re-read

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._labelled: Operation | None = None

    def overview(self, on_overview: Callable[[CalibrationOverview], None],
                 on_failure: Callable[[str], None]) -> None:
        def read(ctx: OpContext) -> CalibrationOverview:
            from engine.calibration.outcomes import SOURCES

            cal = ctx.engine.calibration
            serving = ctx.engine.sentiment_status
            versions = {(serving.model_id, serving.version)}
            versions |= {(mid, ver) for mid, ver, _ in cal.repo.outcome_counts()}
            versions |= {(c.model_id, c.model_version) for c in cal.repo.calibrators()}
            ordered = sorted(versions, key=lambda v: (v != (serving.model_id, serving.version), v))
            return CalibrationOverview(tuple(summary_of(cal, mid, ver, (mid, ver) == (serving.model_id,
                                                                                      serving.version))
                                             for mid, ver in ordered), SOURCES, cal.policy.min_samples)

        self.op("Reading calibration state", read).on_success(on_overview).on_failure(on_failure).run()

    def report(self, model_id: str, version: str, sources: tuple[str, ...],
               on_report: Callable[[CalibrationReportView], None]) -> Operation:
        sources = tuple(sources or ())
        empty = CalibrationReportView(model_id, version, sources, None, None, None, None, "", False, None)

        def build(ctx: OpContext) -> CalibrationReportView:
            cal = ctx.engine.calibration
            report = cal.report(model_id, version, sources or None)
            summary = summary_of(cal, model_id, version, False)
            if report is None:
                # The active calibrator (e.g. the model's shipped one) is named even with nothing to plot.
                return replace(empty, calibrator=summary.calibrator,
                               message=f"No labelled outcomes for {model_id} {version} from "
                                       f"{', '.join(sources) if sources else 'any source'} yet.")
            return CalibrationReportView(model_id, version, sources, report.before, report.after,
                                         report.before_diagram, report.after_diagram, report.calibrator,
                                         report.in_sample, summary.holdout)

        return self.op("Building a calibration report", build).on_success(on_report) \
            .on_failure(lambda message: on_report(replace(empty, message=message))).run()

    def evaluate_labelled(self, path: str | Path, record: bool,
                          on_progress: Callable[[LabelledProgress], None],
                          on_done: Callable[[LabelledSummary], None]) -> Operation:
        """Score a labelled CSV on the calibration lane; optionally record the rows as outcomes
        (which refits when the policy says so). Returns the operation (``cancel_labelled`` stops it)."""
        path = str(path)

        def fail(message: str, skipped: int = 0, errors: tuple[str, ...] = ()) -> LabelledSummary:
            return LabelledSummary(path, 0, 0, skipped, errors, "", "", None, 0, "", "", False, message)

        def run(ctx: OpContext) -> LabelledSummary:
            from engine.calibration.labelled import evaluate_labelled, load_labelled_csv

            cal = ctx.engine.calibration
            try:
                data = load_labelled_csv(Path(path))
            except OSError as exc:
                return fail(f"{Path(path).name}: {exc.strerror or exc}")
            errors = tuple(str(e) for e in data.errors[:MAX_LISTED_ROW_ERRORS])
            if not data.rows:
                return fail(f"{Path(path).name} has no usable rows (a CSV with 'text' and 'label' columns is "
                            "needed).", len(data.errors), errors)
            try:
                evaluation = evaluate_labelled(ctx.engine, data.rows,
                                               progress=lambda done, total: ctx.progress(LabelledProgress(done, total)),
                                               cancel=ctx.cancelled, batch_size=max(1, self.config.batch_size))
                recorded, fitted, explanation = 0, "", ""
                if record and not evaluation.cancelled and len(evaluation.rows):
                    refits = cal.record_labelled(evaluation, str(Path(path).resolve()))
                    recorded = len(evaluation.rows)
                    fitted = refits[-1].label if refits else ""
                    explanation = cal.status(evaluation.model_id, evaluation.model_version).explanation
                    self.outcomesChanged.emit()
            except Exception as exc:
                log.exception("evaluating %s failed", path)
                return fail(f"Evaluating {Path(path).name} failed: {exc}", len(data.errors), errors)
            return LabelledSummary(path, len(evaluation.rows), len(data.rows), len(data.errors), errors,
                                   evaluation.model_id, evaluation.model_version, evaluation.metrics, recorded,
                                   fitted, explanation, evaluation.cancelled, "")

        op = self.op("Evaluating a labelled file", run, lane="calibration")
        op.on_progress(on_progress).on_success(on_done).on_failure(lambda message: on_done(fail(message)))
        self._labelled = op
        return op.run()

    def cancel_labelled(self) -> None:
        if self._labelled is not None:
            self._labelled.cancel()

    def refit(self, model_id: str, version: str, method: str = "auto", scheme: str | None = None, *,
              confirm: bool = False) -> None:
        """Fit a new calibrator on the calibration lane; the outcome arrives on ``refitted``.
        ``confirm``: the operator (the desk's user) makes it active even if the acceptance rule refuses
        it, after seeing both diagrams; the override is audited with their name."""
        from engine.users import current_user

        confirmed_by = current_user() if confirm else ""

        def run(ctx: OpContext) -> RefitOutcome | None:
            return refit_now(ctx.engine.calibration, model_id, version, method, scheme, automatic=False,
                             confirmed_by=confirmed_by)

        self.op("Refitting a calibrator", run, lane="calibration").on_success(self.refitted.emit) \
            .on_failure(lambda message: self.refitted.emit(
                RefitOutcome(model_id, version, method or "", scheme or "", "", False, message))).run()

    def refit_if_due(self, model_id: str, version: str) -> None:
        """The refit policy's automatic refit (after analyst verdicts), on the calibration lane."""
        def run(ctx: OpContext) -> RefitOutcome | None:
            return refit_now(ctx.engine.calibration, model_id, version, None, None, automatic=True)

        self.op("Refitting a calibrator", run, lane="calibration") \
            .on_success(lambda outcome: self.refitted.emit(outcome) if outcome is not None else None).run()

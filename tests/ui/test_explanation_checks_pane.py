"""The detail pane shows what was checked (#19.6): which faithfulness checks passed, the fallback banner
and why, a disagreement with the classifier, and what the model was (local file, endpoint host only,
version). A real Desk whose model budget leaves no generator (the evidence-based answer, no LLM time);
the model-written cases are that real answer re-labelled as an engine would hand them over, sent
through the explain feature's own ``finished`` feed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.bridge.desk import Desk
from app.bridge.explain import _banner
from engine.config import Config
from engine.reasoning.checks import Check
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.panels.signal_detail import SignalDetailPane

NO_LLM_BUDGET_MB = 150  # the embedder fits, no generator does
CONTEXT = ["Apple shares rise as iPhone demand stays strong", "Oil prices slump on OPEC output hike"]
TARGET = "$AAPL beats earnings estimates as iPhone sales hit a record"


@pytest.fixture
def started_desk(qtbot, ui_data_dir: Path):
    desk = Desk(Config(model_memory_limit_mb=NO_LLM_BUDGET_MB), ui_data_dir)
    with qtbot.waitSignal(desk.ready, timeout=ENGINE_TIMEOUT_MS):
        desk.start()
    yield desk
    assert desk.shutdown(), "engine threads did not stop"


def _pane(qtbot, desk, settings) -> SignalDetailPane:
    pane = SignalDetailPane(desk.explain, settings, auto_explain_toggle=False)
    qtbot.addWidget(pane)
    pane.resize(620, 900)
    pane.show()
    return pane


def _scored(qtbot, desk) -> list:
    signals: list = []
    desk.explain.op("Scoring test headlines", lambda ctx: ctx.engine.analyze_batch(CONTEXT + [TARGET])) \
        .on_success(signals.extend).run()
    qtbot.waitUntil(lambda: len(signals) == 3, timeout=ENGINE_TIMEOUT_MS)
    return signals


def test_checks_fallback_banner_disagreement_and_model_are_shown(qtbot, started_desk, settings) -> None:
    desk = started_desk
    pane = _pane(qtbot, desk, settings)
    shown = pane.explanation
    target = _scored(qtbot, desk)[-1]
    pane.show_signal(target)
    assert shown.checks.text() == "–" and not shown.disagreement.isVisible()

    ready: list = []
    desk.explain.finished.connect(ready.append)
    pane.explain()
    qtbot.waitUntil(lambda: pane.shown_view is not None, timeout=ENGINE_TIMEOUT_MS)
    view = ready[-1]
    # No generator fits: the evidence-based answer, every check run on it and passed, the banner saying why.
    assert view.fallback_used and view.engine_status == "fallback_no_model"
    assert shown.check_marks() == {"entities": "✓", "numbers": "✓", "citations": "✓", "consistency": "✓",
                                   "sentiment": "✓"}
    assert "agreement" in shown.checks.text() and "every number occurs" in shown.checks.toolTip()
    assert pane.banner.isVisible() and pane.banner.property("kind") == "warning"
    assert pane.banner.text().startswith(view.fallback_banner)
    assert "no language model is available" in pane.banner.text()
    assert shown.model_label.text() == "no language model was asked"
    assert not shown.disagreement.isVisible()
    save_screenshot(pane, "detail_checks_fallback")

    # A model's answer that passed its blocking checks but disagrees with the classifier, written by an
    # endpoint: the disagreement has its own line, the model its id, version and the endpoint's host only.
    disagreeing = Check("sentiment", False, f"disagreement: the answer says bearish, the classifier says "
                                            f"{target.label} ({target.confidence:.0%})", blocking=False)
    answered = dataclasses.replace(
        view, request_id=0, fallback_used=False, status="ok", engine_status="ok", fallback_banner="",
        reason="Written by endpoint-llama.", model_id="endpoint-llama", model_version="llama3.1:8b",
        model_source="endpoint llm.example.com:8443, model llama3.1:8b", sentiment="bearish",
        checks=(*view.checks[:-1], disagreeing), audit_id=(view.audit_id or 0) + 1)
    desk.explain.finished.emit(answered)
    qtbot.waitUntil(lambda: pane.shown_view is answered, timeout=ENGINE_TIMEOUT_MS)
    assert shown.disagreement.isVisible() and "the answer says bearish" in shown.disagreement.text()
    assert shown.check_marks()["sentiment"] == "⚠" and shown.check_marks()["entities"] == "✓"
    assert shown.model_label.text() == "endpoint-llama llama3.1:8b · endpoint llm.example.com:8443, model llama3.1:8b"
    assert "https://" not in shown.model_label.text() and not pane.banner.isVisible()
    save_screenshot(pane, "detail_checks_disagreement")

    # A local model whose answers failed the checks twice: the banner names the check that failed last.
    errors = ("attempt 1: entities: not in the headline, its assets or a cited source: Tesla",
              "attempt 2: numbers: not in the headline or a cited source: 30 day")
    fell_back = dataclasses.replace(
        view, request_id=0, engine_status="fallback_checks", model_id="smollm2-135m-instruct",
        model_version="1.0.0", model_source="local file SmolLM2-135M-Instruct.Q4_1.gguf",
        fallback_banner=_banner(True, "fallback_checks", errors), audit_id=(view.audit_id or 0) + 2)
    desk.explain.finished.emit(fell_back)
    qtbot.waitUntil(lambda: pane.shown_view is fell_back, timeout=ENGINE_TIMEOUT_MS)
    assert "failed the faithfulness checks" in pane.banner.text()
    assert "Last attempt: numbers: not in the headline or a cited source: 30 day" in pane.banner.text()
    assert shown.model_label.text() == ("smollm2-135m-instruct 1.0.0 · local file "
                                        "SmolLM2-135M-Instruct.Q4_1.gguf")
    save_screenshot(pane, "detail_checks_failed_fallback")

    # Another signal, not explained yet: nothing of the last one's checks or model stays on show.
    pane.show_signal(None)
    assert shown.checks.text() == "–" and shown.model_label.text() == "–" and not shown.disagreement.isVisible()

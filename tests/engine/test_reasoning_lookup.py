"""What the desk reads around an explanation (cited sources, the stored explanation, the event
class), the auto-explain decision with the desk's own toggle, and that a cancelled run is audited
but never becomes a signal's explanation. Real SQLite, real embedder, real SmolLM2 (one short call)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.reasoning.audit import latest_for_signal, read_audit
from engine.reasoning.lookup import cited_source, describe_status, signal_event, stored_explanation

NEWS = ["Apple shares rise as iPhone demand stays strong", "$AAPL surges after record earnings beat, raises guidance",
        "Federal Reserve holds interest rates steady, as expected"]


@pytest.fixture
def no_llm_engine(data_dir: Path) -> Engine:
    # A memory budget no generator fits: explanations come from the template at once.
    engine = Engine(Config(model_memory_limit_mb=150), data_dir)
    yield engine
    engine.close()


def test_cited_sources_stored_explanations_and_event_classes(no_llm_engine: Engine) -> None:
    engine = no_llm_engine
    signals = engine.analyze_batch(NEWS)
    note_id = engine.reasoning.add_note("AAPL iPhone cycle strong", signal_id=signals[0].id, author="tester")

    src = cited_source(engine.store, f"signal:{signals[0].id}")
    assert (src.kind, src.text, src.label, src.origin) == ("signal", NEWS[0], signals[0].label, "paste")
    assert src.confidence == pytest.approx(signals[0].confidence) and src.model.startswith(signals[0].model_id)
    note = engine.reasoning.source(f"note:{note_id}")
    assert (note.kind, note.text, note.origin, note.signal_id, note.label) == (
        "note", "AAPL iPhone cycle strong", "tester", signals[0].id, None)
    for bad in ("signal:0", "note:x", "idea:1", "", "signal:1; DROP TABLE signals"):
        with pytest.raises(ValueError, match="not a cited id"):
            cited_source(engine.store, bad)
    with pytest.raises(ValueError, match="no longer stored"):
        cited_source(engine.store, "note:999")

    assert stored_explanation(engine.store, signals[1].id) is None
    x = engine.explain(signals[1].id, chain=True)
    stored = engine.reasoning.latest(signals[1].id)
    assert stored.audit_id == x.audit_id and stored.signal == x.signal and stored.chain == x.chain
    assert stored.status == x.status == "fallback_no_model" and stored.fallback_used
    assert [r["id"] for r in stored.retrieved] == [r.id for r in x.retrieved]
    assert "no language model" in describe_status(stored.status)

    assert signal_event(engine.store, signals[1].id).category == "earnings"  # from the stored text
    assert signal_event(None, None, NEWS[2]).category == "macro"
    assert signal_event(None, None, "hello there").category == "other"


def test_high_impact_follows_the_desks_toggle_and_stops_when_the_lane_backs_up(no_llm_engine: Engine) -> None:
    engine = no_llm_engine
    high, neutral = engine.analyze_batch([NEWS[1], NEWS[2]])
    service = engine.reasoning
    assert not service.settings.auto_explain and not service.high_impact(high)  # setting off by default
    assert service.high_impact(high, enabled=True) and not service.high_impact(high, enabled=False)
    assert not service.high_impact(neutral, enabled=True)

    release = threading.Event()
    blocker = service.lane.submit(release.wait, 30)  # occupies the lane thread
    queued = [service.lane.submit(lambda: None) for _ in range(service.settings.auto_explain_max_pending)]
    try:
        assert not service.high_impact(high, enabled=True)  # auto-explain never floods the lane
    finally:
        release.set()
    blocker.result(30)
    for f in queued:
        f.result(30)
    assert service.high_impact(high, enabled=True)


def test_a_cancelled_explanation_is_audited_but_not_kept_as_the_signals(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    try:
        (sig,) = engine.analyze_batch([NEWS[1]])
        x = engine.explain(sig.id, should_stop=lambda: True)
        assert x.status == "fallback_cancelled" and x.audit_id is not None
        assert read_audit(engine.store, x.audit_id).status == "fallback_cancelled"
        assert latest_for_signal(engine.store, sig.id) is None
    finally:
        engine.close()

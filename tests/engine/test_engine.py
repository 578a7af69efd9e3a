from dataclasses import replace
from pathlib import Path

from engine.config import Config
from engine.engine import Engine
from engine.store import DB_FILE_NAME, Store


def test_analyze_persists_a_complete_signal(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    sig = engine.analyze("$TSLA soars after record deliveries beat estimates", source="paste")
    assert sig.id is not None
    assert sig.entities == ("TSLA",)
    assert sig.label == "bullish"
    assert abs(sum(sig.probs) - 1.0) < 1e-5
    assert sig.confidence == max(sig.probs)
    assert -1.0 <= sig.compound <= 1.0
    assert sig.model_id == engine.sentiment_status.model_id
    assert sig.latency_ms > 0
    engine.close()
    store = Store(data_dir / DB_FILE_NAME)
    # Stored raw; the calibrated view (the model's shipped calibrator, if any) is attached on the way out.
    assert store.recent_signals(5) == [replace(sig, calibrated_probs=None, calibrated_confidence=None, calibrator="")]
    store.close()


def test_batch_keeps_order_and_flags(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    texts = ["$A jumps on upgrade", "$B plunges on guidance cut", "$C to hold annual meeting"]
    signals = engine.analyze_batch(texts, "paste", truncated=[False, True, False])
    assert [s.text for s in signals] == texts
    assert [s.truncated for s in signals] == [False, True, False]
    assert [s.id for s in signals] == sorted(s.id for s in signals)
    assert engine.analyze_batch([], "paste") == []
    engine.close()


def test_not_persisted_when_asked(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    assert engine.analyze("$A up", persist=False).id is None
    assert engine.store.count_signals() == 0
    engine.close()


def test_unknown_model_degrades_to_lexicon_with_reason(data_dir: Path) -> None:
    engine = Engine(Config(sentiment_model="no-such-model"), data_dir)
    status = engine.sentiment_status
    assert status.degraded
    assert "no-such-model" in status.reason
    assert engine.analyze("$A plunges").label == "bearish"
    engine.close()


def test_lexicon_on_request_is_not_degraded(data_dir: Path) -> None:
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    assert engine.sentiment_status.backend == "lexicon"
    assert not engine.sentiment_status.degraded
    engine.close()


def test_signals_show_calibrated_confidence_once_a_calibrator_exists(data_dir: Path) -> None:
    from engine.calibration.labelled import evaluate_labelled, load_labelled_csv
    from engine.monitoring import model_key
    from engine.resources import resources_dir

    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    first = engine.analyze("$AAPL jumps after earnings beat")
    assert first.calibrated_confidence is None and first.shown_confidence == first.confidence

    data = load_labelled_csv(resources_dir() / "demo" / "tfns_dev_sample.csv")
    evaluation = evaluate_labelled(engine, data.rows)
    fitted = engine.calibration.record_labelled(evaluation, "tfns_dev_sample", refit=False)
    assert not fitted
    stored = engine.calibration.refit(first.model_id, first.model_version)
    assert stored is not None

    later = engine.analyze("$AAPL jumps after earnings beat")
    assert later.calibrator and later.calibrated_confidence is not None
    assert later.confidence == first.confidence  # the raw figure is kept as it was
    reopened = engine.recent_signals(5)
    assert all(s.calibrated_confidence is not None for s in reopened)
    # Every scored batch also feeds the monitor's per-model latency window.
    stats = engine.monitor.latency.stats(model_key(first.model_id, first.model_version))
    assert stats is not None and stats.items >= 2
    engine.close()

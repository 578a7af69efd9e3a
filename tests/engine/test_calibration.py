"""Calibration: metrics against hand-computed numbers, calibrators, outcomes, storage, refit policy.

Real components throughout: TFNS *train* rows (never sent_valid.csv), the shipped lexicon
model through the Engine, and real SQLite files.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.calibration import (
    RefitPolicy,
    brier_score,
    calibration_metrics,
    calibrator_from_dict,
    ece_mce,
    fit_calibrator,
    reliability_diagram,
)
from engine.calibration.calibrators import IsotonicMap, PlattMap, TopLabelCalibrator
from engine.calibration.fitting import choose_calibrator, fit_and_report, stratified_halves
from engine.calibration.labelled import evaluate_labelled, parse_label, parse_labelled_csv
from engine.calibration.outcomes import Outcome, analyst_outcome, check_direction, market_outcomes
from engine.calibration.service import CalibrationService
from engine.training.calibrate import tfns_dev_split
from engine.config import Config
from engine.engine import Engine
from engine.sentiment.base import LABELS
from engine.store import Store
from tests.conftest import SHARED_DATA

TFNS = SHARED_DATA / "tfns"

# --- metrics: a hand-computed example -------------------------------------------------------
# Six items, 15 equal-width bins over top-label confidence (bin b covers (b/15, (b+1)/15]).
#   item  probs (bear, bull, neut)  true  conf  right  bin
#   1     (0.05, 0.95, 0.00)        1     0.95  yes    14  (0.933, 1.000]
#   2     (0.97, 0.02, 0.01)        2     0.97  no     14
#   3     (0.20, 0.10, 0.70)        2     0.70  yes    10  (0.667, 0.733]
#   4     (0.10, 0.68, 0.22)        1     0.68  yes    10
#   5     (0.72, 0.08, 0.20)        1     0.72  no     10
#   6     (0.45, 0.30, 0.25)        0     0.45  yes     6  (0.400, 0.467]
# bin 14: n=2, conf (0.95+0.97)/2 = 0.96, acc 1/2        -> gap 0.46
# bin 10: n=3, conf (0.70+0.68+0.72)/3 = 0.70, acc 2/3   -> gap 0.70 - 0.6667 = 0.0333
# bin  6: n=1, conf 0.45, acc 1                          -> gap 0.55
# ECE = 2/6 * 0.46 + 3/6 * 0.03333 + 1/6 * 0.55 = 0.15333 + 0.01667 + 0.09167 = 0.26167
# MCE = max(0.46, 0.0333, 0.55) = 0.55
# Brier per item, sum_k (p_k - 1[y=k])^2:
#   1: 0.05^2 + 0.05^2 + 0                 = 0.0050
#   2: 0.97^2 + 0.02^2 + 0.99^2            = 1.9214
#   3: 0.20^2 + 0.10^2 + 0.30^2            = 0.1400
#   4: 0.10^2 + 0.32^2 + 0.22^2            = 0.1608
#   5: 0.72^2 + 0.92^2 + 0.20^2            = 1.4048
#   6: 0.55^2 + 0.30^2 + 0.25^2            = 0.4550
#   mean = 4.0870 / 6                      = 0.68117
HAND_PROBS = np.array([
    [0.05, 0.95, 0.00], [0.97, 0.02, 0.01], [0.20, 0.10, 0.70],
    [0.10, 0.68, 0.22], [0.72, 0.08, 0.20], [0.45, 0.30, 0.25]])
HAND_Y = np.array([1, 2, 2, 1, 1, 0])


def test_ece_mce_brier_match_the_hand_computed_example() -> None:
    ece, mce = ece_mce(HAND_PROBS, HAND_Y)
    assert ece == pytest.approx(0.261667, abs=1e-6)
    assert mce == pytest.approx(0.55, abs=1e-9)
    assert brier_score(HAND_PROBS, HAND_Y) == pytest.approx(4.087 / 6, abs=1e-9)
    m = calibration_metrics(HAND_PROBS, HAND_Y)
    assert (m.n, m.accuracy) == (6, pytest.approx(4 / 6))


def test_reliability_diagram_bins_of_the_hand_example() -> None:
    d = reliability_diagram(HAND_PROBS, HAND_Y)
    assert len(d.bins) == 15 and d.n == 6
    filled = {i: b for i, b in enumerate(d.bins) if b.count}
    assert sorted(filled) == [6, 10, 14]
    assert (filled[14].count, filled[14].mean_confidence, filled[14].accuracy) == (2, pytest.approx(0.96), 0.5)
    assert (filled[10].count, filled[10].mean_confidence, filled[10].accuracy) == (3, pytest.approx(0.70), pytest.approx(2 / 3))
    assert filled[6].lo == pytest.approx(6 / 15) and filled[6].hi == pytest.approx(7 / 15)
    assert json.loads(json.dumps(d.to_dict()))["bins"][0]["accuracy"] is None  # empty bins serialise as null


def test_confidence_of_one_is_in_the_last_bin_and_ece_matches_the_model_card_definition() -> None:
    from engine.training.metrics import expected_calibration_error as card_ece

    d = reliability_diagram(np.array([[0.0, 1.0, 0.0]]), np.array([1]))
    assert d.bins[-1].count == 1
    rng = np.random.default_rng(3)
    p = rng.dirichlet([0.6, 0.6, 0.6], size=500)
    y = rng.integers(0, 3, size=500)
    assert ece_mce(p, y)[0] == pytest.approx(card_ece(p, y, 15), abs=1e-12)


# --- real model outputs on TFNS train rows ----------------------------------------------------
@pytest.fixture(scope="module")
def lexicon_engine() -> Engine:
    engine = Engine(Config(sentiment_model="lexicon"), None)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def dev_scores(lexicon_engine: Engine) -> tuple[np.ndarray, np.ndarray]:
    """Lexicon probabilities on the TFNS train dev split (the fine-tuning run's split)."""
    dev = tfns_dev_split(TFNS)
    signals = lexicon_engine.analyze_batch(dev.texts, persist=False)
    return np.array([s.probs for s in signals], dtype=np.float64), np.array(dev.labels)


SPECS = [("isotonic", "top_label"), ("platt", "top_label"), ("isotonic", "one_vs_rest"),
         ("platt", "one_vs_rest"), ("temperature", "multiclass")]


@pytest.mark.parametrize("method,scheme", SPECS)
def test_calibrators_survive_a_json_round_trip_exactly(dev_scores, method: str, scheme: str) -> None:
    p, y = dev_scores
    cal = fit_calibrator(p, y, method, scheme)
    text = json.dumps(cal.to_dict())
    assert "pickle" not in text
    again = calibrator_from_dict(json.loads(text))
    assert (again.method, again.scheme) == (method, scheme)
    out = cal.transform(p)
    assert np.array_equal(again.transform(p), out)
    assert np.allclose(out.sum(axis=1), 1.0) and (out >= 0).all() and (out <= 1).all()


def test_isotonic_params_are_the_sklearn_thresholds(dev_scores) -> None:
    from sklearn.isotonic import IsotonicRegression

    p, y = dev_scores
    cal = fit_calibrator(p, y, "isotonic", "top_label")
    conf, right = p.max(axis=1), (p.argmax(axis=1) == y).astype(float)
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(conf, right)
    params = cal.to_dict()["params"]["map"]
    assert params["x"] == ref.X_thresholds_.tolist() and params["y"] == ref.y_thresholds_.tolist()
    grid = np.linspace(0.3, 1.0, 50)
    assert np.allclose(cal.confidence(grid), ref.predict(grid))


def test_top_label_calibration_keeps_every_prediction(dev_scores) -> None:
    p, y = dev_scores
    for method in ("isotonic", "platt"):
        q = fit_calibrator(p, y, method, "top_label").transform(p)
        assert np.array_equal(q.argmax(axis=1), p.argmax(axis=1))


def test_calibration_fitted_on_dev_does_not_worsen_ece_on_other_train_rows(lexicon_engine, dev_scores) -> None:
    from engine.training.data import read_tfns, train_dev_split

    train, _dev = train_dev_split(read_tfns(TFNS / "sent_train.csv"), 0.1, 42)
    held = train.take(range(0, len(train), 4))  # ~2,150 rows the calibrator never saw
    probs = np.array([s.probs for s in lexicon_engine.analyze_batch(held.texts, persist=False)])
    p, y = dev_scores
    rep = fit_and_report(p, y, probs, np.array(held.labels), "isotonic", "top_label")
    assert rep.after.ece < rep.before.ece
    assert rep.after.brier <= rep.before.brier + 1e-3


def test_auto_choice_uses_only_the_calibration_data(dev_scores) -> None:
    p, y = dev_scores
    method, scheme, cv = choose_calibrator(p, y, folds=3)
    assert f"{method}/{scheme}" == min(cv, key=cv.get)
    assert set(cv) == {f"{m}/{s}" for m, s in SPECS}


# --- monotonicity (property-based) ---------------------------------------------------------
confidences = st.lists(st.floats(min_value=1 / 3, max_value=1.0, allow_nan=False), min_size=2, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conf=confidences, data=st.data())
def test_fitted_maps_never_decrease(conf: list[float], data) -> None:
    right = data.draw(st.lists(st.booleans(), min_size=len(conf), max_size=len(conf)))
    grid = np.linspace(0.0, 1.0, 201)
    for mapping in (IsotonicMap(), PlattMap()):
        values = mapping.fit(np.array(conf), np.array(right, dtype=int))(grid)
        assert np.all(np.diff(values) >= -1e-12), mapping.kind
        assert np.all((values >= 0) & (values <= 1))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.floats(0.01, 1), st.floats(0.01, 1), st.floats(0.01, 1)), min_size=1, max_size=30),
       method=st.sampled_from(["isotonic", "platt"]))
def test_top_label_transform_is_a_distribution_with_the_same_argmax(rows, method, dev_scores) -> None:
    p_fit, y_fit = dev_scores
    cal = fit_calibrator(p_fit, y_fit, method, "top_label")
    p = np.array(rows)
    p = p / p.sum(axis=1, keepdims=True)
    q = cal.transform(p)
    assert np.allclose(q.sum(axis=1), 1.0)
    assert np.array_equal(q.argmax(axis=1), p.argmax(axis=1))


def test_platt_never_gets_a_negative_slope() -> None:
    # Confidence that anti-predicts correctness: the map falls back to the base rate (flat).
    conf = np.array([0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
    right = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    m = PlattMap().fit(conf, right)
    assert m.a == 0.0 and np.allclose(m(conf), 0.5)
    with pytest.raises(ValueError):
        calibrator_from_dict({"format": 1, "method": "platt", "scheme": "top_label", "classes": 3,
                              "params": {"map": {"kind": "platt", "a": -1.0, "b": 0.0}}})


# --- refit policy -------------------------------------------------------------------------------
def test_refit_policy_triggers() -> None:
    policy = RefitPolicy(every_n=200, min_samples=300)
    assert not policy.due(299, None)  # too few for a first fit
    assert policy.due(300, None)  # first fit as soon as there are enough
    assert not policy.due(499, 300)  # 199 new since the last fit
    assert policy.due(500, 300)  # 200 new
    assert policy.next_at(120, None) == 300 and policy.next_at(420, 300) == 500
    assert "120 of 300" in policy.explain(120, None)
    with pytest.raises(ValueError):
        RefitPolicy(every_n=0)


def _outcomes(p: np.ndarray, y: np.ndarray, version: str = "1.0.0") -> list[Outcome]:
    return [Outcome("labelled_file", "lexicon-fin", version, tuple(map(float, pi)), int(pi.argmax()) == yi,
                    LABELS[yi], text=f"row {i}", origin="train.csv") for i, (pi, yi) in enumerate(zip(p, y))]


def _sharpened(p: np.ndarray, power: float) -> np.ndarray:
    """The same predictions made overconfident (p ** power, renormalised): calibration has work to do."""
    q = p ** power
    return q / q.sum(axis=1, keepdims=True)


def test_service_refits_every_n_outcomes_and_the_calibrator_survives_a_restart(tmp_path: Path, dev_scores) -> None:
    p, y = dev_scores
    # An overconfident model that drifts further after 300 outcomes: each due refit is better out
    # of fold than the view it replaces, as the acceptance rule requires before saving it.
    outcomes = _outcomes(np.vstack([_sharpened(p[:300], 3), _sharpened(p[300:700], 6)]), y[:700])
    path = tmp_path / "signaldesk.db"
    store = Store(path)
    service = CalibrationService(store, RefitPolicy(every_n=200, min_samples=300), method="isotonic")
    assert service.record(outcomes[:299]) == []  # below min_samples
    first = service.record(outcomes[299:300])
    assert len(first) == 1 and first[0].n == 300 and first[0].metrics["outcomes_at_fit"] == 300
    assert service.record(outcomes[300:499]) == []  # 199 since the last fit
    second = service.record(outcomes[499:500])
    assert [c.id for c in second] == [first[0].id + 1]
    assert service.status("lexicon-fin", "1.0.0").next_refit_at == 700
    assert service.active("other-model", "1.0.0") == (None, None)  # nothing leaks across versions
    before_restart = service.active("lexicon-fin", "1.0.0")[1].transform(p)
    store.close()

    store = Store(path)
    again = CalibrationService(store)
    stored, cal = again.active("lexicon-fin", "1.0.0")
    assert stored.id == second[0].id and stored.method == "isotonic"
    assert stored.metrics["holdout"]["after"]["n"] == 500
    assert np.array_equal(cal.transform(p), before_restart)
    row = sqlite3.connect(path).execute("SELECT params FROM calibrators ORDER BY id DESC").fetchone()
    assert json.loads(row[0])["params"]["map"]["kind"] == "isotonic"  # plain JSON, no pickle
    store.close()


def test_calibrated_signals_keep_the_raw_confidence(tmp_path: Path, lexicon_engine, dev_scores) -> None:
    p, y = dev_scores
    store = Store(tmp_path / "db.sqlite")
    service = CalibrationService(store, RefitPolicy(every_n=50, min_samples=300), method="platt")
    service.record(_outcomes(p[:400], y[:400], version=lexicon_engine.sentiment_status.version))
    raw = lexicon_engine.analyze_batch(["Apple beats estimates and raises guidance", "Fed meeting today"], persist=False)
    other = [replace(raw[0], model_version="9.9.9")]
    views = service.calibrate(raw + other)
    assert [v.signal for v in views] == raw + other
    assert views[0].calibrated and views[0].calibrator.startswith("platt/top_label #")
    assert views[0].raw_confidence == raw[0].confidence and views[0].confidence != raw[0].confidence
    assert views[0].label == raw[0].label
    assert not views[2].calibrated and views[2].confidence == other[0].confidence  # no calibrator for 9.9.9
    store.close()


# --- outcome sources ----------------------------------------------------------------------------
def test_labels_by_name_or_tfns_code() -> None:
    assert [parse_label(v) for v in ("Bearish", "NEGATIVE", " bullish ", "Positive", "neutral", "0", "1", "2", "1.0")] \
        == [0, 0, 1, 1, 2, 0, 1, 2, 1]
    for bad in ("", "3", "up", "-1"):
        with pytest.raises(ValueError):
            parse_label(bad)


def test_labelled_csv_reports_bad_rows_with_line_numbers() -> None:
    data = ("id,Text,LABEL\n"
            "1,Stocks rally,bullish\n"
            "2,,bearish\n"
            "3,Shares slide,sideways\n"
            "\n"
            "4,\"Multi\nline headline\",2\n"
            "5,Bad bytes \xff,0\n").encode("latin-1")
    parsed = parse_labelled_csv(data)
    assert [(r.line, r.text, r.label) for r in parsed.rows] == [(2, "Stocks rally", 1), (6, "Multi\nline headline", 2)]
    reasons = {e.line: e.reason for e in parsed.errors}
    assert reasons[3] == "empty text" and "unknown label 'sideways'" in reasons[4]
    assert "not UTF-8" in reasons[8]
    missing = parse_labelled_csv(b"headline,label\nx,1\n")
    assert not missing.rows and "missing column(s) text" in missing.errors[0].reason


def test_evaluate_labelled_reports_progress_and_can_be_cancelled(lexicon_engine) -> None:
    rows = parse_labelled_csv(TFNS.joinpath("sent_train.csv").read_bytes()).rows[:130]
    calls: list[tuple[int, int]] = []
    ev = evaluate_labelled(lexicon_engine, rows, progress=lambda d, t: calls.append((d, t)), batch_size=50)
    assert calls == [(0, 130), (50, 130), (100, 130), (130, 130)]
    assert ev.probs.shape == (130, 3) and ev.metrics.n == 130 and not ev.cancelled
    assert (ev.model_id, ev.model_version) == (lexicon_engine.sentiment_status.model_id,
                                               lexicon_engine.sentiment_status.version)
    seen = []
    stopped = evaluate_labelled(lexicon_engine, rows, progress=lambda d, t: seen.append(d),
                                cancel=lambda: len(seen) > 2, batch_size=50)
    assert stopped.cancelled and len(stopped.rows) == 100 and stopped.probs.shape == (100, 3)


def test_analyst_feedback_right_wrong_or_label_and_a_later_verdict_replaces(tmp_path: Path) -> None:
    engine = Engine(Config(sentiment_model="lexicon"), tmp_path)
    service = CalibrationService(engine.store)
    sig = engine.analyze("$AAPL upgraded to buy at Morgan Stanley")
    assert sig.label == "bullish"
    o = service.record_feedback(sig.id, right=True, analyst="ana")
    assert (o.correct, o.label, o.source) == (True, "bullish", "analyst")
    o = service.record_feedback(sig.id, right=False)
    assert (o.correct, o.label) == (False, None)  # "wrong" alone does not say which class was right
    o = service.record_feedback(sig.id, label="Neutral", note="already priced in")
    assert (o.correct, o.label) == (False, "neutral")
    assert service.repo.count_outcomes(sig.model_id, sig.model_version, ["analyst"]) == 1
    assert service.repo.analyst_verdict(sig.id).detail == {"note": "already priced in"}
    with pytest.raises(ValueError):
        analyst_outcome(sig, right=True, label="bullish")
    with pytest.raises(KeyError):
        service.record_feedback(9999, right=True)
    engine.close()


def test_market_direction_after_fees() -> None:
    t0 = 1_700_000_000.0
    prices = [(t0 - 60, 99.0), (t0 + 30, 100.0), (t0 + 3600, 100.15), (t0 + 7200, 101.0), (t0 + 90000, 97.0)]
    # Entry is the first price after the news (100.0 at t0+30), never the one before it.
    small = check_direction("bullish", t0, prices, horizon_s=3600)
    assert (small.entry_price, small.exit_price) == (100.0, 101.0)  # exit: first price at/after entry + 1 h
    assert small.realized == "bullish" and small.correct
    assert small.net_return == pytest.approx(0.01 - 0.002)
    tiny = check_direction("bullish", t0, prices, horizon_s=3000)  # +0.15 % < 0.2 % round-trip fees
    assert tiny.exit_price == 100.15 and tiny.realized == "neutral" and not tiny.correct
    assert check_direction("neutral", t0, prices, horizon_s=3000).correct
    down = check_direction("bearish", t0, prices, horizon_s=86400)
    assert down.realized == "bearish" and down.correct and down.net_return == pytest.approx(0.03 - 0.002)
    assert check_direction("bullish", t0, prices, horizon_s=10 * 86400) is None  # not resolved yet
    assert check_direction("bullish", t0 + 100000, prices, horizon_s=60) is None  # no price after the news


def test_market_outcomes_use_the_first_ticker_with_prices(tmp_path: Path) -> None:
    engine = Engine(Config(sentiment_model="lexicon"), tmp_path)
    sig = engine.analyze("$XYZ and $AAPL shares plunge after guidance cut")
    t0 = sig.received_at
    series = {"AAPL": [(t0 + 1, 200.0), (t0 + 86401, 190.0)]}
    asked: list[str] = []

    def lookup(symbol: str, start: float, end: float):
        asked.append(symbol)
        return series.get(symbol, [])

    got = market_outcomes([sig], lookup, horizon_s=86400)
    assert asked == ["XYZ", "AAPL"]  # XYZ has no prices, so AAPL decides
    assert len(got) == 1 and got[0].origin == "AAPL" and got[0].label == "bearish"
    assert got[0].correct == (sig.label == "bearish")
    CalibrationService(engine.store).record(got)
    assert CalibrationService(engine.store).repo.count_outcomes(sig.model_id, sig.model_version, ["market"]) == 1
    engine.close()


def test_stratified_halves_are_seeded_disjoint_and_complete() -> None:
    y = np.array([0] * 10 + [1] * 20 + [2] * 30)
    a1, b1 = stratified_halves(y, 0.5, seed=7)
    a2, b2 = stratified_halves(y, 0.5, seed=7)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert sorted(np.concatenate([a1, b1]).tolist()) == list(range(60))
    assert np.bincount(y[a1]).tolist() == [5, 10, 15]


def test_top_label_calibrator_learns_from_right_wrong_only() -> None:
    # An over-confident model: right 40 % of the time at 0.6 and 60 % at 0.9. No true labels needed.
    conf = np.array([0.6] * 10 + [0.9] * 10)
    right = np.array([1] * 4 + [0] * 6 + [1] * 6 + [0] * 4, dtype=bool)
    cal = TopLabelCalibrator("isotonic").fit_correctness(conf, right)
    assert cal.confidence(np.array([0.6, 0.9])) == pytest.approx([0.4, 0.6])


def test_market_outcomes_from_the_price_store(tmp_path: Path) -> None:
    from engine.calibration.market_link import price_lookup
    from engine.market.prices import MarketData

    engine = Engine(Config(sentiment_model="lexicon"), tmp_path)
    sig = engine.analyze("$ACME shares plunge after guidance cut")
    day = 86400
    first = int(sig.received_at // day + 1) * day  # the next daily bar opens after the news
    csv_text = "Date,Open,High,Low,Close,Volume\n" + "".join(
        f"{first + i * day},{o},{o + 1},{o - 1},{o},1000\n" for i, o in enumerate([100.0, 96.0, 95.0]))
    market = MarketData(engine.store)
    market.import_bytes(csv_text.encode(), "ACME", source="test.csv")
    got = market_outcomes([sig], price_lookup(market), horizon_s=day)
    assert len(got) == 1
    assert got[0].detail["entry_price"] == 100.0 and got[0].detail["exit_price"] == 96.0  # opens, not closes
    assert got[0].label == "bearish" and got[0].correct == (sig.label == "bearish")
    assert price_lookup(market)("NOPE", 0, 2e9) == [] and price_lookup(market)("bad symbol!", 0, 2e9) == []
    market.close()
    engine.close()


def test_labelled_file_outcomes_replace_a_reimport_and_feed_the_panel_report(tmp_path: Path, lexicon_engine) -> None:
    data = parse_labelled_csv(TFNS.joinpath("sent_train.csv").read_bytes())
    ev = evaluate_labelled(lexicon_engine, data.rows[:400])
    store = Store(tmp_path / "db.sqlite")
    service = CalibrationService(store, RefitPolicy(every_n=100, min_samples=300), method="isotonic",
                                 scheme="one_vs_rest")
    fitted = service.record_labelled(ev, origin="/data/train.csv")
    assert len(fitted) == 1 and fitted[0].scheme == "one_vs_rest" and fitted[0].n == 400
    assert service.record_labelled(ev, origin="/data/train.csv") == []  # same file again: replaced, not doubled
    key = (ev.model_id, ev.model_version)
    assert service.repo.count_outcomes(*key) == 400
    status = service.status(*key)
    assert status.by_source == {"labelled_file": 400} and not status.refit_due and status.active.id == fitted[0].id
    rep = service.report(*key, sources=["labelled_file"])
    assert rep.in_sample and rep.before.n == rep.after.n == 400 and rep.calibrator == fitted[0].label
    assert rep.after.ece < rep.before.ece  # in-sample, so it must improve
    honest = fitted[0].metrics["holdout"]
    assert honest["before"]["n"] == 400 and len(honest["after_diagram"]["bins"]) == 15
    assert service.report("nobody", "0") is None
    store.close()


def test_whichever_backend_is_active_gets_its_own_calibrator(tmp_path: Path) -> None:
    # 1.0.0 by name: its calibrator was fitted on 9,543 TFNS rows, the premise below (the default
    # 1.1.0's was fitted on its three dev splits, and 320 TFNS rows may well beat it: that fit is kept).
    engine = Engine(Config(sentiment_model="finsent-minilm-l6"), tmp_path)
    status = engine.sentiment_status
    rows = parse_labelled_csv(TFNS.joinpath("sent_train.csv").read_bytes()).rows[:320]
    service = CalibrationService(engine.store, RefitPolicy(every_n=100, min_samples=300), method="isotonic")
    fitted = service.record_labelled(evaluate_labelled(engine, rows), origin="train-head")
    # The model ships a calibrator fitted on 9,543 rows: 320 rows of the analyst's do not
    # beat it out of fold, so the fit is refused for that very model version and the shipped one stays.
    refusal = service.last_refusal(status.model_id, status.version)
    assert fitted == [] and refusal is not None and refusal.n == 320, refusal
    assert refusal.reason.startswith("not better than the active isotonic/")
    (view,) = service.calibrate([engine.analyze("$NVDA soars after record quarter")])
    assert view.calibrated and view.signal.model_id == status.model_id
    assert view.label == view.signal.label and 0 < view.confidence <= 1
    engine.close()


def test_shipped_model_card_reports_calibration_before_and_after_with_the_target_verdict() -> None:
    """The card is rendered from the manifest's calibration record (written by engine.training.calibrate)."""
    import json

    from engine.training.calibrate import TARGET_ECE, card_note
    from engine.resources import models_dir
    from engine.training.card import render_card

    artifact = models_dir() / "finsent-minilm-l6"
    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    cal = manifest["calibration"]
    auto_name, auto = next((k, v) for k, v in cal["after"].items() if k.startswith("auto"))
    card = render_card(manifest)
    assert "### Calibration before and after" in card
    assert f"| none (raw) | {cal['before']['ece']:.4f}" in card
    assert f"| {auto_name} | {auto['ece']:.4f}" in card
    verdict = "is met" if auto["ece"] <= TARGET_ECE else "is not met"
    assert verdict in card_note({"after": cal["after"], "dev_raw": cal["dev_raw"], "before": cal["before"]})
    assert card == (artifact / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_a_shipped_calibrator_serves_first_and_the_analysts_outcomes_replace_it(tmp_path: Path, dev_scores) -> None:
    p, y = dev_scores
    shipped_cal = fit_calibrator(p, y, "temperature", "multiclass")
    asked: list[tuple[str, str]] = []

    def shipped(model_id: str, version: str):
        asked.append((model_id, version))
        return {"calibrator": shipped_cal.to_dict(), "n_fit": len(y), "fit_set": "dev rows"} if version == "1.0.0" else None

    store = Store(tmp_path / "db.sqlite")
    service = CalibrationService(store, RefitPolicy(every_n=50, min_samples=300), method="isotonic",
                                 scheme="top_label", shipped=shipped)
    stored, cal = service.active("lexicon-fin", "1.0.0")
    assert stored.sources == ("shipped",) and stored.n == len(y) and stored.metrics["shipped"]["fit_set"] == "dev rows"
    assert "outcomes_at_fit" not in stored.metrics  # the analyst's first fit is due at the policy minimum
    assert np.allclose(cal.transform(p[:5]), shipped_cal.transform(p[:5]))
    assert service.active("lexicon-fin", "2.0.0") == (None, None)  # another version: nothing shipped, raw
    # Stored once: a restart finds the row instead of storing a second copy.
    again = CalibrationService(store, shipped=shipped)
    assert again.active("lexicon-fin", "1.0.0")[0].id == stored.id
    assert len(again.repo.calibrators("lexicon-fin", "1.0.0")) == 1
    # 299 outcomes: not enough for a fit of their own; the 300th makes it due and replaces the shipped
    # one, which no longer fits this (now overconfident) model: better out of fold, so it is saved.
    outcomes = _outcomes(_sharpened(p[:300], 6), y[:300])
    assert service.record(outcomes[:299]) == []
    (fitted,) = service.record(outcomes[299:])
    assert fitted.sources != ("shipped",) and service.active("lexicon-fin", "1.0.0")[0].id == fitted.id
    store.close()


def test_a_broken_shipped_calibrator_leaves_raw_confidence(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    service = CalibrationService(store, shipped=lambda m, v: {"calibrator": {"method": "platt", "params": {}}})
    assert service.active("finsent-minilm-l6", "1.0.0") == (None, None)
    assert service.repo.calibrators() == []
    store.close()


def test_fold_indices_are_disjoint_stratified_and_cover_every_row() -> None:
    from engine.training.crossfit import fold_indices

    y = [0] * 50 + [1] * 100 + [2] * 250
    folds = fold_indices(y, 5, seed=42)
    assert sorted(np.concatenate(folds).tolist()) == list(range(400))
    assert all(np.bincount(np.asarray(y)[f]).tolist() == [10, 20, 50] for f in folds)
    assert [f.tolist() for f in fold_indices(y, 5, seed=42)] == [f.tolist() for f in folds]


def test_shipped_crossfit_rows_are_the_non_dev_train_rows() -> None:
    """Provenance of the calibration data: same rows and labels as the model's own split, never valid."""
    from engine.resources import models_dir
    from engine.training.crossfit import load_oof

    artifact = models_dir() / "finsent-minilm-l6"
    probs, labels = load_oof(artifact)
    rest = tfns_dev_split(TFNS, artifact, part="rest")
    assert labels.tolist() == rest.labels and probs.shape == (len(rest), 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # Out-of-fold predictions are worse than a model scoring its own training rows would be.
    acc = float((probs.argmax(axis=1) == labels).mean())
    assert 0.8 < acc < 0.95


def test_the_shipped_model_comes_calibrated_by_its_shipped_calibrator(tmp_path: Path) -> None:
    engine = Engine(Config(sentiment_model="finsent-minilm-l6"), tmp_path)
    status = engine.sentiment_status
    assert status.model_id == "finsent-minilm-l6"
    shipped = engine.models.spec(status.model_id).manifest["calibration"]["shipped"]
    sig = engine.analyze("$NVDA soars after record quarter")
    stored, cal = engine.calibration.active(status.model_id, status.version)
    assert stored.sources == ("shipped",) and stored.n == shipped["n_fit"] > 9000
    assert sig.calibrator == stored.label
    expected = cal.transform(np.array([sig.probs]))[0]
    assert sig.calibrated_confidence == pytest.approx(float(expected.max()))
    assert sig.confidence == pytest.approx(max(sig.probs))  # the raw one is kept
    engine.close()
    # A restart keeps the one stored row.
    engine = Engine(Config(sentiment_model="finsent-minilm-l6"), tmp_path)
    engine.analyze("$AAPL slips")
    assert len(engine.calibration.repo.calibrators(status.model_id, status.version)) == 1
    engine.close()


def test_the_ideas_cli_path_finds_the_shipped_calibrator_without_an_engine(tmp_path: Path) -> None:
    """A bare CalibrationService (as the ideas and calibrate commands build it) reads the model's manifest."""
    from engine.calibration.service import shipped_calibration

    record = shipped_calibration("finsent-minilm-l6", "1.0.0")
    assert record and record["calibrator"]["method"] == "isotonic"
    assert shipped_calibration("finsent-minilm-l6", "0.9.0") is None  # another version: nothing
    assert shipped_calibration("lexicon-fin", "1.1.0") is None  # a model that ships none
    assert shipped_calibration("../finsent-minilm-l6", "1.0.0") is None  # stored ids are never paths
    store = Store(tmp_path / "db.sqlite")
    stored, cal = CalibrationService(store).active("finsent-minilm-l6", "1.0.0")
    assert stored.sources == ("shipped",) and cal is not None
    store.close()

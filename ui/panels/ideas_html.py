"""The Ideas panel's HTML: an idea's detail view (rationale, sizing, risk, regime, market features,
provenance, audit trail) and the approved-ideas portfolio line.

Plain functions of the idea, its parsed snapshot and its audit trail: easy to test, no widget state.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any, Sequence

from engine.ideas.model import AuditEntry, TradeIdea
from engine.ideas.rationale import price_text
from engine.risk.config import RiskConfig
from ui.models.idea_table import STRATEGY_NAMES, humanise
from ui.widgets.asset_chart import PriceLevel

DEFAULT_TICK = RiskConfig().tick_size  # snapshots from before per-symbol ticks were recorded

if TYPE_CHECKING:
    from app.bridge.ideas import IdeaHistory, PortfolioSummary


def _pct(value: Any, digits: int = 2, signed: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"


def _num(value: Any, fmt: str = ".6g") -> str:
    return "–" if not isinstance(value, (int, float)) else format(value, fmt)


def idea_tick(snap: dict) -> float:
    """The price increment the revision was rounded to (its market data says), else the default."""
    tick = (snap.get("market_data") or {}).get("tick")
    return float(tick) if isinstance(tick, (int, float)) and tick > 0 else DEFAULT_TICK


def price(value: Any, tick: float) -> str:
    """A price as the engine rounded it: to the tick's decimals ("207.40"), never six digits."""
    return "–" if not isinstance(value, (int, float)) else price_text(float(value), tick)


def idea_levels(idea: TradeIdea, tick: float) -> list[PriceLevel]:
    """The idea's entry, stop-loss and take-profit as chart lines."""
    return [PriceLevel("entry", idea.entry, f"entry {price(idea.entry, tick)}"),
            PriceLevel("stop", idea.stop_loss, f"stop {price(idea.stop_loss, tick)}"),
            PriceLevel("target", idea.take_profit, f"target {price(idea.take_profit, tick)}")]


def _date(ts: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "–" if not isinstance(ts, (int, float)) else time.strftime(fmt, time.localtime(ts))


def _rows(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in pairs)


def _table(body: str, header: Sequence[str] = ()) -> str:
    # No width='100%': QTextDocument then overflows by a pixel and shows a horizontal scroll bar.
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in header)
    return (f"<table cellspacing='0' cellpadding='2'>"
            f"{'<tr>' + head + '</tr>' if head else ''}{body}</table>")


def _signal_confidence(trigger: dict) -> str:
    """The headline's confidence as the idea used it: calibrated first, the raw one beside it."""
    raw, calibrated = trigger.get("confidence"), trigger.get("calibrated_confidence")
    if not isinstance(calibrated, (int, float)):
        return f"{_pct(raw, 0)} (uncalibrated)"
    return f"{_pct(calibrated, 0)} (raw {_pct(raw, 0)}, {html.escape(str(trigger.get('calibrator', '')))})"


def _blend_text(confidence: dict) -> str:
    note = html.escape(str(confidence.get("note", "")))
    if confidence.get("calibrator"):  # snapshots from before calibration have no raw side
        note += f"; raw {_pct(confidence.get('value_raw'), 0)}, {html.escape(str(confidence['calibrator']))}"
    return f"{_pct(confidence.get('value'), 0)} ({note})"


def render_detail(idea: TradeIdea, snap: dict, audit: Sequence[AuditEntry] | None,
                  gross: float | None = None, history: IdeaHistory | None = None) -> str:
    """The detail view's HTML, from the idea, its parsed snapshot and its audit trail."""
    e = html.escape
    sizing = snap.get("sizing") or {}
    risk = snap.get("risk") or {}
    regime = snap.get("regime") or {}
    strategy = snap.get("strategy") or {}
    features = snap.get("features") or {}
    trigger = snap.get("trigger_signal") or {}
    confidence = snap.get("confidence") or {}
    tick = idea_tick(snap)
    parts: list[str] = []

    edited = f" (proposed {idea.proposed_size:.2%})" if idea.size != idea.proposed_size else ""
    parts.append(f"<h3>{e(idea.title)} · {e(idea.direction)} {e(idea.symbol)} · {e(idea.state)}</h3>")
    parts.append(_standing(idea, history))
    market = snap.get("market_data") or {}
    if market.get("stale"):
        parts.append(f"<p style='{STALE_STYLE}'>⚠ Stale market data: the last bar is from "
                     f"{e(str(market.get('last_bar_date', '–')))}, {_num(market.get('age_days'), ',.0f')} days "
                     "before this revision. The idea is flagged, not refused ([risk] stale_market_data).</p>")
    parts.append(
        f"<p>{e(STRATEGY_NAMES.get(idea.strategy, humanise(idea.strategy)))} in a {e(humanise(idea.regime))} · "
        f"risk <b>{e(idea.risk_level)}</b> ({idea.risk_score:.2f}) · confidence {e(idea.confidence_text)} · "
        f"size <b>{idea.size:.2%}</b>{edited} of equity, limit {idea.size_limit:.2%}</p>")
    cap = sizing.get("leverage_cap")
    if idea.state == "proposed" and gross is not None and isinstance(cap, (int, float)):
        after = gross + idea.size
        verdict = "within" if after <= cap + 1e-12 else "<b>above</b>"
        parts.append(f"<p>Approving at {idea.size:.2%} would take gross exposure from {gross:.2%} to "
                     f"{after:.2%}, {verdict} the {e(humanise(idea.regime))} leverage cap {cap:.2f}x.</p>")

    parts.append("<h4>Rationale</h4><p>" + "<br>".join(e(line) for line in idea.rationale.splitlines())
                 + "</p>")

    if idea.evidence:
        parts.append(render_evidence(idea.evidence, snap.get("aggregate") or {}))

    parts.append("<h4>Entry, stop-loss and take-profit</h4>")
    parts.append(_table(_rows([
        ("Entry (last close)", price(idea.entry, tick)),
        ("Stop-loss", f"{price(idea.stop_loss, tick)} ({_pct(sizing.get('stop_pct'), 1)} away)"),
        ("Take-profit", f"{price(idea.take_profit, tick)} ({_pct(sizing.get('take_profit_pct'), 1)} away)"),
        ("Round-trip fees", _pct(sizing.get("fees_round_trip"))),
        ("Payoff after fees (b)", _num(sizing.get("payoff"), ".2f")),
        ("Win probability used", _pct(sizing.get("win_probability"), 0)),
        ("Expected return per unit", _pct(sizing.get("expected_return"), 2, signed=True)),
    ])))

    steps = sizing.get("steps") or []
    parts.append(f"<h4>Sizing steps</h4><p>Set by the {e(str(sizing.get('binding', '–')))}; "
                 f"tolerance {e(str(snap.get('tolerance', '–')))}.</p>")
    parts.append(_table(_rows([(str(s.get("step", "")), _pct(s.get("fraction"))) for s in steps])))

    parts.append(f"<h4>Risk: {e(str(risk.get('level', idea.risk_level)))} "
                 f"({_num(risk.get('score', idea.risk_score), '.2f')})</h4>")
    # Lists, not wide tables: the detail pane is narrow and the factors are sentences.
    comps = risk.get("components") or []
    parts.append("<ul>" + "".join(
        f"<li><b>{e(str(c.get('name', '')))}</b> {_num(c.get('score'), '.2f')} "
        f"(weight {_num(c.get('weight'), '.2f')}): {e(str(c.get('factor', '')))}</li>" for c in comps) + "</ul>")

    parts.append(f"<h4>Regime: {e(humanise(str(regime.get('name', idea.regime))))}</h4><ul>"
                 + "".join(f"<li>{e(str(r))}</li>" for r in regime.get("reasons") or []) + "</ul>")
    if strategy.get("reason"):
        parts.append(f"<p>Strategy: {e(str(strategy['reason']))}.</p>")

    parts.append("<h4>Market features</h4>")
    parts.append(_table(_rows([
        ("Last bar", f"{_date(features.get('as_of'), '%Y-%m-%d')} ({_num(features.get('bars'), 'd')} bars; "
                     f"data {_num(snap.get('data_age_days'), '.0f')} days old at the news)"),
        ("Close", price(features.get("close"), tick)),
        ("Return, last bar / lookback", f"{_pct(features.get('return_1'), 2, True)} / "
                                        f"{_pct(features.get('return_lookback'), 2, True)}"),
        ("Realized volatility (short / long)", f"{_pct(features.get('realized_vol'), 0)} / "
                                               f"{_pct(features.get('realized_vol_long'), 0)}"),
        ("ATR", f"{price(features.get('atr'), tick)} ({_pct(features.get('atr_pct'))} of price)"),
        ("RSI", _num(features.get("rsi"), ".0f")),
        ("Moving averages (fast / slow)", f"{price(features.get('ma_fast'), tick)} / {price(features.get('ma_slow'), tick)} "
                                          f"(gap {_pct(features.get('ma_gap'), 1, True)})"),
        ("Stretch", f"{_num(features.get('stretch_atr'), '+.1f')} ATR from the fast MA"),
        ("Drawdown (current / max)", f"{_pct(features.get('drawdown'), 1)} / "
                                     f"{_pct(features.get('max_drawdown'), 1)}"),
        ("Volume z-score", _num(features.get("volume_z"), "+.1f")),
    ])))

    if idea.idea_no is not None:
        parts.append(render_history(idea, history))

    models = snap.get("model_versions") or {}
    parts.append("<h4>Where it came from</h4>")
    # Per-asset revisions list their stories above; the one-headline block is for older ideas.
    trigger_rows = [] if not trigger or idea.evidence else [
        ("Headline", f"“<a href='signal:{idea.signal_id}'>{e(str(trigger.get('text', '')))}</a>”"),
        ("News", f"{e(str(trigger.get('label', '')))} {_signal_confidence(trigger)} · "
                 f"{e(str(trigger.get('source', '')))} · {_date(trigger.get('received_at'))}"),
        ("Signal ids", e(", ".join(str(i) for i in snap.get("signal_ids") or [idea.signal_id])))]
    parts.append(_table(_rows([
        *trigger_rows,
        ("Confidence", _blend_text(confidence)),
        ("Model versions", e(", ".join(f"{k}: {v}" for k, v in sorted(models.items())))),
        ("Engine", e(str(snap.get("engine_version", "–")))),
        ("Risk config", e(str(snap.get("risk_config_fingerprint", "–")))),
        ("Snapshot sha256", f"<span style='font-family:monospace'>{e(idea.snapshot_sha256[:16])}…</span>"),
    ])))

    parts.append("<h4>Audit trail</h4>")
    if audit is None:
        parts.append("<p>Loading…</p>")
    else:
        items = []
        for a in audit:
            size = _pct(a.size_after)
            if a.size_before is not None and a.size_before != a.size_after:
                size = f"{_pct(a.size_before)} → {size}"
            move = f"{e(a.from_state)} → {e(a.to_state)}" if a.from_state else e(a.to_state)
            note = f"<br><i>“{e(a.note)}”</i>" if a.note else ""
            items.append(f"<li><b>{e(a.action)}</b> · {move} · size {size} · by {e(a.actor)} · "
                         f"{_date(a.at, '%Y-%m-%d %H:%M:%S')}{note}</li>")
        parts.append("<ol>" + "".join(items) + "</ol>")
    parts.append("<p><i>Advice for review only: nothing is executed or sent as an order.</i></p>")
    return "".join(parts)


STALE_STYLE = "color:#7c2d12; background:#ffedd5; padding:4px;"
EVENT_WORDS = {"opened": "Opened", "revised": "Revised", "closed": "Closed"}


def _standing(idea: TradeIdea, history: IdeaHistory | None) -> str:
    """Where this revision stands in its idea: newest or superseded, open or closed, and why."""
    if idea.idea_no is None:
        return "<p>Proposed per headline, before ideas were kept per asset (outside the per-asset book).</p>"
    words = [f"Revision {idea.revision} of idea {idea.idea_no} ({html.escape(idea.horizon or '–')} horizon)",
             "the newest" if idea.current else "<b>superseded</b> by a newer revision"]
    status = f"idea <b>{html.escape(idea.status)}</b>"
    if history is not None and history.idea.id == idea.idea_no:
        if history.idea.close_reason:
            status += f": {html.escape(history.idea.close_reason)}"
        if history.idea.flipped_from:
            status += f" · flipped from idea {history.idea.flipped_from}"
    words.append(status)
    if idea.change:
        words.append(f"changed: {html.escape(idea.change)}")
    return "<p>" + " · ".join(words) + "</p>"


def render_evidence(evidence: Sequence[dict], aggregate: dict) -> str:
    """The ranked evidence: each story once (copies folded in), strongest first; click a headline to open it."""
    e = html.escape
    parts = ["<a name='evidence'></a><h4>Evidence, ranked</h4>"]
    if aggregate:
        # An open idea is kept at a lower bar than it was opened at; say which bar this score met.
        bar = "stays open at" if aggregate.get("keeping") else "opens at"
        copies = aggregate.get("copies")
        copies_text = f"{_num(copies, 'd')} duplicate cop{'y' if copies == 1 else 'ies'} counted once"
        parts.append(f"<p>Net calibrated score <b>{_num(aggregate.get('net_score'), '+.2f')}</b> ({bar} "
                     f"±{_num(aggregate.get('threshold'), '.2f')}) from {_num(aggregate.get('stories'), 'd')} "
                     f"stories: {_num(aggregate.get('bullish'), 'd')} bullish, {_num(aggregate.get('bearish'), 'd')} "
                     f"bearish, {_num(aggregate.get('neutral'), 'd')} neutral; {copies_text}; window "
                     f"{_num(aggregate.get('window_hours'), '.0f')} h.</p>")
    items = []
    for item in evidence:
        sid = item.get("signal_id")
        calibrated = bool(item.get("calibrator"))
        conf = (f"{_pct(item.get('confidence'), 0)} calibrated (raw {_pct(item.get('raw_confidence'), 0)})"
                if calibrated else f"{_pct(item.get('confidence'), 0)} (no calibrator)")
        sources = ", ".join(str(x) for x in item.get("sources") or [])
        copies = len(item.get("copies") or [])
        copies_text = f" · {copies} copies" if copies > 1 else ""
        items.append(f"<li><a href='signal:{e(str(sid))}'>{e(str(item.get('headline', '')))}</a><br>"
                     f"<b>{e(str(item.get('label', '')))}</b> {conf} · weight {_num(item.get('weight'), '.2f')} · "
                     f"{e(sources)}{copies_text} · {_date(item.get('time'))} · #{e(str(sid))}</li>")
    parts.append("<ol>" + "".join(items) + "</ol>")
    return "".join(parts)


def render_history(idea: TradeIdea, history: IdeaHistory | None) -> str:
    """The idea's events (opened, revised, closed, with why) and every revision; the shown one in bold."""
    e = html.escape
    parts = ["<a name='history'></a><h4>History</h4>"]
    if history is None or history.idea.id != idea.idea_no:
        return parts[0] + "<p>Loading…</p>"
    parts.append("<ul>" + "".join(
        f"<li>{_date(ev.at)} · <b>{EVENT_WORDS.get(ev.kind, e(ev.kind))}</b>: {e(ev.reason)}</li>"
        for ev in history.events) + "</ul>")
    rows = []
    for rev in reversed(history.revisions):
        tick = idea_tick(rev.snapshot)
        text = (f"r{rev.revision} (#{rev.id}) · {e(rev.direction)} · entry {price(rev.entry, tick)} · "
                f"size {rev.size:.2%} · {e(rev.state)} · {_date(rev.created_at)}")
        if rev.id == idea.id:
            text = f"<b>{text} (shown)</b>"
        else:
            text = f"<a href='revision:{rev.id}'>{text}</a>"
        rows.append(f"<li>{text}{'<br><i>' + e(rev.change) + '</i>' if rev.change else ''}</li>")
    parts.append("<p>Revisions, newest first:</p><ul>" + "".join(rows) + "</ul>")
    return "".join(parts)


def _caps_text(caps: Sequence[tuple[str, float]], gross: float) -> str:
    grouped: dict[float, list[str]] = {}
    for regime, cap in caps:
        grouped.setdefault(cap, []).append(humanise(regime))
    return ", ".join(f"{' / '.join(names)} {max(0.0, cap - gross):.1%}"
                     for cap, names in sorted(grouped.items(), reverse=True))


def render_portfolio(summary: PortfolioSummary) -> str:
    view = summary.view
    n = len(view.positions)
    parts = [f"<b>Approved ideas:</b> {n} · gross exposure <b>{view.gross:.1%}</b> of equity, "
             f"net {view.net:+.1%}"]
    if n:
        parts.append(f"concentration (HHI) {view.herfindahl:.2f}")
        known = [c for c in view.correlations if c.correlation is not None]
        if known:
            parts.append("correlation " + ", ".join(f"{html.escape(c.a)}/{html.escape(c.b)} "
                                                    f"{c.correlation:+.2f}" for c in known[:4]))
    text = " · ".join(parts)
    text += f"<br>Headroom under the leverage caps: {_caps_text(summary.leverage_caps, view.gross)}"
    if view.warnings:
        text += "<br>" + "<br>".join(f"<span style='color:#b45309'>⚠ {html.escape(w)}</span>"
                                     for w in view.warnings)
    return text

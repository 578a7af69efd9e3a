"""A revision's snapshot: everything the decision was built from, frozen as canonical JSON.

Also the two things that tell revisions apart: the evidence key (what the decision depended
on: the stories counted, the last completed bar, direction, strategy, horizon, settings) and
the plain-language list of what changed since the previous revision.
"""

from __future__ import annotations

import hashlib
import json
from typing import Mapping

from engine import __version__
from engine.ideas.blend import LlmOpinion, blend_confidence
from engine.ideas.evidence import MAX_LISTED, weighted_mean
from engine.ideas.rationale import render_rationale, when
from engine.ideas.routing import regime_words
from engine.ideas.view import Candidate
from engine.risk.config import RiskConfig

# 3: per-asset revisions: evidence (ranked), aggregate, market_data, idea {id, revision, ...};
#    confidence is the weighted mean over the supporting headlines.
SNAPSHOT_SCHEMA = 3


def canonical_json(data: object) -> str:
    # allow_nan=False: a NaN in a snapshot is a bug upstream; refuse it rather than store it.
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def evidence_key(c: Candidate, cfg: RiskConfig, tolerance: str) -> str:
    """Same key, same decision inputs: proposing again changes nothing."""
    basis = {"stories": c.evidence.story_ids(), "last_bar": c.market.last_bar, "direction": c.direction,
             "strategy": c.route.strategy, "horizon": c.horizon, "config": cfg.fingerprint(), "tolerance": tolerance}
    return hashlib.sha256(canonical_json(basis).encode()).hexdigest()


def blend(c: Candidate, opinions: Mapping[int, LlmOpinion], llm_weight: float) -> tuple[dict, float]:
    """The ranking confidence: each supporting headline's calibrated confidence blended with an
    LLM's opinion on it (when there is one), weighted as in the net score; and the same from the
    raw confidences. Sizes never read it."""
    values, raws, llm, agreeing, notes = [], [], [], 0, []
    for item in c.supporting:
        opinion = opinions.get(item.signal_id)
        agrees = opinion is None or opinion.label == item.label
        p = None if opinion is None else opinion.confidence
        mixed = blend_confidence(item.confidence, p, llm_agrees=agrees, llm_weight=llm_weight)
        values.append(mixed.value)
        raws.append(blend_confidence(item.raw_confidence, p, llm_agrees=agrees, llm_weight=llm_weight).value)
        if mixed.llm is not None:
            llm.append(mixed.llm)
            agreeing += bool(mixed.llm_agrees)
            notes.append(mixed.note)
    weights = [item.weight for item in c.supporting]
    total = sum(weights)
    value = sum(w * v for w, v in zip(weights, values)) / total if total > 0 else c.confidence
    value_raw = sum(w * v for w, v in zip(weights, raws)) / total if total > 0 else c.raw_confidence
    if not llm:
        note = "classifier only"
    elif len(c.supporting) == 1:
        note = notes[0]
    else:
        note = (f"LLM opinions on {len(llm)} of {len(c.supporting)} headlines, {agreeing} agreeing, "
                f"weight {llm_weight:.0%}")
    record = {"value": value, "classifier": c.confidence, "llm": sum(llm) / len(llm) if llm else None,
              "llm_agrees": None if not llm else agreeing == len(llm), "note": note,
              "classifier_raw": c.raw_confidence, "value_raw": value_raw, "calibrator": c.calibrators}
    return record, value_raw


def changes(previous: dict, c: Candidate, cfg: RiskConfig, tolerance: str) -> list[str]:
    """What is different from the previous revision's snapshot, most telling first."""
    out: list[str] = []
    before = set((previous.get("aggregate") or {}).get("story_ids") or [])
    now = set(c.evidence.story_ids())
    labels = {item.signal_id: item.label for item in c.evidence.items}
    new = sorted(now - before)
    if new:
        listed = ", ".join(f"#{i} {labels[i]}" for i in new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
        out.append(f"{len(new)} new headline{'' if len(new) == 1 else 's'} ({listed})")
    gone = len(before - now)
    if gone:
        out.append(f"{gone} headline{'' if gone == 1 else 's'} older than {c.evidence.window_hours:g} h no longer "
                   "count")
    old_net = (previous.get("aggregate") or {}).get("net_score")
    if isinstance(old_net, (int, float)) and f"{old_net:+.2f}" != f"{c.evidence.net_score:+.2f}":
        out.append(f"net calibrated score {old_net:+.2f} -> {c.evidence.net_score:+.2f}")
    old_regime = (previous.get("regime") or {}).get("name")
    if old_regime and old_regime != c.state.regime.name:
        out.append(f"regime {regime_words(old_regime)} -> {regime_words(c.state.regime.name)}")
    old_strategy = (previous.get("strategy") or {}).get("strategy")
    if old_strategy and old_strategy != c.route.strategy:
        out.append(f"strategy {old_strategy} -> {c.route.strategy}")
    old_bar = (previous.get("market_data") or {}).get("last_bar")
    if isinstance(old_bar, int) and old_bar != c.market.last_bar:
        out.append(f"market data: last bar {when(old_bar)} -> {when(c.market.last_bar)}")
    old_size = (previous.get("sizing") or {}).get("fraction")
    if isinstance(old_size, (int, float)) and f"{old_size:.2%}" != f"{c.sizing.fraction:.2%}":
        out.append(f"size {old_size:.2%} -> {c.sizing.fraction:.2%}")
    old_config = previous.get("risk_config_fingerprint")
    if old_config and old_config != cfg.fingerprint():
        out.append(f"[risk] settings changed (fingerprint {old_config} -> {cfg.fingerprint()})")
    old_tolerance = previous.get("tolerance")
    if old_tolerance and old_tolerance != tolerance:
        out.append(f"tolerance {old_tolerance} -> {tolerance}")
    return out


def build_snapshot(c: Candidate, *, cfg: RiskConfig, tolerance: str, blended: dict,
                   opinions: Mapping[int, LlmOpinion], idea: dict) -> dict:
    """``idea``: {"id", "revision", "supersedes", "flipped_from", "changes"} of the revision."""
    top = next(s for s in c.evidence.representatives if s.id == c.supporting[0].signal_id)
    used = {i: o for i, o in opinions.items() if any(item.signal_id == i for item in c.supporting)}
    models = {"sentiment": ", ".join(sorted({item.model for item in c.supporting}))}
    if used:
        models["llm"] = ", ".join(sorted({f"{o.model_id}@{o.model_version}" for o in used.values()}))
    thresholds = {name: getattr(cfg, name) for name in (
        "min_headlines", "min_net_score", "keep_net_score", "idea_min_confidence", "max_evidence_age_hours",
        "dedupe_window_hours", "stale_after_days", "stale_market_data")}
    snapshot = {
        "schema": SNAPSHOT_SCHEMA,
        "symbol": c.symbol,
        "horizon": c.horizon,
        "idea": idea,
        "signal_ids": c.evidence.signal_ids(),
        "evidence": [item.to_dict() for item in c.evidence.items[:MAX_LISTED]],
        "evidence_total": len(c.evidence.items),
        "aggregate": {**c.evidence.summary(), "story_ids": c.evidence.story_ids(), "news_label": c.news_label,
                      "supporting": len(c.supporting), "threshold": c.threshold, "keeping": c.keeping,
                      "supporting_weight": sum(item.weight for item in c.supporting),
                      "supporting_confidence": weighted_mean(c.supporting, "confidence")},
        "thresholds": thresholds,
        "trigger_signal": {k: v for k, v in top.to_dict().items() if k != "latency_ms"},
        "model_versions": models,
        "engine_version": __version__,
        "risk_config_fingerprint": cfg.fingerprint(),
        "tolerance": tolerance,
        "confidence": blended,
        "llm_opinions": {str(i): o.__dict__ for i, o in sorted(used.items())},
        "features": c.state.features.to_dict(),
        "regime": c.state.regime.to_dict(),
        "risk": c.state.risk.to_dict(),
        "strategy": c.route.to_dict(),
        "sizing": c.sizing.to_dict(),
        "market_data": c.market.to_dict(),
        "data_age_days": c.market.age_days,
    }
    snapshot["rationale"] = render_rationale(c, blended, cfg, idea.get("changes") or ())
    return snapshot

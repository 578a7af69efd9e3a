"""MODEL_CARD.md for finsent-minilm-l6-news (1.1.0 and later), rendered from its manifest alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_SETS = (("dev_tfns", "TFNS dev split (10 % of sent_train, seed 42)"),
         ("dev_news", "news corpus dev split (10 % of train, seed 42)"),
         ("dev_sentfin", "SEntFiN dev split (10 % of its train part, seed 42)"),
         ("report_tfns", "TFNS sent_valid.csv (reporting only)"),
         ("report_news", "news corpus test set, frozen (reporting only)"),
         ("report_sentfin", "SEntFiN eval part, 15 % (reporting only)"))


def update_section(artifact: Path, key: str, value: Any) -> dict[str, Any]:
    """Store ``value`` under ``key`` in manifest.json and re-render this family's card."""
    from engine.training.card import update_artifact_section

    return update_artifact_section(artifact, key, value, render=render_card)


def _figures_table(result: dict) -> list[str]:
    models = list(result["models"])
    lines = ["| set | " + " | ".join(f"{m} wF1 / macro F1 / ECE raw → calibrated" for m in models) + " |",
             "| --- | " + " | ".join("---" for _ in models) + " |"]
    for key, title in _SETS:
        cells = []
        for m in models:
            rep = result["models"][m].get(key)
            cells.append("–" if rep is None else
                         f"{rep['weighted_f1']:.4f} / {rep['macro_f1']:.4f} / {rep['ece_raw']:.4f} → "
                         f"{rep.get('ece_calibrated', float('nan')):.4f}{_floor(rep)} (n={rep['n']})")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def _floor(rep: dict) -> str:
    floor = rep.get("ece_noise_floor")
    return f" [floor {floor[0]:.3f}–{floor[1]:.3f}]" if floor else ""


def _confusions(result: dict, model: str) -> list[str]:
    lines = []
    for key, title in _SETS:
        rep = result["models"][model].get(key)
        if rep is None or not key.startswith("report"):
            continue
        cm = rep["confusion_matrix"]
        lines += [f"{title} (rows true, columns predicted: bearish, bullish, neutral):", "",
                  "| true \\ predicted | bearish | bullish | neutral |", "| --- | --- | --- | --- |"]
        lines += [f"| {name} | {row[0]} | {row[1]} | {row[2]} |" for name, row in zip(("bearish", "bullish", "neutral"), cm)]
        lines.append("")
    return lines


def _replaced_lines(m_id: str, rep: dict | None) -> list[str]:
    if not rep:
        return []
    dev = rep["dev_int8_weighted_f1"]
    lines = ["", f"Replaces `{m_id}` {rep['version']} of the same id (its files are gone; stored signals keep "
             f"\"{rep['version']}\"). Rule, dev splits only, fixed before this version's figures existed: "
             f"{rep['reason']}. {rep['version']} on dev (int8): mean {dev['mean']:.4f}, "
             + ", ".join(f"{k} {v:.4f}" for k, v in dev.items() if k != "mean") + "."]
    through = rep.get("through_score")
    if through:
        lines[-1] += (f" {rep['version']} through `signaldesk score` (reporting sets): "
                      + ", ".join(f"{title.split(' (')[0]} {through[key]['weighted_f1']:.4f} / ECE "
                                  f"{through[key].get('ece_calibrated', float('nan')):.4f}"
                                  for key, title in _SETS if key.startswith("report") and key in through) + ".")
    return lines


def render_card(m: dict[str, Any]) -> str:
    prov = m["provenance"]
    q = m["quantization"]
    cal = m.get("calibration", {})
    lines = [f"# {m['id']} {m['version']}", "",
             m.get("description", ""), "",
             "Previous version: `finsent-minilm-l6` 1.0.0 (TFNS only), still shipped and selectable "
             "(`signaldesk models switch finsent-minilm-l6`). Stored signals keep the model and version "
             "that scored them.", "",
             f"Default: {'yes, it supersedes 1.0.0' if m.get('supersedes') else 'no, it serves only when chosen by name'} "
             "(rule, on the dev splits only: a higher mean dev weighted F1 across the three sources and no source "
             "more than 0.01 lower than 1.0.0).",
             *_replaced_lines(m["id"], m.get("replaces_version")),
             "", "## Training data and licences", "",
             "| dataset | licence | used as |", "| --- | --- | --- |"]
    lines += [f"| {d['name']} ({d['source']}) | {d['licence']} | {d['used']} |" for d in prov["datasets"]]
    lines += ["", f"Base model: {prov['base_model']} (Apache-2.0), from the {prov['base_package']}. "
              f"Model licence: {m['licence']}", "",
              "SEntFiN attribution: Sinha, Kedas, Kumar and Malo, \"SEntFiN 1.0: Entity-aware sentiment analysis "
              "for financial news\", Journal of the Association for Information Science and Technology (2022), MIT "
              "licence. TFNS: zeroshot/twitter-financial-news-sentiment, MIT licence. The SignalDesk news corpus was "
              "written by the team (engine/training/data/news/README.md).", "",
              "## Recipe", "",
              f"Rebuild: `{prov['command']}`", "",
              "Rows per source (train / dev): " + ", ".join(f"{k} {v['train']} / {v['dev']}" for k, v in prov["rows"].items())
              + f". Config: `{json.dumps(prov['train_config'])}`. Selected: {prov['selected']} "
              f"(best mean dev weighted F1 across the three sources). Training took {prov['train_minutes']} min on "
              f"{prov['torch_threads']} CPU threads.", "",
              "| epoch | mean dev wF1 | TFNS | news | SEntFiN |", "| --- | --- | --- | --- | --- |"]
    for h in prov["train_history"]:
        lines.append(f"| {h['epoch']} | {h['mean_weighted_f1']} | {h['tfns']['weighted_f1']} | "
                     f"{h['news']['weighted_f1']} | {h['sentfin']['weighted_f1']} |")
    lines += ["", "## Quantization", "",
              f"{q['method']}; variant `{q['variant']}`, activation ranges from {q['calibration_rows']} "
              f"{q['calibration_set']}. Static scales make a text's scores independent of whatever else is in "
              "its batch (tests/engine/test_sentiment_versions.py). Shipped xz-packed (`model.onnx.xz`); the "
              "unpacked bytes are sha256-checked before onnxruntime opens them.", "",
              "| variant | mean dev wF1 | drop vs fp32 | label agreement with fp32 | bytes |",
              "| --- | --- | --- | --- | --- |"]
    lines += [f"| {t['variant']} | {t['dev_mean_weighted_f1']} | {t['dev_f1_drop_vs_fp32']} | "
              f"{t['dev_label_agreement']} | {t['size_bytes']:,} |" for t in q["trials_on_dev"]]
    lines.append("")
    result = (m.get("metrics") or {}).get("through_score")
    if result:
        lines += ["", "## Results through `signaldesk score`", "",
                  f"Measured with `{result['command']}`: both versions, every set scored by the product command. "
                  "ECE: 15 equal-width bins of top-label confidence; calibrated = each version's shipped "
                  "calibrator applied to its probabilities; [floor a–b] = mean and 95th percentile of the ECE a "
                  "perfectly calibrated model with the same calibrated confidences would show on that many rows "
                  "(a measured ECE inside it cannot be told from perfect calibration).", ""]
        lines += _figures_table(result)
        lines += ["", "### Confusion matrices (this version)", ""] + _confusions(result, m["id"])
    if cal:
        lines += ["## Calibration", "",
                  f"Shipped calibrator `{cal['shipped']['calibrator']['method']}/{cal['shipped']['calibrator']['scheme']}`, "
                  f"chosen by 5-fold out-of-fold ECE and fitted on {cal['fit_set']}. Dev ECE raw "
                  f"{cal['dev_raw']['ece']:.4f}, out-of-fold after {cal['dev_out_of_fold_after']['ece']:.4f}.", ""]
    bench = m.get("benchmark") or {}
    if bench.get("ratios"):
        lines += ["## Speed", "", f"`{bench['command']}` ({bench['date']}, {bench['machine']}, {bench['threads']} "
                  f"threads, load {bench['load_avg_1min']}):", "", "```", json.dumps(bench["ratios"], indent=2), "```", ""]
    return "\n".join(lines) + "\n"

"""Render MODEL_CARD.md from the manifest, so the card's figures can never drift from it.

Pure Python: the benchmark script re-renders the card after adding its figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TFNS_ATTRIBUTION = (
    "Twitter Financial News Sentiment (TFNS), the public dataset "
    "`zeroshot/twitter-financial-news-sentiment`, MIT licence."
)


def _pct(x: float) -> str:
    return f"{x:.4f}"


def _confusion(rep: dict[str, Any], labels: list[str]) -> str:
    head = "| true \\ predicted | " + " | ".join(labels) + " |"
    sep = "| --- |" + " ---: |" * len(labels)
    rows = [f"| **{labels[i]}** | " + " | ".join(str(v) for v in row) + " |"
            for i, row in enumerate(rep["confusion_matrix"])]
    return "\n".join([head, sep, *rows])


def _per_class(rep: dict[str, Any], labels: list[str]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for name in labels:
        c = rep["per_class"][name]
        lines.append(f"| {name} | {_pct(c['precision'])} | {_pct(c['recall'])} | {_pct(c['f1'])} | {c['support']} |")
    return "\n".join(lines)


def _summary_table(metrics: dict[str, Any]) -> str:
    lines = ["| split | model | weighted F1 | macro F1 | accuracy | ECE (15 bins) | n |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for split in ("valid", "dev"):
        for kind in ("int8", "fp32"):
            r = metrics.get(split, {}).get(kind)
            if r:
                lines.append(f"| {split} | {kind} | {_pct(r['weighted_f1'])} | {_pct(r['macro_f1'])} | "
                             f"{_pct(r['accuracy'])} | {_pct(r['ece_15bin'])} | {r['n']} |")
    return "\n".join(lines)


def _benchmark(bench: dict[str, Any]) -> str:
    if not bench:
        return "Not measured yet: run `python bench/bench_sentiment.py --json --update-artifact`."
    e, h, r = bench.get("engine", {}), bench.get("hf_pipeline", {}), bench.get("ratios", {})
    lines = [
        f"Measured by `{bench.get('command', 'python bench/bench_sentiment.py --json')}` on "
        f"{bench.get('machine', 'this machine')} ({bench.get('threads', '?')} threads, 1-minute load average "
        f"{bench.get('load_avg_1min', {}).get('before', '?')} → {bench.get('load_avg_1min', {}).get('after', '?')}), "
        f"{bench.get('date', '')}. One process, same fine-tuned weights; ratios are the robust figures on a noisy machine.",
        "",
        "| path | single p50 ms | single p95 ms | batched headlines/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, d in (("HF `pipeline(\"text-classification\")`, fp32 torch", h),
                    ("OnnxSentimentBackend int8", e.get("backend", {})),
                    ("Engine.analyze (int8, full signal)", e.get("engine", {}))):
        if d:
            lines.append(f"| {name} | {d.get('p50_ms', float('nan')):.2f} | {d.get('p95_ms', float('nan')):.2f} | "
                         f"{d.get('batch_throughput_per_s', float('nan')):.0f} |")
    if r:
        lines += ["", "Speed-up of our engine over the HF pipeline: " + ", ".join(f"{k} {v:.1f}x" for k, v in r.items())]
    return "\n".join(lines)


def _experiments(exps: list[dict[str, Any]]) -> str:
    if not exps:
        return "No experiment log recorded."
    lines = ["| run | pooling | lr | epochs | label smoothing | URLs → \"http\" | best epoch | dev weighted F1 | dev macro F1 | minutes |",
             "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |"]
    for e in exps:
        c = e["config"]
        lines.append(f"| {e['name']} | {c['pooling']} | {c['lr']:g} | {c['epochs']} | {c['label_smoothing']:g} | "
                     f"{'yes' if c.get('strip_urls') else 'no'} | {e['best_epoch']} | {_pct(e['dev_weighted_f1'])} | {_pct(e['dev_macro_f1'])} | {e['minutes']} |")
    return "\n".join(lines)


def _render_transformer_card(m: dict[str, Any]) -> str:
    labels = list(m["labels"])
    prov = m["provenance"]
    cfg = prov["train_config"]
    met = m["metrics"]
    v8, v32 = met["valid"]["int8"], met["valid"]["fp32"]
    cmp_ = met["valid"].get("int8_vs_fp32", {})
    q = m.get("quantization", {})
    size_mb = m["size_bytes"] / 1e6
    quant_rows = "\n".join(
        f"| {t['variant']} | {t.get('fused', False)} | {t['per_channel']} | {t['exclude_classifier']} | {_pct(t['dev_weighted_f1'])} | "
        f"{t['dev_f1_drop_vs_fp32']:+.4f} | {_pct(t['dev_label_agreement'])} | {t['size_bytes'] / 1e6:.1f} MB |"
        for t in q.get("trials_on_dev", []))
    fusion_note = (
        "- Graph: onnxruntime's transformer optimizer fuses attention, skip-LayerNorm, bias-GELU and\n"
        "  the embedding block before quantization (QAttention kernels are much faster).\n"
        if str(q.get("variant", "")).startswith("fused") else "")
    history = "\n".join(
        f"| {h['epoch']} | {'' if h['train_loss'] is None else format(h['train_loss'], '.4f')} | {h['dev_loss']:.4f} | {_pct(h['dev_weighted_f1'])} | {_pct(h['dev_macro_f1'])} |"
        for h in prov.get("train_history", []))
    return f"""# Model card: {m['id']} {m['version']}

Financial news sentiment (bearish / bullish / neutral) for short English headlines and
finance tweets. A 6-layer MiniLM sentence encoder fine-tuned on TFNS, exported to ONNX and
quantized to int8. {size_mb:.1f} MB on disk; runs on CPU through onnxruntime with the Rust
`tokenizers` package (no torch or transformers at run time).

## Intended use

- Scoring the tone of market headlines and finance tweets inside SignalDesk, as one input to
  an analyst's judgement. Output: probabilities in the order {', '.join(labels)}; the engine derives label, confidence and compound = p_bullish − p_bearish.
- Not for: long articles (input is cut at {m['max_length']} tokens), non-English text,
  automated trading without human review, or judging the truth of a headline.

## Data

- Training data: {TFNS_ATTRIBUTION} Labels 0 = bearish, 1 = bullish, 2 = neutral.
- `sent_train.csv` ({prov['train_rows'] + prov['dev_rows']:,} rows) was split, stratified with seed {prov['seed']}, into
  {prov['train_rows']} training rows and {prov['dev_rows']} dev rows. The dev split alone drove
  every choice: epoch, head, learning rate, quantization variant.
- `sent_valid.csv` (2,388 rows) was read once, at the end of the final run, for the figures
  below. No setting was chosen by looking at it.

## Training procedure

- Base: `{prov['base_model']}` (Apache-2.0), from `{prov['base_package']}`;
  no hub access (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1).
- Head: {cfg['pooling']} pooling → dropout 0.1 → linear (3 classes).
- Input: {"every URL is mapped to the word `http` by the tokenizer's normalizer (shipped in tokenizer.json, so run time does the same); " if cfg.get('strip_urls') else ""}lower-cased WordPiece, cut at {cfg['max_length']} tokens.
- AdamW, lr {cfg['lr']:g}, weight decay {cfg['weight_decay']:g} (not on biases/LayerNorm),
  linear warm-up over {cfg['warmup_fraction']:.0%} of steps then linear decay, batch {cfg['batch_size']},
  {cfg['epochs']} epochs, gradient clipping 1.0, label smoothing {cfg['label_smoothing']:g},
  max_length {cfg['max_length']} (TFNS train items: median 19, 99th percentile 39 tokens once URLs are
  mapped; 0.05% are cut),
  dynamic padding. Best epoch by dev weighted F1{" (the mean of the weights of epochs 2..N was a candidate too)" if cfg.get('average_epochs') else ""}. Seed {prov['seed']}, {prov.get('torch_threads', 2)} CPU threads,
  {prov.get('train_minutes', '?')} minutes of training.
- Export: torch.onnx (opset 17), dynamic batch and sequence axes, inputs
  {m.get('inputs')}, output {m.get('outputs')} (token_type_ids are always 0 for single texts,
  so they are folded into the graph).
{fusion_note}- Quantization: `{q.get('method')}`, {q.get('weight_type')} weights, variant `{q.get('variant')}`
  (variants tried fastest first; the first within 0.003 dev weighted F1 of fp32 is kept).

Rebuild everything (fp32 weights and ONNX go to `build/`, the artifact to this folder):

```
{prov['command']}
```

Dev score per epoch of the shipped run:

| epoch | train loss | dev loss | dev weighted F1 | dev macro F1 |
| ---: | ---: | ---: | ---: | ---: |
{history}

## Results on TFNS sent_valid.csv (evaluated once)

{_summary_table(met)}

int8 vs fp32 on valid: weighted-F1 drop {cmp_.get('weighted_f1_drop', float('nan')):+.4f}, label agreement
{cmp_.get('label_agreement', float('nan')):.4f}, mean absolute probability difference {cmp_.get('mean_abs_prob_diff', float('nan')):.5f}.

Shipped int8 model, per class:

{_per_class(v8, labels)}

Confusion matrix (int8, valid; rows are true labels):

{_confusion(v8, labels)}

fp32 reference, per class:

{_per_class(v32, labels)}

Published weighted-F1 on the same validation split, for context: FinGPT v3.3 (Llama-2-13B +
LoRA) 0.903, FinLlama 0.904, FinBERT 0.733, VADER 0.518.

Calibration: ECE {v8['ece_15bin']:.4f} (int8) with 15 equal-width bins over top-label confidence,
before any calibration. {_shipped_calibrator_line(m.get('calibration'))}
{_calibration(m.get('calibration'), m.get('crossfit'))}

## Benchmark

{_benchmark(m.get('benchmark', {}))}

## int8 quantization trials (dev split)

| variant | fused ops | per-channel | classifier kept fp32 | dev weighted F1 | vs fp32 | label agreement | size |
| --- | --- | --- | --- | ---: | ---: | ---: | ---: |
{quant_rows}

## What we tried

All runs trained on the {prov['train_rows']}-row training split and were compared on the
{prov['dev_rows']}-row dev split only (best epoch per run by dev weighted F1). sent_valid.csv
played no part in any choice.

{_experiments(m.get('experiments', []))}

The second run changed three things at once (label smoothing 0.1, URLs mapped to one word,
the weight mean of epochs 2-4 as an extra candidate), so the table does not say which of them
helped. {_average_note(prov.get('train_history', []))}
The machine was shared and loaded (load average 4-9 on 2 cores) while these ran, which is why
a run took 40-60 minutes; that left no time for a [CLS]-pooler head or other learning rates.
The int8 variants tried are listed in the quantization table above.

## Known limits

- Trained on 2019-2020 finance tweets: tickers, slang and events after that, and other
  registers (earnings-call transcripts, long articles), are out of distribution.
- Neutral is the majority class (65% of the data); weak or mixed signals ("shares
  slip slightly after beat") are often called neutral, and the bearish class has the
  lowest recall.
- Headlines are judged on their wording, not on market context: "X beats estimates" is
  bullish even when the stock fell. Sarcasm and negation are handled imperfectly.
- Input beyond {m['max_length']} WordPiece tokens is cut.
- Raw confidences are not calibrated (see ECE above); the app shows calibrated ones next to them.
- English only; lower-cased WordPiece vocabulary.

## Licence and attribution

{m['licence']}

Dataset: {TFNS_ATTRIBUTION}
Base model: sentence-transformers/all-MiniLM-L6-v2, Apache-2.0.
"""


def _shipped_calibrator_line(cal: dict[str, Any] | None) -> str:
    shipped = (cal or {}).get("shipped")
    if not shipped:
        return "The engine's per-model-version calibration can be fitted on top."
    c = shipped["calibrator"]
    return (f"The model ships a calibrator (`{c['method']}/{c['scheme']}`, fitted on {shipped['n_fit']} held-out "
            "rows, below): the app applies it until the analyst's own outcomes refit the calibration.")


def _crossfit(cf: dict[str, Any] | None) -> str:
    """The cross-fitted copies behind the out-of-fold calibration rows (engine.training.crossfit)."""
    if not cf:
        return ""
    rows = "\n".join(f"| {f['fold']} | {f['train_rows']} | {f['held_out_weighted_f1']:.4f} | "
                      f"{f['dev_weighted_f1']:.4f} | {f['train_minutes']} |" for f in cf["per_fold"])
    return f"""
Out-of-fold rows: the non-dev train rows cut into {cf['folds']} stratified folds; for each, the whole
recipe (fine-tune, int8, TF-IDF head, mix) was rebuilt on the other folds and scored the held-out
one (`{cf['command']}`, file `{cf['file']}`, {cf['rows']} rows):

| fold | train rows | held-out weighted F1 | dev weighted F1 | minutes |
| ---: | ---: | ---: | ---: | ---: |
{rows}
"""


def _calibration(cal: dict[str, Any] | None, crossfit: dict[str, Any] | None = None) -> str:
    """Before/after calibration figures written by ``python -m engine.training.calibrate --update-artifact``."""
    if not cal:
        return ""
    rows = "\n".join(
        f"| {name} | {a['ece']:.4f} | {a['mce']:.4f} | {a['brier']:.4f} | {a['accuracy']:.4f} |"
        for name, a in cal["after"].items())
    b = cal["before"]
    cv = cal.get("cv_ece_on_fit_set") or cal.get("cv_ece_on_dev") or {}
    cv_line = ", ".join(f"{k} {v:.4f}" for k, v in cv.items())
    check = cal.get("transfer_check_on_dev")
    transfer = ""
    if check:
        transfer = (f"\nTransfer check (dev split only): a calibrator fitted on the out-of-fold rows alone "
                    f"(`{check['calibrator']}`, n={check['n_fit']}) takes the shipped model's dev ECE from "
                    f"{check['before']['ece']:.4f} to {check['after']['ece']:.4f} (noise floor mean, p95 "
                    f"{check['noise_floor'][0]:.4f}, {check['noise_floor'][1]:.4f}): calibration learnt from the "
                    f"cross-fitted copies {'carries' if check['after']['ece'] < check['before']['ece'] else 'does not carry'}"
                    " over to the shipped model.\n")
    return f"""
### Calibration before and after ({cal.get('measured', '')})

Fitted on {cal['fit_set']}; reported on {cal['report_set']}. The method the engine uses by
default (`auto`) is chosen by 5-fold cross-validation on the fit set alone
(out-of-fold ECE: {cv_line}); the other rows are shown for context and were not used to choose.
ECE noise floor on the report set (mean, p95 of a perfectly calibrated model with these
confidences): {cal['noise_floor_before'][0]:.4f}, {cal['noise_floor_before'][1]:.4f}.
{_crossfit(crossfit)}{transfer}
| calibration | ECE | MCE | Brier | accuracy |
| --- | ---: | ---: | ---: | ---: |
| none (raw) | {b['ece']:.4f} | {b['mce']:.4f} | {b['brier']:.4f} | {b['accuracy']:.4f} |
{rows}

{cal.get('note', '')}
"""


def update_artifact_section(artifact: Path, key: str, value: Any, render=None) -> dict[str, Any]:
    """Store ``value`` under ``key`` in manifest.json and re-render MODEL_CARD.md (neither file is hashed)
    with ``render`` (this module's card by default; each model family has its own)."""
    import json

    from engine.manifest import write_manifest

    fields = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    fields.pop("files", None)
    fields.pop("size_bytes", None)
    fields[key] = value
    manifest = write_manifest(artifact, fields)
    (artifact / "MODEL_CARD.md").write_text((render or render_card)(manifest), encoding="utf-8")
    return manifest


def _average_note(history: list[dict[str, Any]]) -> str:
    singles = [h for h in history if isinstance(h["epoch"], int)]
    means = [h for h in history if not isinstance(h["epoch"], int)]
    if not singles or not means:
        return ""
    best = max(singles, key=lambda h: h["dev_weighted_f1"])
    return (f"In the shipped run the weight mean scored {means[0]['dev_weighted_f1']:.4f} dev weighted F1 "
            f"against {best['dev_weighted_f1']:.4f} for the best single epoch ({best['epoch']}).")


def _row(name: str, rep: dict) -> str:
    return (f"| {name} | {rep['weighted_f1']:.4f} | {rep['macro_f1']:.4f} | {rep['accuracy']:.4f} | "
            f"{rep['ece_15bin']:.4f} |")


def ensemble_section(manifest: dict, train_rows: int) -> str:
    ens, met = manifest["ensemble"], manifest["metrics"]
    grid = " · ".join(f"{g['tfidf_weight']:.2f}: {g['dev_weighted_f1']:.4f}" for g in ens["dev_grid"])
    return f"""## What ships: the transformer mixed with a TF-IDF head

The shipped model mixes the int8 transformer's probabilities with a TF-IDF + logistic-regression
head (`{ens['tfidf_head']}`: word 1-2-grams and character 2-5-grams, fitted on the same
{train_rows:,} training rows, C = 10): p = (1 − w) · p_transformer + w · p_tfidf with
**w = {ens['tfidf_weight']}**, the weight with the best dev weighted F1. Its errors differ from the
transformer's (tickers, analyst-action phrases, number formats), so the mix is stronger than
either part. It adds ~0.1 ms per headline (pure-Python featurization, exact to sklearn's).
Rebuild: `{ens['command']}` after the fine-tune.

Dev weighted F1 by weight: {grid}.

| on sent_valid.csv (once) | weighted F1 | macro F1 | accuracy | ECE (15 bins) |
| --- | ---: | ---: | ---: | ---: |
{_row("transformer only, int8", met["transformer_only"]["valid"]["int8"])}
{_row("transformer only, fp32", met["transformer_only"]["valid"]["fp32"])}
{_row("TF-IDF head only", met["valid"]["tfidf_only"])}
{_row("**shipped: mix, int8**", met["valid"]["int8"])}
{_row("mix, fp32", met["valid"]["fp32"])}

The sections below describe the shipped mix wherever they say int8 / fp32.

Known limit of dynamic int8: activation scales are computed per batch tensor, padding included,
so a headline scored inside a batch can differ from the same headline scored alone (200 dev
texts: labels agree 99%, mean shift of the largest probability change 0.013, p99 0.12, worst
0.21). Single-headline scoring in the app is unaffected; batch scores carry this noise.

"""


def render_card(m: dict[str, Any]) -> str:
    """The card; when the artifact ships an ensemble, its section comes before the results."""
    card = _render_transformer_card(m)
    if m.get("ensemble"):
        marker = "## Results on TFNS sent_valid.csv"
        section = ensemble_section(m, m["provenance"]["train_rows"])
        card = card.replace(marker, section + marker, 1) if marker in card else card + "\n" + section
    return card

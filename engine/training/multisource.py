"""Fine-tune all-MiniLM-L6-v2 on TFNS + the team news corpus + SEntFiN (finsent-minilm-l6-news).

Train the fp32 checkpoint (1.2.0: 5 epochs, 38.7 minutes on 2 idle cores at max_length 64; 1.1.0 was 3):

    python -m engine.training.multisource train --out build/finsent-ms --epochs 5

Then export, quantize and write the shipped artifact beside 1.0.0 (a new version replaces the
shipped one only if it wins on the dev splits, see ms_build.replaces_shipped):

    python -m engine.training.multisource build --out build/finsent-ms --version 1.2.0

Each source has a dev split carved from its TRAIN part (stratified 10 %, seed 42); the epoch (or
the mean of later epochs' weights) kept is the one with the best MEAN dev weighted F1 across the
three sources. The news corpus is the smallest source and the text analysts paste, so each epoch
sees it ``--news-repeat`` times. TFNS sent_valid.csv, the news test set and the SEntFiN eval part
are never read here during training or selection.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import copy
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.training.data import LABELS, base_model_dir, make_tokenizer
from engine.training.finetune import (collate, encode_ids, log, predict_proba_torch, save_checkpoint,
                                     set_seed)
from engine.training.metrics import classification_report
from engine.training.modeling import model_class
from engine.training.ms_config import MultiConfig
from engine.training.sources import train_sources


def dev_scores(model, tok, devs: dict) -> dict:
    """Per-source dev weighted F1 and loss, and their mean (the selection key)."""
    entry = {}
    for name, split in devs.items():
        probs = predict_proba_torch(model, tok, split.texts)
        rep = classification_report(probs, split.labels, LABELS)
        loss = float(nn.functional.nll_loss(torch.log(torch.from_numpy(probs).clamp_min(1e-12)),
                                            torch.tensor(split.labels)))
        entry[name] = {"weighted_f1": rep["weighted_f1"], "macro_f1": rep["macro_f1"], "loss": round(loss, 4)}
    entry["mean_weighted_f1"] = round(float(np.mean([entry[n]["weighted_f1"] for n in devs])), 4)
    entry["mean_loss"] = round(float(np.mean([entry[n]["loss"] for n in devs])), 4)
    return entry


def train_multi(cfg: MultiConfig, sources: dict, tok, checkpoint_dir: Path | None = None):
    from transformers import get_linear_schedule_with_warmup

    set_seed(cfg.seed)
    model = model_class(cfg.pooling).from_pretrained(
        str(base_model_dir()), num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)})
    model.config.signaldesk_pooling = cfg.pooling
    devs = {name: dev for name, (_, dev) in sources.items()}

    ids, labels = [], []
    for name, (train_split, _) in sources.items():
        repeat = cfg.news_repeat if name == "news" else 1
        enc = encode_ids(tok, train_split.texts)
        ids += enc * repeat
        labels += list(train_split.labels) * repeat
    labels_t = torch.tensor(labels, dtype=torch.long)
    steps_per_epoch = (len(ids) + cfg.batch_size - 1) // cfg.batch_size
    total_steps = steps_per_epoch * cfg.epochs
    if cfg.max_steps:
        total_steps = min(total_steps, cfg.max_steps)
    log(f"{len(ids)} training rows an epoch, {total_steps} steps")

    decay, no_decay = [], []
    for _, p in model.named_parameters():
        (no_decay if p.ndim == 1 else decay).append(p)
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    sched = get_linear_schedule_with_warmup(optim, int(cfg.warmup_fraction * total_steps), total_steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    gen = torch.Generator().manual_seed(cfg.seed)

    history, best_state, best_key = [], None, None
    avg_state, avg_count, step = None, 0, 0
    t_start = time.time()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, running, n_batches = time.time(), 0.0, 0
        perm = torch.randperm(len(ids), generator=gen).tolist()
        for start in range(0, len(perm), cfg.batch_size):
            sel = perm[start : start + cfg.batch_size]
            input_ids, mask = collate([ids[i] for i in sel])
            loss = loss_fn(model(input_ids=input_ids, attention_mask=mask).logits, labels_t[sel])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            running += loss.item()
            n_batches += 1
            step += 1
            if step % 50 == 0:
                rate = step / (time.time() - t_start)
                log(f"epoch {epoch} step {step}/{total_steps} loss {running / n_batches:.4f} "
                    f"({rate:.2f} steps/s, ~{(total_steps - step) / rate / 60:.0f} min left)")
            if cfg.max_steps and step >= cfg.max_steps:
                break
        entry = {"epoch": epoch, "train_loss": round(running / max(n_batches, 1), 4),
                 "seconds": round(time.time() - t0, 1), **dev_scores(model, tok, devs)}
        history.append(entry)
        log(f"epoch {epoch}: {json.dumps(entry)}")
        key = (entry["mean_weighted_f1"], -entry["mean_loss"])
        if best_key is None or key > best_key:
            best_key, best_state = key, copy.deepcopy(model.state_dict())
        if cfg.average_epochs and epoch >= 2:
            state = model.state_dict()
            if avg_state is None:
                avg_state = {k: v.detach().clone().double() for k, v in state.items()}
            else:
                for k, v in state.items():
                    avg_state[k] += v.double()
            avg_count += 1
        if checkpoint_dir is not None:  # a late crash still leaves the best so far
            save_checkpoint(model, tok, cfg, checkpoint_dir / f"epoch{epoch}")
        if cfg.max_steps and step >= cfg.max_steps:
            break
    if avg_count >= 2:
        current = model.state_dict()
        model.load_state_dict({k: (v / avg_count).to(current[k].dtype) for k, v in avg_state.items()})
        entry = {"epoch": f"mean of epochs 2-{1 + avg_count}", **dev_scores(model, tok, devs)}
        history.append(entry)
        log(f"weight average: {json.dumps(entry)}")
        key = (entry["mean_weighted_f1"], -entry["mean_loss"])
        if key > best_key:
            best_key, best_state = key, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return model, history


def run_train(args, cfg: MultiConfig) -> None:
    out = Path(args.out)
    tok = make_tokenizer(cfg.max_length, cfg.strip_urls)
    sources = train_sources(cfg.dev_fraction, cfg.seed)
    for name, (tr, dv) in sources.items():
        log(f"{name}: train {len(tr)}, dev {len(dv)}")
    t0 = time.time()
    model, history = train_multi(cfg, sources, tok, checkpoint_dir=out / "epochs")
    ckpt = out / "fp32"
    save_checkpoint(model, tok, cfg, ckpt)
    best = max(history, key=lambda h: (h["mean_weighted_f1"], -h["mean_loss"]))
    summary = {"config": asdict(cfg), "rows": {n: {"train": len(tr), "dev": len(dv)}
                                               for n, (tr, dv) in sources.items()},
               "history": history, "selected": best, "train_minutes": round((time.time() - t0) / 60, 1),
               "torch_threads": torch.get_num_threads()}
    (ckpt / "history.json").write_text(json.dumps(summary, indent=2))
    log(f"selected {best['epoch']}: mean dev weighted F1 {best['mean_weighted_f1']}")


def parse_args(argv=None):
    d = MultiConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["train", "build"])
    p.add_argument("--out", default="build/finsent-ms")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--max-length", type=int, default=d.max_length)
    p.add_argument("--news-repeat", type=int, default=d.news_repeat)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--artifact", default=None, help="shipped model dir (default resources/models/finsent-minilm-l6-news)")
    p.add_argument("--version", default=None,
                   help="version to build (default the shipped one's); a new version replaces the shipped files "
                        "only if it wins on the dev splits (engine.training.ms_build.replaces_shipped)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = MultiConfig(epochs=args.epochs, lr=args.lr, max_length=args.max_length,
                      news_repeat=args.news_repeat, seed=args.seed, max_steps=args.max_steps)
    if args.step == "train":
        run_train(args, cfg)
    else:
        from engine.training.ms_build import build_artifact

        build_artifact(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Multiple choice, SWAG-style: a context and four endings; each (context, question start + ending) pair is scored
from its [CLS] and the softmax runs over the four (REFERENCE.md §1).

Data: the SWAG CSV layout (a header with sent1, sent2, ending0..ending3 and, except in test files, label; real CSV
quoting). The best epoch on dev is kept; dev predictions go to predictions.tsv (`id<TAB>choice`)."""
from __future__ import annotations

import csv
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from data_pipeline import DataError
from modeling.task_heads import AlbaForMultipleChoice
from pretrain.config import ConfigError
from pretrain.engine import make_accelerator
from pretrain.rundir import default_output_dir, make_output_dir
from pretrain.tracking import Tracker

from .config import FinetuneConfig
from .metrics import accuracy
from .grid import run_grid
from .runner import EVAL_BATCH, check_output_dir, train_epochs
from .starting_model import load_starting_model

ENDINGS = tuple(f"ending{i}" for i in range(4))


@dataclass
class ChoiceExample:
    guid: str
    context: str
    choices: list[str]  # question start + each ending
    label: int | None


def read_swag(path: str | Path) -> list[ChoiceExample]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such SWAG file")
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in ("sent1", "sent2", *ENDINGS) if c not in header]
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(missing)} (header: {', '.join(header)})")
        examples = []
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise DataError(f"{path}:{line}: expected {len(header)} fields")
            label = None
            if "label" in header:
                if row["label"] not in ("0", "1", "2", "3"):
                    raise DataError(f"{path}:{line}: label {row['label']!r} is not one of 0, 1, 2, 3")
                label = int(row["label"])
            guid = row.get("") or row.get("video-id") or str(line)
            examples.append(ChoiceExample(guid, row["sent1"], [f"{row['sent2']} {row[e]}".strip() for e in ENDINGS],
                                          label))
    return examples


def _encode(tokenizer, examples):
    pairs = [(e.context, c) for e in examples for c in e.choices]
    encoded = [(enc.ids, enc.type_ids) for enc in tokenizer.encode_batch(pairs)]
    return [encoded[i:i + len(ENDINGS)] for i in range(0, len(encoded), len(ENDINGS))]


def _collate(encoded, labels, pad_id: int) -> dict[str, torch.Tensor]:
    B, C = len(encoded), len(encoded[0])
    T = max(len(ids) for group in encoded for ids, _ in group)
    batch = {n: torch.zeros((B, C, T), dtype=torch.long) for n in ("input_ids", "token_type_ids", "attention_mask")}
    batch["input_ids"].fill_(pad_id)
    for b, group in enumerate(encoded):
        for c, (ids, types) in enumerate(group):
            batch["input_ids"][b, c, :len(ids)] = torch.tensor(ids)
            batch["token_type_ids"][b, c, :len(ids)] = torch.tensor(types)
            batch["attention_mask"][b, c, :len(ids)] = 1
    if labels is not None:
        batch["labels"] = torch.tensor(labels)
    return batch


@torch.no_grad()
def predict(model, encoded, device, pad_id: int) -> np.ndarray:
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(encoded), EVAL_BATCH // len(ENDINGS)):
        batch = _collate(encoded[i:i + EVAL_BATCH // len(ENDINGS)], None, pad_id)
        out.append(model(**{k: v.to(device) for k, v in batch.items()}).logits.argmax(-1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def run_swag(cfg: FinetuneConfig) -> dict:
    started = time.perf_counter()
    if not cfg.dev_file or (cfg.do_train and not cfg.train_file):
        raise ConfigError("--dev_file (and --train_file when training) must name SWAG CSV files")
    out = Path(cfg.output_dir or default_output_dir("swag"))
    check_output_dir(out, cfg.overwrite)
    if cfg.grid:
        make_output_dir(out, cfg.overwrite)
        summary = run_grid(cfg, out, lambda c, folder: run_swag(dataclasses.replace(c, output_dir=str(folder))),
                           lambda metrics: metrics["accuracy"])
        print(f"\nalba SWAG grid: best setting {summary['setting']}, median dev accuracy of {summary['seeds']} "
              f"seed(s): {100 * summary['metrics']['accuracy']:.1f}")
        return summary
    train = read_swag(cfg.train_file)[:cfg.max_train_examples or None] if cfg.do_train else []
    dev = read_swag(cfg.dev_file)
    if any(e.label is None for e in dev):
        raise DataError(f"{cfg.dev_file}: the evaluation file has no label column")
    torch.manual_seed(cfg.seed)
    start = load_starting_model(cfg, AlbaForMultipleChoice, {"classifier_dropout": cfg.classifier_dropout},
                                lambda: [t for e in train for t in (e.context, *e.choices)])
    model, tokenizer, pad_id = start.model, start.tokenizer, start.model.config.pad_token_id
    dev_encoded, dev_labels = _encode(tokenizer, dev), [e.label for e in dev]
    make_output_dir(out, cfg.overwrite)
    (out / "finetune_config.json").write_text(json.dumps(cfg.to_dict(), indent=1) + "\n", encoding="utf-8")
    acc = make_accelerator("fp32")
    best = {"accuracy": -1.0, "epoch": 0}

    def evaluate(epoch: int) -> dict:
        preds = predict(model, dev_encoded, acc.device, pad_id)
        metrics = {"accuracy": accuracy(preds, dev_labels)}
        print(f"[alba] swag epoch {epoch}: accuracy {metrics['accuracy']:.4f}")
        if metrics["accuracy"] > best["accuracy"]:
            best.update(accuracy=metrics["accuracy"], epoch=epoch)
            model.save_pretrained(out / "best")
            start.save_tokenizer(out / "best")
            lines = ["id\tprediction"] + [f"{e.guid}\t{int(p)}" for e, p in zip(dev, preds)]
            (out / "predictions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return metrics

    tracker = Tracker(out, cfg.to_dict(), wandb=cfg.wandb, project=cfg.wandb_project)
    try:
        if cfg.do_train:
            encoded, labels = _encode(tokenizer, train), [e.label for e in train]
            model = train_epochs(cfg, model, acc, tracker, out, len(encoded), evaluate,
                                 lambda idx: _collate([encoded[i] for i in idx], [labels[i] for i in idx], pad_id))
        else:
            model = model.to(acc.device)
            evaluate(0)
        result = {"metrics": {"accuracy": best["accuracy"]}, "best_epoch": best["epoch"],
                  "train_examples": len(train), "dev_examples": len(dev),
                  "wall_seconds": time.perf_counter() - started}
        (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        tracker.summary({"best/accuracy": best["accuracy"]})
    finally:
        tracker.close()
    print(f"\nalba SWAG dev accuracy {100 * best['accuracy']:.1f} (n={len(dev)}, best epoch {best['epoch']}; "
          f"chance 25.0)")
    return result

"""Multiple choice, SWAG-style: a context and four endings; each (context, question start + ending) pair is scored
from its [CLS] and the softmax runs over the four (REFERENCE.md §1).

Data: the SWAG CSV layout (a header with sent1, sent2, ending0..ending3 and, except in test files, label; real CSV
quoting). The best epoch on dev is kept; dev predictions go to predictions.tsv (`id<TAB>choice`)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from data_pipeline import DataError
from data_pipeline.utf8 import read_utf8
from modeling.task_heads import AlbaForMultipleChoice
from pretrain.job import create_run_dir
from pretrain.rundir import check_output_dir

from .config import SwagConfig
from .grid import run_grid
from .job import EVAL_BATCH, FinetuneTask, Scored, chunks, run_finetuning, say
from .metrics import accuracy
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
    with io.StringIO(read_utf8(path), newline="") as f:
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


def run_swag(cfg: SwagConfig) -> dict:
    if not cfg.grid:
        return _run(cfg, check_output_dir(cfg))
    check_output_dir(cfg, need_checkpoint=False)  # each point keeps its own checkpoints
    summary = run_grid(cfg, create_run_dir(cfg), _run, lambda metrics: metrics["accuracy"])
    say(f"\nalba SWAG grid: best setting {summary['setting']}, median dev accuracy of {summary['seeds']} "
        f"seed(s): {100 * summary['metrics']['accuracy']:.1f}")
    return summary


def _run(cfg: SwagConfig, checkpoint) -> dict:
    train = read_swag(cfg.train_file)[:cfg.max_train_examples or None] if cfg.do_train else []
    dev = read_swag(cfg.dev_file)
    if any(e.label is None for e in dev):
        raise DataError(f"{cfg.dev_file}: the evaluation file has no label column")
    torch.manual_seed(cfg.seed)
    start = load_starting_model(cfg, AlbaForMultipleChoice, {"classifier_dropout": cfg.classifier_dropout},
                                lambda: [t for e in train for t in (e.context, *e.choices)])
    tokenizer, pad_id = start.tokenizer, start.model.config.pad_token_id
    dev_encoded, dev_labels = _encode(tokenizer, dev), [e.label for e in dev]
    encoded, labels = _encode(tokenizer, train), [e.label for e in train]

    def score(predict) -> Scored:
        rows = chunks(dev_encoded, EVAL_BATCH // len(ENDINGS))
        preds = np.concatenate([o.logits.argmax(-1).cpu().numpy() for o in
                                predict(_collate(r, None, pad_id) for r in rows)])
        lines = ["id\tprediction"] + [f"{e.guid}\t{int(p)}" for e, p in zip(dev, preds)]
        keep = lambda out: (out / "predictions.tsv").write_text("\n".join(lines) + "\n",  # noqa: E731
                                                                encoding="utf-8")
        return Scored({"accuracy": accuracy(preds, dev_labels)}, accuracy(preds, dev_labels), keep)

    describe = f"swag: {len(train)} train, {len(dev)} dev; model {cfg.model} ({start.source})"
    task = FinetuneTask("swag", start, len(encoded), lambda rows: _collate([encoded[i] for i in rows],
                                                                           [labels[i] for i in rows], pad_id),
                        score, describe, lambda best_predict: {"train_examples": len(train),
                                                               "dev_examples": len(dev)})
    result = run_finetuning(cfg, task, checkpoint)
    say(f"\nalba SWAG dev accuracy {100 * result['metrics']['accuracy']:.1f} (n={len(dev)}, best epoch "
        f"{result['best_epoch']}; chance 25.0)")
    return result

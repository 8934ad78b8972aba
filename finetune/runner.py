"""Fine-tune on GLUE with the shared engine: AdamW with warmup and linear decay, an evaluation on dev after every
epoch, the best epoch's model kept (in <output_dir>/best), a bag-of-words baseline beside it, and one results row
per task (the average over tasks for --task=all)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from data_pipeline import DataError
from data_pipeline.glue import TASKS, GlueTask, get_task, read_glue_file, task_file
from modeling.task_heads import AlbaForSequenceClassification
from pretrain.config import ConfigError
from pretrain.grid import run_part
from pretrain.job import create_run_dir, is_main_process
from pretrain.rundir import check_output_dir

from .bow_baseline import BagOfWords
from .config import FinetuneConfig
from .glue import compute_metrics, write_submission
from .grid import run_grid
from .job import FinetuneTask, Scored, chunks, run_finetuning
from .starting_model import load_starting_model

# File names of the GLUE submission archive.
_SUBMISSION = {"test": "{folder}.tsv", "test_matched": "{folder}-m.tsv", "test_mismatched": "{folder}-mm.tsv"}


class TaskData:
    """A task's examples (read, and checked, before anything is trained or written)."""

    def __init__(self, cfg: FinetuneConfig, task: GlueTask):
        self.task = task
        self.train = []
        if cfg.do_train:
            self.train = read_glue_file(cfg.train_file or task_file(cfg.data_dir, task, "train"), task)
            if cfg.max_train_examples:
                self.train = self.train[:cfg.max_train_examples]
        dev_files = [Path(cfg.dev_file)] if cfg.dev_file else [task_file(cfg.data_dir, task, s)
                                                              for s in task.eval_splits]
        self.dev = {f.stem: read_glue_file(f, task) for f in dev_files}
        for name, examples in self.dev.items():
            if any(e.label is None for e in examples):
                raise DataError(f"{name}: the evaluation file has no {task.label_column} column")
        self.test = {}
        if cfg.predict:
            test_files = ([(Path(cfg.test_file), "test")] if cfg.test_file else
                          [(task_file(cfg.data_dir, task, s), s) for s in task.test_splits])
            self.test = {split: read_glue_file(f, task) for f, split in test_files}


def _encode(tokenizer, examples, truncation: str = "head") -> list[tuple[list[int], list[int]]]:
    """Token ids and segment ids. A pair is cut from its longer side; a single text longer than the tokenizer's
    truncation length keeps its head, its tail, or the first quarter of the budget from its head and the rest from
    its tail ('head_tail')."""
    inputs = [(e.text_a, e.text_b) if e.text_b is not None else e.text_a for e in examples]
    pairs = any(e.text_b is not None for e in examples)
    if pairs and truncation != "head":
        raise ConfigError(f"--truncation={truncation} applies to single-text tasks; this task's examples are pairs")
    if truncation == "head":
        return [(enc.ids, enc.type_ids) for enc in tokenizer.encode_batch(inputs)]
    budget = tokenizer.truncation["max_length"] - 2  # [CLS] and [SEP]
    head = budget // 4 if truncation == "head_tail" else 0
    whole = Tokenizer.from_str(tokenizer.to_str())
    whole.no_truncation()
    cls, sep = whole.token_to_id("[CLS]"), whole.token_to_id("[SEP]")
    encoded = []
    for enc in whole.encode_batch(inputs, add_special_tokens=False):
        ids = enc.ids if len(enc.ids) <= budget else enc.ids[:head] + enc.ids[len(enc.ids) - (budget - head):]
        encoded.append(([cls, *ids, sep], [0] * (len(ids) + 2)))
    return encoded


def _collate(encoded, labels, pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence of the batch (short SST-2 phrases then cost little)."""
    length = max(len(ids) for ids, _ in encoded)
    input_ids = torch.full((len(encoded), length), pad_id, dtype=torch.long)
    types = torch.zeros((len(encoded), length), dtype=torch.long)
    mask = torch.zeros((len(encoded), length), dtype=torch.long)
    for row, (ids, type_ids) in enumerate(encoded):
        input_ids[row, :len(ids)] = torch.tensor(ids)
        types[row, :len(ids)] = torch.tensor(type_ids)
        mask[row, :len(ids)] = 1
    batch = dict(input_ids=input_ids, token_type_ids=types, attention_mask=mask)
    if labels is not None:
        batch["labels"] = torch.tensor(labels, dtype=torch.float if isinstance(labels[0], float) else torch.long)
    return batch


def _predictions(predict, encoded, pad_id: int, regression: bool) -> np.ndarray:
    outputs = predict(_collate(rows, None, pad_id) for rows in chunks(encoded))
    return np.concatenate([(o.logits if regression else o.logits.argmax(-1)).float().cpu().numpy() for o in outputs])


def run_task(cfg: FinetuneConfig, data: TaskData, checkpoint) -> dict:
    task = data.task
    torch.manual_seed(cfg.seed)
    head = dict(num_labels=task.num_labels, classifier_dropout=cfg.classifier_dropout)
    if task.label_names:
        head["label_names"] = task.label_names
    start = load_starting_model(cfg, AlbaForSequenceClassification, head,
                                lambda: [t for e in data.train for t in (e.text_a, e.text_b) if t])
    model, tokenizer, pad_id = start.model, start.tokenizer, start.model.config.pad_token_id
    dev = {name: (_encode(tokenizer, ex, cfg.truncation), [e.label for e in ex]) for name, ex in data.dev.items()}
    first_dev = next(iter(dev))
    encoded = _encode(tokenizer, data.train, cfg.truncation)
    labels = [e.label for e in data.train]

    def score(predict) -> Scored:
        metrics = {}
        for name, (rows, gold) in dev.items():
            preds = _predictions(predict, rows, pad_id, task.is_regression)
            metrics.update({f"{name}/{k}": v for k, v in compute_metrics(task, preds, gold).items()})
        return Scored(metrics, metrics[f"{first_dev}/score"])  # MNLI: chosen on matched

    describe = (f"{task.name}: {len(data.train)} train, " + ", ".join(f"{n} {len(v[1])}" for n, v in dev.items())
                + f"; model {cfg.model} ({start.source}, {model.num_parameters() / 1e6:.2f}M parameters)")
    out = Path(cfg.output_dir)

    def report(best_predict) -> dict:
        for split, examples in data.test.items():
            preds = _predictions(best_predict(), _encode(tokenizer, examples, cfg.truncation), pad_id,
                                 task.is_regression)
            write_submission(out / _SUBMISSION[split].format(folder=task.folder), task, examples, preds)
        return {"task": task.name, "baseline": _baseline(cfg, data), "train_examples": len(data.train),
                "dev_examples": {n: len(v[1]) for n, v in dev.items()}, "model": cfg.model, "source": start.source,
                "best_model": str(out / "best")}

    job = FinetuneTask(task.name, start, len(encoded), lambda rows: _collate([encoded[i] for i in rows],
                                                                             [labels[i] for i in rows], pad_id),
                       score, describe, report)
    return run_finetuning(cfg, job, checkpoint)


def _baseline(cfg: FinetuneConfig, data: TaskData) -> dict:
    """The bag-of-words logistic regression's dev metrics (none without training data or with --baseline=False)."""
    if not (cfg.baseline and data.train):
        return {}
    task, scores = data.task, {}
    bow = BagOfWords(task.num_labels).fit([(e.text_a, e.text_b) for e in data.train], [e.label for e in data.train])
    for name, examples in data.dev.items():
        preds = bow.predict([(e.text_a, e.text_b) for e in examples]).numpy()
        scores.update({f"{name}/{k}": v for k, v in compute_metrics(task, preds, [e.label for e in examples]).items()})
    return scores


def run_glue(cfg: FinetuneConfig) -> list[dict]:
    tasks = list(TASKS.values()) if cfg.task == "all" else [get_task(cfg.task)]
    if not cfg.data_dir and not (cfg.train_file and cfg.dev_file):
        raise ConfigError("--data_dir is required (or both --train_file and --dev_file)")
    parts = len(tasks) > 1 or cfg.grid  # each task and grid point keeps its own checkpoints
    checkpoint = check_output_dir(cfg, need_checkpoint=not parts)
    datasets = [TaskData(cfg, task) for task in tasks]  # every file is read and checked before anything is written
    if not parts:
        results = [run_task(cfg, datasets[0], checkpoint)]
    else:
        results, out = [], create_run_dir(cfg)
        for data in datasets:
            folder = out / data.task.name if len(tasks) > 1 else out
            run_one = lambda c, checkpoint, data=data: run_task(c, data, checkpoint)  # noqa: E731
            results.append(run_grid(cfg, folder, run_one, glue_score) if cfg.grid else run_part(cfg, folder, run_one))
    if is_main_process():  # the one that holds the whole results
        table = format_results(results)
        print(table)
        (Path(cfg.output_dir) / "results.txt").write_text(table + "\n", encoding="utf-8")
    return results


def glue_score(metrics: dict) -> float:
    """A task's score: the mean of its dev splits' scores (MNLI: matched and mismatched)."""
    return float(np.mean([v for m, v in metrics.items() if m.endswith("/score")]))


def format_results(results: list[dict]) -> str:
    """One row per task and dev split: the task's metrics at the best epoch, the bag-of-words baseline's, and the
    GLUE-style average of the task scores (x100)."""
    rows = [("task", "dev split", "metrics", "score", "bag-of-words", "best epoch")]
    for r in results:
        splits = sorted({k.split("/")[0] for k in r["metrics"]}, key=list(r["dev_examples"]).index)
        for split in splits:
            mine = {k.split("/")[1]: v for k, v in r["metrics"].items() if k.startswith(split + "/")}
            base = r["baseline"].get(f"{split}/score")
            rows.append((r["task"], f"{split} (n={r['dev_examples'][split]})",
                         " ".join(f"{k} {100 * v:.1f}" for k, v in mine.items() if k != "score"),
                         f"{100 * mine['score']:.1f}", "-" if base is None else f"{100 * base:.1f}",
                         str(r["best_epoch"]) + (f" {r['setting']}, median of {r['seeds']}" if "setting" in r
                                                 else "")))
    if len(results) > 1:
        scores = [np.mean([v for k, v in r["metrics"].items() if k.endswith("/score")]) for r in results]
        rows.append(("average", "", "", f"{100 * np.mean(scores):.1f}", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["", "alba fine-tuning results (dev, x100)"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)

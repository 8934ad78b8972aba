"""Fine-tune on GLUE with the shared engine: AdamW with warmup and linear decay, an evaluation on dev after every
epoch, the best epoch's model kept (in <output_dir>/best), a bag-of-words baseline beside it, and one results row
per task (the average over tasks for --task=all)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from data_pipeline import DataError
from data_pipeline.glue import TASKS, GlueTask, get_task, read_glue_file, task_file
from modeling.task_heads import AlbaForSequenceClassification
from pretrain.config import ConfigError
from pretrain.checkpoint import TrainState
from pretrain.engine import Engine, make_accelerator
from pretrain.optim import build_optimizer, build_scheduler
from pretrain.rundir import check_writable, default_output_dir, make_output_dir
from pretrain.sampler import GlobalBatchSampler
from pretrain.tracking import Tracker

from .bow_baseline import BagOfWords
from .config import FinetuneConfig
from .glue import compute_metrics, write_submission
from .grid import run_grid
from .starting_model import load_starting_model

EVAL_BATCH = 128
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


@torch.no_grad()
def predict(model, encoded, device, pad_id: int, regression: bool) -> np.ndarray:
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(encoded), EVAL_BATCH):
        batch = {k: v.to(device) for k, v in _collate(encoded[start:start + EVAL_BATCH], None, pad_id).items()}
        logits = model(**batch).logits
        out.append((logits if regression else logits.argmax(-1)).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


def train_epochs(cfg: FinetuneConfig, model, acc, tracker, out: Path, n_examples: int, evaluate, make_batch):
    """Fine-tune on the shared engine: AdamW, linear warmup and decay over `cfg.epochs` passes of `n_examples`
    (batches of `make_batch(indices)` in a seeded order), `evaluate(epoch)` after every epoch. Returns the model
    as the engine holds it."""
    steps_per_epoch = n_examples // cfg.batch_size
    if steps_per_epoch == 0:
        raise ConfigError(f"{n_examples} training examples are fewer than --batch_size {cfg.batch_size}")
    total = steps_per_epoch * cfg.epochs
    optimizer = build_optimizer(model, "adamw", cfg.lr, cfg.weight_decay, cfg.adam_eps)
    scheduler = build_scheduler(optimizer, cfg.warmup_steps(total), total, "linear")
    engine = Engine(model, optimizer, scheduler, acc, max_steps=total, output_dir=out, tracker=tracker,
                    grad_clip=cfg.grad_clip, log_every=min(cfg.log_every, steps_per_epoch), save_every=0,
                    eval_every=steps_per_epoch, keep_checkpoints=1, progress=cfg.progress, seed=cfg.seed)

    def batches(epoch: int, start_batch: int):
        sampler = GlobalBatchSampler(n_examples, cfg.batch_size, cfg.seed)
        sampler.set_epoch(epoch, start_batch)
        for idx in sampler:
            yield make_batch(idx)

    state = TrainState()
    # The engine evaluates at the end of every epoch but the last, which is evaluated here after fit.
    engine.fit(batches, state, evaluate=lambda: evaluate(state.step // steps_per_epoch))
    tracker.log({f"eval/{k}": v for k, v in evaluate(cfg.epochs).items()}, step=state.step)
    return engine.model


def check_output_dir(out: Path, overwrite: bool) -> None:
    check_writable(out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"--output_dir {out} is not empty; pass --overwrite to replace it")


def run_task(cfg: FinetuneConfig, data: TaskData, out: Path, say=print) -> dict:
    task = data.task
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    head = dict(num_labels=task.num_labels, classifier_dropout=cfg.classifier_dropout)
    start = load_starting_model(cfg, AlbaForSequenceClassification, head,
                                lambda: [t for e in data.train for t in (e.text_a, e.text_b) if t])
    model, tokenizer, pad_id = start.model, start.tokenizer, start.model.config.pad_token_id
    dev = {name: (_encode(tokenizer, ex, cfg.truncation), [e.label for e in ex]) for name, ex in data.dev.items()}
    first_dev = next(iter(dev))
    out.mkdir(parents=True, exist_ok=True)
    (out / "finetune_config.json").write_text(json.dumps({**cfg.to_dict(), "task": task.name}, indent=1) + "\n",
                                              encoding="utf-8")
    say(f"[alba] {task.name}: {len(data.train)} train, " + ", ".join(f"{n} {len(v[1])}" for n, v in dev.items())
        + f"; model {cfg.model} ({start.source}, {model.num_parameters() / 1e6:.2f}M parameters)")
    acc = make_accelerator("fp32")
    history, best = [], {"score": -np.inf, "epoch": 0, "metrics": {}}

    def evaluate_dev(epoch: int) -> dict:
        metrics = {}
        for name, (encoded, labels) in dev.items():
            preds = predict(model, encoded, acc.device, pad_id, task.is_regression)
            metrics.update({f"{name}/{k}": v for k, v in compute_metrics(task, preds, labels).items()})
        history.append({"epoch": epoch, **metrics})
        if metrics[f"{first_dev}/score"] > best["score"]:  # MNLI: chosen on matched
            best.update(score=metrics[f"{first_dev}/score"], epoch=epoch, metrics=metrics)
            model.save_pretrained(out / "best")
            start.save_tokenizer(out / "best")
        say(f"[alba] {task.name} epoch {epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        return metrics

    tracker = Tracker(out, {**cfg.to_dict(), "task": task.name}, wandb=cfg.wandb, project=cfg.wandb_project)
    try:
        if cfg.do_train:
            encoded = _encode(tokenizer, data.train, cfg.truncation)
            labels = [e.label for e in data.train]
            model = train_epochs(cfg, model, acc, tracker, out, len(encoded), evaluate_dev,
                                 lambda idx: _collate([encoded[i] for i in idx], [labels[i] for i in idx], pad_id))
        else:
            model = model.to(acc.device)
            evaluate_dev(0)
        baseline = {}
        if cfg.baseline and data.train:
            bow = BagOfWords(task.num_labels).fit([(e.text_a, e.text_b) for e in data.train],
                                                  [e.label for e in data.train])
            for name, examples in data.dev.items():
                preds = bow.predict([(e.text_a, e.text_b) for e in examples]).numpy()
                baseline.update({f"{name}/{k}": v for k, v in
                                 compute_metrics(task, preds, [e.label for e in examples]).items()})
        if data.test:
            best_model = type(model).from_pretrained(out / "best").to(acc.device) if cfg.do_train else model
            for split, examples in data.test.items():
                preds = predict(best_model, _encode(tokenizer, examples, cfg.truncation), acc.device, pad_id,
                                task.is_regression)
                write_submission(out / _SUBMISSION[split].format(folder=task.folder), task, examples, preds)
        result = {"task": task.name, "metrics": best["metrics"], "best_epoch": best["epoch"], "history": history,
                  "baseline": baseline, "train_examples": len(data.train),
                  "dev_examples": {n: len(v[1]) for n, v in dev.items()}, "model": cfg.model, "source": start.source,
                  "wall_seconds": time.perf_counter() - started, "best_model": str(out / "best")}
        tracker.summary({f"best/{k}": v for k, v in best["metrics"].items()})
        (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    finally:
        tracker.close()
    return result


def run_glue(cfg: FinetuneConfig) -> list[dict]:
    tasks = list(TASKS.values()) if cfg.task == "all" else [get_task(cfg.task)]
    if not cfg.data_dir and not (cfg.train_file and cfg.dev_file):
        raise ConfigError("--data_dir is required (or both --train_file and --dev_file)")
    out = Path(cfg.output_dir or default_output_dir("finetune"))
    check_output_dir(out, cfg.overwrite)
    # Every task's files are read and checked before anything is trained or written.
    datasets = [TaskData(cfg, task) for task in tasks]
    if cfg.overwrite and out.is_dir():  # the old run is moved aside; each task's run creates its own folder
        make_output_dir(out, overwrite=True)
    results = [run_grid(cfg, out / data.task.name if len(tasks) > 1 else out,
                        lambda c, folder, data=data: run_task(c, data, folder), glue_score) if cfg.grid else
               run_task(cfg, data, out / data.task.name if len(tasks) > 1 else out) for data in datasets]
    table = format_results(results)
    print(table)
    (out / "results.txt").write_text(table + "\n", encoding="utf-8")
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

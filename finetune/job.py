"""The run every fine-tuning task goes through (GLUE, SQuAD, SWAG): AdamW with warmup and linear decay over `--epochs`
passes of the training set, a dev evaluation after every epoch whose best model is kept in <output_dir>/best, on the
shared run skeleton (the launcher's processes, precision, DeepSpeed, checkpoints and exact resume, tracking). A task
brings its model, its training batches and how its dev predictions are scored."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pretrain.checkpoint import TrainState
from pretrain.config import ConfigError
from pretrain.engine import predict
from pretrain.job import Training, create_run_dir, is_main_process, launch_accelerator, run_training
from pretrain.optim import build_optimizer, build_scheduler
from pretrain.sampler import GlobalBatchSampler

from .config import FinetuneConfig
from .starting_model import StartingModel

EVAL_BATCH = 128
# A learning rate at which small models from random weights learn the GLUE tasks (measured in tests/finetune).
RANDOM_INIT_LR = 1e-3
# Every dev evaluation of the run so far: how a resumed run knows its best epoch.
EVALUATIONS = "evaluations.json"

Predict = Callable[[Iterable[dict]], Iterator]  # batches -> the model's outputs


@dataclass
class Scored:
    """One dev evaluation: its metrics, the score the best epoch is chosen by, and what it writes into the run
    directory when it is the best so far (its predictions)."""
    metrics: dict[str, float]
    score: float
    keep: Callable[[Path], None] | None = None


@dataclass
class FinetuneTask:
    name: str  # in the per-epoch lines: "sst2", "squad", "swag"
    start: StartingModel
    train_rows: int
    train_batch: Callable[[list[int]], dict]  # row numbers -> a batch with its targets
    score: Callable[[Predict], Scored]  # the dev evaluation, from the model's predictions
    describe: str
    # More results on the main process once the best epoch is known, given the predictions of the best model.
    report: Callable[[Callable[[], Predict]], dict] = lambda best_predict: {}
    digits: int = 4  # of the per-epoch lines


def say(*args) -> None:
    if is_main_process():
        print(*args, flush=True)


def chunks(rows: list, size: int = EVAL_BATCH) -> Iterator[list]:
    return (rows[i:i + size] for i in range(0, len(rows), size))


class Evaluations:
    """The dev evaluations of a run, kept in <output_dir>/evaluations.json, and its best model in <output_dir>/best.
    A resumed run starts from those its stopped run made; those at or after its checkpoint's step are made again."""

    def __init__(self, task: FinetuneTask, out: Path, resumed: bool, acc):
        self.task, self.out, self.acc, self.history = task, out, acc, []
        if resumed and (out / EVALUATIONS).is_file():
            self.history = json.loads((out / EVALUATIONS).read_text(encoding="utf-8"))

    def judge(self, predict_with: Predict, epoch: int, step: int, model, weights: Callable[[], dict | None]) -> dict:
        """Score the model's dev predictions; a new best is saved (`weights()`: its whole weights under ZeRO-3, a
        collective every process takes part in, else None: `model` holds them)."""
        scored = self.task.score(predict_with)
        self.history = [h for h in self.history if h["step"] < step]  # those a resumed run makes again
        best = not self.history or scored.score > max(h["score"] for h in self.history)
        self.history.append({"epoch": epoch, "step": step, "score": scored.score, "metrics": scored.metrics})
        whole = weights() if best else None
        if self.acc.is_main_process:
            if best:
                model.save_pretrained(self.out / "best", whole)
                self.task.start.save_tokenizer(self.out / "best")
                if scored.keep:
                    scored.keep(self.out)
            tmp = self.out / (EVALUATIONS + ".tmp")
            tmp.write_text(json.dumps(self.history, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.out / EVALUATIONS)
            say(f"[alba] {self.task.name} epoch {epoch}: "
                + ", ".join(f"{k} {v:.{self.task.digits}f}" for k, v in scored.metrics.items()))
        return scored.metrics

    def results(self) -> dict:
        """The best epoch's metrics (the first of equals), the history and, on the main process, the task's
        report."""
        best = max(self.history, key=lambda h: h["score"])
        found = {"metrics": best["metrics"], "best_epoch": best["epoch"],
                 "history": [{"epoch": h["epoch"], **h["metrics"]} for h in self.history]}
        if self.acc.is_main_process:
            model_cls = type(self.task.start.model)
            found.update(self.task.report(lambda: _predicting(model_cls.from_pretrained(self.out / "best"), self.acc)))
        return found


def run_finetuning(cfg: FinetuneConfig, task: FinetuneTask, checkpoint: Path | None) -> dict:
    """Train `task` (from `checkpoint` when resuming) with a dev evaluation after every epoch, or only evaluate with
    --do_train=False. Returns the results every process agrees on: the best epoch's metrics, the best epoch and the
    history of evaluations; the main process also writes them to results.json."""
    started = time.perf_counter()
    if cfg.do_train and cfg.lr < RANDOM_INIT_LR / 10 and (task.start.source == "preset" or cfg.from_scratch):
        say(f"[alba] warning: --lr={cfg.lr:g} suits fine-tuning a pretrained model; {cfg.model} starts from random "
            f"weights here, which at this rate barely leave chance: try --lr={RANDOM_INIT_LR:g}")
    acc = launch_accelerator(cfg)
    out = create_run_dir(cfg)
    evaluations, model = Evaluations(task, out, checkpoint is not None, acc), task.start.model
    if not cfg.do_train:
        evaluations.judge(_predicting(model, acc), 0, 0, model, lambda: None)
        done = {**evaluations.results(), "wall_seconds": time.perf_counter() - started, "steps": 0,
                "train_seconds": 0.0}
        if acc.is_main_process:
            (out / "results.json").write_text(json.dumps(done, indent=1) + "\n", encoding="utf-8")
        return done

    steps_per_epoch = task.train_rows // cfg.batch_size
    if steps_per_epoch == 0:
        raise ConfigError(f"{task.train_rows} training examples are fewer than --batch_size {cfg.batch_size}")
    total = steps_per_epoch * cfg.epochs
    optimizer = build_optimizer(model, "adamw", cfg.lr, cfg.weight_decay, cfg.adam_eps)
    scheduler = build_scheduler(optimizer, cfg.warmup_steps(total), total, "linear")

    def batches(epoch: int, start: int):
        sampler = GlobalBatchSampler(task.train_rows, cfg.batch_size, cfg.seed, acc.process_index, acc.num_processes)
        sampler.set_epoch(epoch, start)
        return (task.train_batch(rows) for rows in sampler)

    def evaluate(engine, state: TrainState) -> dict:
        return evaluations.judge(engine.predict, state.step // steps_per_epoch, state.step, engine.unwrapped,
                                 engine.model_state_dict)

    def finish(engine, state: TrainState):
        final = evaluate(engine, state)  # the engine evaluates every epoch but the last
        best = {**evaluations.results(), "wall_seconds": time.perf_counter() - started}
        return ({**{f"eval/{k}": v for k, v in final.items()}, **{f"best/{k}": v for k, v in best["metrics"].items()}},
                best)

    training = Training(model, optimizer, scheduler, total, batches, task.describe, evaluate,
                        eval_every=steps_per_epoch, grad_clip=cfg.grad_clip, grad_accum=cfg.grad_accum_steps)
    return run_training(cfg, out, checkpoint, training, finish, accelerator=acc)


def _predicting(model, acc) -> Predict:
    model = model.to(acc.device)
    return lambda batches: predict(model, batches, acc)

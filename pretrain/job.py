"""The run skeleton every baseline job goes through: the output directory that honours the shared run options
(`RunOptions`), and `run_training` (resume -> tracker -> engine -> fit -> final evaluation -> results.json). A
job declares only what is its own: its options, data, model, optimizer, batches, evaluation and report.
Pretraining and fine-tuning share its parts (options, output directory, engine, evaluation) but not yet
`run_training` itself."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .checkpoint import TrainState, load_checkpoint, resumable_checkpoint
from .config import RunOptions
from .engine import Engine, make_accelerator
from .rundir import check_output_dir, prepare_output_dir
from .tracking import Tracker


def prepare_run_dir(cfg: RunOptions, need_checkpoint: bool = True) -> Path:
    """Check the output directory against --resume/--overwrite (see `check_output_dir`; a bad combination changes
    nothing on disk), then, for a new run, create it and record the resolved config."""
    check_output_dir(cfg, need_checkpoint)
    return Path(cfg.output_dir) if cfg.resume else prepare_output_dir(cfg)


@dataclass
class Training:
    """What a job trains and how it is checked along the way; the rest of the run is the skeleton's."""
    model: object
    optimizer: object
    scheduler: object
    max_steps: int
    batches: Callable[[int, int], Iterable[dict]]  # (epoch, first batch) -> this epoch's batches from there on
    describe: str  # one line on the data and the model, printed when training starts
    evaluate: Callable[[Engine, TrainState], dict] | None = None  # held-out metrics, every `eval_every` steps
    eval_every: int = 0
    grad_clip: float = 0.0


def run_training(cfg: RunOptions, out: Path, training: Training,
                 finish: Callable[[Engine, TrainState], tuple[dict, dict] | None],
                 tracked: dict | None = None) -> dict | None:
    """Train (from the latest checkpoint under `out` with --resume), then `finish(engine, state)` gives the final
    metrics (logged at the last step and kept as the run's summary) and the results, which are written to
    `out/results.json` with the steps and training seconds, and returned. `finish` returns None when the run
    stopped before its end (nothing is written; --resume continues it). `tracked`: the options the tracker
    records (default: the config)."""
    checkpoint = resumable_checkpoint(out / "checkpoints") if cfg.resume else None
    state = TrainState()
    if checkpoint:
        state = load_checkpoint(checkpoint, training.model, training.optimizer, training.scheduler)
    print(f"[alba] {training.describe}" + (f"; resuming at step {state.step}" if checkpoint else ""), flush=True)
    tracker = Tracker(out, tracked or cfg.to_dict(), wandb=cfg.wandb, project=cfg.wandb_project,
                      resume_step=state.step if checkpoint else None)
    engine = Engine(training.model, training.optimizer, training.scheduler, make_accelerator(),
                    max_steps=training.max_steps, output_dir=out, tracker=tracker, grad_clip=training.grad_clip,
                    log_every=cfg.log_every, save_every=cfg.save_every, keep_checkpoints=cfg.keep_checkpoints,
                    eval_every=training.eval_every, progress=cfg.progress, seed=cfg.seed)
    evaluate = (lambda: training.evaluate(engine, state)) if training.evaluate else None  # fit advances state
    try:
        state = engine.fit(training.batches, state, evaluate=evaluate)
        done = finish(engine, state)
        if done is None:
            return None
        metrics, results = done
        tracker.log(metrics, step=state.step)
        tracker.summary(metrics)
    finally:
        tracker.close()
    results = {**results, "steps": state.step, "train_seconds": state.train_seconds}
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return results

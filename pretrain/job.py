"""The run skeleton every baseline job goes through: the output directory that honours the shared run options
(`RunOptions`), and `run_training` (resume -> tracker -> engine -> fit -> final evaluation -> results.json). A job declares
only what is its own: its options, data, model, optimizer, batches, evaluation and report."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .checkpoint import TrainState, load_checkpoint, resumable_checkpoint
from .config import ConfigError, RunOptions
from .engine import Engine, make_accelerator
from .rundir import RUN_CONFIG, check_writable, default_output_dir, make_output_dir, read_run_config
from .tracking import Tracker


def prepare_run_dir(cfg: RunOptions) -> Path:
    """Check the output directory against --resume/--overwrite (a bad combination changes nothing on disk), then
    create it and record the resolved config. Without --output_dir: runs/<NAME>-<time>."""
    cfg.output_dir = cfg.output_dir or default_output_dir(cfg.NAME)
    out = Path(cfg.output_dir)
    stored = out / RUN_CONFIG
    if cfg.resume:
        if not stored.is_file():
            raise ConfigError(f"--resume: {out} holds no run to resume ({RUN_CONFIG} missing)")
        old = read_run_config(stored)
        changed = [k for k, v in cfg.to_dict().items() if k not in cfg.RESUMABLE_CHANGES and old.get(k) != v]
        if changed:
            raise ConfigError(f"--resume: options differ from the run in {out}: "
                              + ", ".join(f"{k} ({old.get(k)!r} -> {getattr(cfg, k)!r})" for k in changed))
        return out
    check_writable(out)
    if out.is_dir() and any(out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"--output_dir {out} is not empty; pass --overwrite to replace it or --resume to "
                          f"continue it")
    make_output_dir(out, cfg.overwrite)
    stored.write_text(json.dumps(cfg.to_dict(), indent=1) + "\n", encoding="utf-8")
    return out


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

"""The run skeleton every job goes through (pretraining, fine-tuning, the baselines): the output directory that
honours the shared run options (`RunOptions`), the accelerator of the launch options (`LaunchOptions`: processes,
precision, DeepSpeed), and `run_training` (resume -> tracker -> engine -> fit -> final evaluation -> results). A
job declares only what is its own: its options, data, model, optimizer, batches, evaluation and report."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .checkpoint import TrainState, load_checkpoint
from .config import ConfigError, LaunchOptions, RunOptions
from .deepspeed_config import load_deepspeed_config, resolve
from .engine import Engine, make_accelerator, world_size
from .rundir import check_output_dir, prepare_output_dir
from .tracking import Tracker


def prepare_run_dir(cfg: RunOptions, need_checkpoint: bool = True) -> tuple[Path, Path | None]:
    """Check the output directory against --resume/--overwrite (see `check_output_dir`; a bad combination changes
    nothing on disk), then, for a new run, create it and record the resolved config (on the main process). Returns
    the directory and the checkpoint to resume from."""
    checkpoint = check_output_dir(cfg, need_checkpoint)
    return create_run_dir(cfg), checkpoint


def create_run_dir(cfg: RunOptions) -> Path:
    """The checked output directory: for a new run, the main process creates it and records the config."""
    if not cfg.resume and is_main_process():
        prepare_output_dir(cfg)
    return Path(cfg.output_dir)


def is_main_process() -> bool:
    """Whether this is the process that writes files and prints (the launcher's rank 0)."""
    return int(os.environ.get("RANK", "0")) == 0


def launch_accelerator(cfg: LaunchOptions, splits: list[tuple[int, int]] | None = None):
    """The run's Accelerator: the launcher's processes, --precision, and DeepSpeed with --deepspeed_config. Each
    (batch size, accumulation) of `splits` (default: the run's) must split evenly over the processes."""
    ds_config = None
    if cfg.deepspeed_config:
        ds_config = resolve(load_deepspeed_config(cfg.deepspeed_config), cfg, world_size(), cfg.deepspeed_config)
    acc = make_accelerator(cfg.precision, ds_config)
    for batch_size, accum in splits or [(cfg.batch_size, cfg.grad_accum_steps)]:
        if batch_size % (acc.num_processes * accum):
            raise ConfigError(f"--batch_size={batch_size} must split evenly over {acc.num_processes} process(es) x "
                              f"--grad_accum_steps={accum} micro-batches")
    return acc


@dataclass
class Training:
    """What a job trains and how it is checked along the way; the rest of the run is the skeleton's."""
    model: object
    optimizer: object
    scheduler: object
    max_steps: int
    batches: Callable[[int, int], Iterable[dict]] | None  # (epoch, first batch) -> the epoch's batches from there on
    describe: str  # one line on the data and the model, printed when training starts
    evaluate: Callable[[Engine, TrainState], dict] | None = None  # held-out metrics, every `eval_every` steps
    eval_every: int = 0
    grad_clip: float = 0.0
    grad_accum: int = 1  # micro-batches per step on each process
    resumed: Callable[[TrainState], None] | None = None  # once the checkpoint is loaded
    # How the engine trains: by default `engine.fit` over `batches`; pretraining runs its phases.
    fit: Callable[[Engine, TrainState, Callable | None], TrainState] | None = None
    engine_options: dict = field(default_factory=dict)  # more Engine options: a time budget, target counts, FLOPs
    results_file: str = "results.json"


def run_training(cfg: RunOptions, out: Path, checkpoint: Path | None, training: Training,
                 finish: Callable[[Engine, TrainState], tuple[dict, dict] | None],
                 tracked: dict | None = None, accelerator=None) -> dict | None:
    """Train (from `checkpoint` when resuming), then `finish(engine, state)` gives the final metrics (logged at the
    last step and kept as the run's summary) and the results, which the main process writes to
    `out/results.json` with the steps and training seconds; every process returns them. `finish` returns None
    when the run stopped before its end (nothing is written; --resume continues it). `tracked`: the options the
    tracker records (default: the config). `accelerator`: default one process on the CPU or GPU, in fp32."""
    acc = accelerator or make_accelerator()
    main = acc.is_main_process
    state = TrainState()
    if checkpoint:
        state = load_checkpoint(checkpoint, training.model, training.optimizer, training.scheduler, acc.scaler)
        if training.resumed:
            training.resumed(state)
    if main:
        print(f"[alba] {training.describe}; {acc.num_processes} process(es) on {acc.device}"
              + (f"; resuming at step {state.step}" if checkpoint else ""), flush=True)
    if isinstance(cfg, LaunchOptions) and cfg.compile:
        training.model.compile()  # in place: parameter names, checkpoints and exports stay as they are
    tracker = Tracker(out, tracked or cfg.to_dict(), wandb=cfg.wandb, project=cfg.wandb_project, enabled=main,
                      tensorboard=cfg.tensorboard,
                      resume_step=state.step if checkpoint else None)
    engine = Engine(training.model, training.optimizer, training.scheduler, acc,
                    max_steps=training.max_steps, output_dir=out, tracker=tracker, grad_clip=training.grad_clip,
                    log_every=cfg.log_every, save_every=cfg.save_every, keep_checkpoints=cfg.keep_checkpoints,
                    eval_every=training.eval_every, progress=cfg.progress, seed=cfg.seed,
                    grad_accum=training.grad_accum, **training.engine_options)
    evaluate = (lambda: training.evaluate(engine, state)) if training.evaluate else None  # fit advances state
    fit = training.fit or (lambda engine, state, evaluate: engine.fit(training.batches, state, evaluate=evaluate))
    try:
        state = fit(engine, state, evaluate)
        done = finish(engine, state)
        if done is None:
            return None
        metrics, results = done
        tracker.log(metrics, step=state.step)
        tracker.summary(metrics)
    finally:
        tracker.close()
    results = {**results, "steps": state.step, "train_seconds": state.train_seconds}
    if main:
        (out / training.results_file).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return results

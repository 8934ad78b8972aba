"""The training loop shared by pretraining, fine-tuning and the baselines. It never names a model or a task: a model
returns an output with `loss`, any number of `*_loss` parts and `*_correct`/`*_total` count pairs, which become the
logged losses and accuracies."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Callable, Iterable

import torch
from tqdm.auto import tqdm

from .checkpoint import save_checkpoint
from .optim import full_state_dict


class TrainingError(RuntimeError):
    """Training cannot go on (diverged, or the processes did not form a group)."""


def make_accelerator(precision: str = "fp32"):
    """An Accelerator on GPU when there is one, else on CPU with gloo. Checks that the processes a launcher started
    really formed one group: without it every rank would silently train alone."""
    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs

    cpu = not torch.cuda.is_available()
    if precision == "fp16" and cpu:
        raise TrainingError("--precision=fp16 needs a CUDA GPU; use bf16 or fp32 on CPU")
    expected = int(os.environ.get("WORLD_SIZE", "1"))
    handlers = [InitProcessGroupKwargs(backend="gloo")] if cpu and expected > 1 else []
    acc = Accelerator(cpu=cpu, mixed_precision={"fp32": "no"}.get(precision, precision), kwargs_handlers=handlers)
    if acc.num_processes != expected:
        raise TrainingError(f"the launcher started {expected} processes but they formed a group of "
                            f"{acc.num_processes}; each would train alone")
    return acc


@dataclass
class TrainState:
    """The data cursor and counters saved with every checkpoint."""
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens: int = 0
    train_seconds: float = 0.0


def output_metrics(out) -> dict[str, torch.Tensor]:
    """Loss parts and count pairs of a model output, as detached tensors to be summed over a logging window."""
    items = ((f.name, getattr(out, f.name)) for f in fields(out)) if is_dataclass(out) else out.items()
    found = {}
    for name, value in items:
        if value is None or not torch.is_tensor(value) or value.ndim != 0:
            continue
        if name == "loss" or name.endswith("_loss") or name.endswith("_correct") or name.endswith("_total"):
            found[name] = value.detach().float()
    return found


def summarize(sums: dict[str, float], batches: int) -> dict[str, float]:
    """Mean losses over the batches and accuracies from the summed counts."""
    result = {}
    for name, value in sums.items():
        if name == "loss" or name.endswith("_loss"):
            result[name] = value / max(batches, 1)
        elif name.endswith("_correct"):
            total = sums.get(name[:-len("_correct")] + "_total", 0.0)
            if total:
                result[name[:-len("_correct")] + "_accuracy"] = value / total
    return result


class Engine:
    def __init__(self, model, optimizer, scheduler, accelerator, *, max_steps: int, output_dir: Path,
                 tracker, grad_clip: float = 1.0, log_every: int = 20, save_every: int = 0, eval_every: int = 0,
                 keep_checkpoints: int = 2, max_minutes: float = 0.0, progress: bool = True,
                 max_bad_steps: int = 5):
        self.acc = accelerator
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.scheduler = scheduler
        self.max_steps, self.output_dir, self.tracker = max_steps, Path(output_dir), tracker
        self.grad_clip, self.log_every, self.save_every, self.eval_every = grad_clip, log_every, save_every, eval_every
        self.keep, self.max_minutes, self.progress, self.max_bad_steps = keep_checkpoints, max_minutes, progress, max_bad_steps

    @property
    def unwrapped(self):
        return self.acc.unwrap_model(self.model)

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.acc.device, non_blocking=True) for k, v in batch.items()}

    def fit(self, batches_for_epoch: Callable[[int, int], Iterable[dict]], state: TrainState,
            evaluate: Callable[[], dict] | None = None) -> TrainState:
        """Train until `max_steps`. `batches_for_epoch(epoch, start_batch)` yields this process's batches of an
        epoch from the cursor on; an empty epoch ends training."""
        main = self.acc.is_main_process
        bar = tqdm(total=self.max_steps, initial=state.step, desc="train", unit="step", dynamic_ncols=True,
                   disable=not (self.progress and main))
        window: dict[str, float] = {}
        window_batches, window_tokens, window_start = 0, 0, time.perf_counter()
        bad_in_row, started = 0, time.perf_counter()
        self.model.train()
        stopped_early = False
        while state.step < self.max_steps and not stopped_early:
            progressed, resumed_mid_epoch = False, state.batch_in_epoch > 0
            for batch in batches_for_epoch(state.epoch, state.batch_in_epoch):
                progressed = True
                t0 = time.perf_counter()
                batch = self._to_device(batch)
                with self.acc.autocast():
                    out = self.model(**batch)
                loss = out.loss
                if not torch.isfinite(loss.detach()).all():
                    bad_in_row += 1
                    self.optimizer.zero_grad(set_to_none=True)
                    self.tracker.log({"skipped_nonfinite": 1}, step=state.step)
                    if bad_in_row >= self.max_bad_steps:
                        raise TrainingError(f"loss was not finite for {bad_in_row} steps in a row at step "
                                            f"{state.step}; lower --lr or check the data")
                    continue
                bad_in_row = 0
                self.acc.backward(loss)
                grad_norm = None
                if self.grad_clip:
                    grad_norm = self.acc.clip_grad_norm_(self.model.parameters(), self.grad_clip)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                state.step += 1
                state.batch_in_epoch += 1
                tokens = int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()
                state.tokens += tokens * self.acc.num_processes
                state.train_seconds += time.perf_counter() - t0
                for name, value in output_metrics(out).items():
                    window[name] = window.get(name, 0.0) + float(value)
                window_batches += 1
                window_tokens += tokens
                bar.update(1)
                if state.step % self.log_every == 0 or state.step == self.max_steps:
                    metrics = self._reduce_window(window, window_batches)
                    elapsed = time.perf_counter() - window_start
                    metrics.update(lr=self.scheduler.get_last_lr()[0],
                                   tokens_per_s=window_tokens * self.acc.num_processes / max(elapsed, 1e-9),
                                   epoch=state.epoch)
                    if grad_norm is not None:
                        metrics["grad_norm"] = float(grad_norm)
                    if main:
                        self.tracker.log({f"train/{k}": v for k, v in metrics.items()}, step=state.step)
                    bar.set_postfix(loss=f"{metrics.get('loss', math.nan):.3f}", lr=f"{metrics['lr']:.2e}")
                    window, window_batches, window_tokens, window_start = {}, 0, 0, time.perf_counter()
                if evaluate and self.eval_every and state.step % self.eval_every == 0 and state.step < self.max_steps:
                    self._evaluate(evaluate, state)
                if self.save_every and state.step % self.save_every == 0 and state.step < self.max_steps:
                    self.save(state)
                if self.max_minutes and time.perf_counter() - started > 60 * self.max_minutes:
                    stopped_early = True
                if state.step >= self.max_steps or stopped_early:
                    break
            else:
                state.epoch += 1
                state.batch_in_epoch = 0
            if not progressed and not resumed_mid_epoch:
                raise TrainingError(f"epoch {state.epoch} produced no batches; the training set is too small "
                                    f"for the batch size")
        bar.close()
        self.save(state)
        return state

    def _evaluate(self, evaluate, state: TrainState):
        metrics = evaluate()
        if self.acc.is_main_process:
            self.tracker.log({f"eval/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))},
                             step=state.step)
        self.model.train()

    def _reduce_window(self, window: dict[str, float], batches: int) -> dict[str, float]:
        if self.acc.num_processes > 1:
            names = sorted(window)
            t = torch.tensor([window[n] for n in names] + [batches], device=self.acc.device, dtype=torch.float64)
            t = self.acc.reduce(t, reduction="sum")
            window, batches = dict(zip(names, t[:-1].tolist())), int(t[-1])
        return summarize(window, batches)

    def save(self, state: TrainState):
        self.acc.wait_for_everyone()
        optimizer_state = full_state_dict(self.optimizer)
        if self.acc.is_main_process:
            save_checkpoint(self.output_dir / "checkpoints", state.step, self.unwrapped, optimizer_state,
                            self.scheduler, {f.name: getattr(state, f.name) for f in fields(state)}, self.keep)
        self.acc.wait_for_everyone()

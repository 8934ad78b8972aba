"""The training loop shared by pretraining, fine-tuning and the baselines. It never names a model or a task: a model
returns an output with `loss`, any number of `*_loss` parts and `*_correct`/`*_total` count pairs, which become the
logged losses and accuracies."""
from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import (ZERO_PENDING, TrainState, restore_zero_partition, save_checkpoint,
                         save_optimizer_partition, start_partitioned_checkpoint)
from .config import ConfigError
from .optim import full_state_dict
from .rundir import discard_replaced


class TrainingError(RuntimeError):
    """Training cannot go on (diverged, or the processes did not form a group)."""


def world_size() -> int:
    """The number of processes the launcher started (before any process group exists)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def make_accelerator(precision: str = "fp32", deepspeed_config: dict | None = None):
    """An Accelerator on GPU when there is one, else on CPU with gloo; with DeepSpeed when a (resolved) DeepSpeed
    config is given. Checks that the processes a launcher started really formed one group: without it every rank
    would silently train alone."""
    from accelerate import Accelerator
    from accelerate.utils import DeepSpeedPlugin, InitProcessGroupKwargs

    cpu = not torch.cuda.is_available()
    if precision == "fp16" and cpu:
        raise TrainingError("--precision=fp16 needs a CUDA GPU; use bf16 or fp32 on CPU")
    expected = world_size()
    if deepspeed_config and cpu and int(os.environ.get("RANK", "0")) == 0 and not _deepspeed_cpu_op_built():
        print("[alba] DeepSpeed on CPU compiles its shared-memory communication op on first use (1-2 minutes, then "
              "cached; TORCH_EXTENSIONS_DIR sets where)", flush=True)
    handlers = [InitProcessGroupKwargs(backend="gloo")] if cpu and expected > 1 else []
    plugin = DeepSpeedPlugin(hf_ds_config=deepspeed_config) if deepspeed_config else None
    try:
        acc = Accelerator(cpu=cpu and plugin is None, mixed_precision={"fp32": "no"}.get(precision, precision),
                          kwargs_handlers=handlers, deepspeed_plugin=plugin)
    except ValueError as e:
        if expected == 1:
            raise
        raise TrainingError(f"the launcher started {expected} processes but they could not form a group "
                            f"({' '.join(str(e).split())})") from None
    if acc.num_processes != expected:
        raise TrainingError(f"the launcher started {expected} processes but they formed a group of "
                            f"{acc.num_processes}; each would train alone")
    return acc


def _deepspeed_cpu_op_built() -> bool:
    from torch.utils.cpp_extension import get_default_build_root

    root = os.environ.get("TORCH_EXTENSIONS_DIR") or os.path.join(
        get_default_build_root(), f"py{sys.version_info.major}{sys.version_info.minor}_cpu")
    return os.path.isfile(os.path.join(root, "deepspeed_shm_comm", "deepspeed_shm_comm.so"))


def remove_deepspeed_buffer() -> None:
    """DeepSpeed's CPU all-reduce gives each process a shared-memory buffer (/dev/shm, 66 MB) that it never
    unlinks; once the run is over this process's goes (named by user, master address and port, and rank)."""
    name = (f"deepspeed_allreduce_buffer_{os.getuid()}_{os.environ.get('MASTER_ADDR')}_"
            f"{os.environ.get('MASTER_PORT')}_{os.environ.get('RANK', '0')}")
    Path("/dev/shm", name).unlink(missing_ok=True)


def group_exists() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def release_group(barrier: bool) -> bool:
    """Destroy the process group while the interpreter is still whole; returns whether there was one. Left to
    interpreter teardown, gloo's worker threads can abort the process after a successful run ("terminate called
    without an active exception", SIGABRT). After a success every rank waits for the others first; after a failure
    no rank waits for peers that may be gone."""
    import torch.distributed as dist

    if not group_exists():
        return False
    if barrier:
        dist.barrier()
    dist.destroy_process_group()
    return True


@torch.no_grad()
def predict(model, batches: Iterable[dict], accelerator) -> Iterator:
    """The model's outputs on `batches`, computed in evaluation mode on the accelerator's device and precision; the
    model is back in its former mode once the batches are done."""
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            with accelerator.autocast():
                out = model(**{k: v.to(accelerator.device) for k, v in batch.items()})
            yield out
    finally:
        model.train(was_training)


class StepResult(NamedTuple):
    outputs: list
    tokens: int  # real (unpadded) tokens of this process's batch
    grad_norm: float | None
    skipped: bool  # the optimizer did not step (non-finite gradient)
    diverged: bool  # skipped for a reason that counts toward stopping the run
    flops: float  # training FLOPs this process spent (0 when unknown)


def batch_samples(batch: dict) -> int:
    """Examples in a batch: its rows, or its pairs when rows are packed (`pack_ids` numbers a row's pairs)."""
    if "pack_ids" in batch:
        return int(batch["pack_ids"].amax(dim=1).sum())
    return len(next(iter(batch.values())))


def batch_tokens(batch: dict) -> int:
    """Real (unpadded) tokens in a batch; 0 for a batch of other features (a TF-IDF row). An encoder-decoder's
    are its source's and its target's."""
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum())
    if "src_ids" in batch:
        from modeling.baselines.seq2seq import PAD
        return int((batch["src_ids"] != PAD).sum() + (batch["labels"] != PAD).sum())
    return batch["input_ids"].numel() if "input_ids" in batch else 0


def output_metrics(out) -> dict[str, torch.Tensor]:
    """Loss parts and count pairs of a model output, as detached tensors to be summed over a logging window. A part
    `P_loss` with a count `P_total` also gives `P_loss_sum` (loss times count), so that the window's loss of that
    part is its mean over targets however the targets were split into batches and processes."""
    items = ((f.name, getattr(out, f.name)) for f in fields(out)) if is_dataclass(out) else out.items()
    found = {}
    for name, value in items:
        if value is None or not torch.is_tensor(value) or value.ndim != 0:
            continue
        if name == "loss" or name.endswith("_loss") or name.endswith("_correct") or name.endswith("_total"):
            found[name] = value.detach().float()
    for name in [n for n in found if n.endswith("_loss")]:
        total = found.get(name[:-len("_loss")] + "_total")
        if total is not None:
            found[name + "_sum"] = found[name] * total
    return found


def summarize(sums: dict[str, float], batches: int) -> dict[str, float]:
    """Losses (per target where counts exist, else per batch) and accuracies from the summed counts."""
    result = {}
    for name, value in sums.items():
        if name == "loss" or name.endswith("_loss"):
            total = sums.get(name[:-len("_loss")] + "_total", 0.0)
            weighted = sums.get(name + "_sum")
            result[name] = weighted / total if weighted is not None and total else value / max(batches, 1)
        elif name.endswith("_correct"):
            total = sums.get(name[:-len("_correct")] + "_total", 0.0)
            if total:
                result[name[:-len("_correct")] + "_accuracy"] = value / total
    parts = [n for n in result if n.endswith("_loss") and n + "_sum" in sums]
    if "loss" in result and parts:
        # The total is the sum of its parts, each per target, so it too is independent of how batches were split.
        result["loss"] = sum(result[n] for n in parts)
    return result


class _Window:
    """What the steps since the last log add up to on this process."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.batches, self.tokens, self.flops, self.start = 0, 0, 0.0, time.perf_counter()

    def add(self, result: StepResult):
        for out in result.outputs:
            for name, value in output_metrics(out).items():
                self.sums[name] = self.sums.get(name, 0.0) + float(value)
        self.batches += len(result.outputs)
        self.tokens += result.tokens
        self.flops += result.flops


class Engine:
    def __init__(self, model, optimizer, scheduler, accelerator, *, max_steps: int, output_dir: Path,
                 tracker, seed: int, grad_clip: float = 1.0, log_every: int = 20, save_every: int = 0,
                 eval_every: int = 0, keep_checkpoints: int = 2, max_minutes: float = 0.0, progress: bool = True,
                 max_bad_steps: int = 5, grad_accum: int = 1, schedule_follows_budget: bool = True,
                 target_counts: Callable[[dict], dict[str, torch.Tensor]] | None = None,
                 flops_per_batch: Callable[[dict], float] | None = None, peak_flops: float | None = None):
        """`grad_accum`: each process's batch of a step is split into this many micro-batches, one backward each.
        `target_counts(batch)`: for each loss part P (the output's `P_loss`, a mean over that batch's targets), how
        many targets the batch holds. With it, every part is weighted by its share of the step's targets over all
        micro-batches and processes, so the gradient equals that of one process on the whole global batch. Without
        it, micro-batches and processes weigh equally, as DDP and DeepSpeed do. `flops_per_batch(batch)`: the
        training FLOPs one micro-batch costs, for model FLOP/s and, with `peak_flops` (per process), MFU.
        `seed`: with the data cursor and the process index it seeds torch's generators before every batch (see
        `_seed_batch`). `schedule_follows_budget`: with `max_minutes`, the lr schedule advances by the share of the
        budget spent (see `_follow_budget`); False keeps it on the step count (a schedule defined per step, like
        the Transformer's, that the budget only cuts short)."""
        self.acc = accelerator
        if hasattr(optimizer, "consolidate_state_dict"):
            # A whole-tensor-sharded optimizer places its own state; Accelerate's placement would read its
            # state_dict, which only exists after a collective gather.
            self.model = accelerator.prepare(model)
            self.optimizer = accelerator.prepare_optimizer(optimizer, device_placement=False)
        else:
            self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.scheduler = scheduler
        self.max_steps, self.output_dir, self.tracker = max_steps, Path(output_dir), tracker
        self.grad_clip, self.log_every, self.save_every, self.eval_every = grad_clip, log_every, save_every, eval_every
        self.keep, self.max_minutes, self.progress, self.max_bad_steps = keep_checkpoints, max_minutes, progress, max_bad_steps
        self.grad_accum, self.target_counts = grad_accum, target_counts
        self.schedule_follows_budget = schedule_follows_budget
        self.flops_per_batch, self.peak_flops, self.seed = flops_per_batch, peak_flops, seed
        plugin = accelerator.state.deepspeed_plugin
        self.deepspeed = plugin is not None
        self.deepspeed_stage = plugin.zero_stage if plugin is not None else -1
        self._restore_zero_partition(optimizer)

    def _restore_zero_partition(self, optimizer):
        """Load this process's ZeRO optimizer partition, which `load_checkpoint` left on the optimizer: only now
        does the DeepSpeed optimizer that holds it exist."""
        pending = getattr(optimizer, ZERO_PENDING, None)
        if pending is None:
            return
        delattr(optimizer, ZERO_PENDING)
        if pending["stage"] != self.deepspeed_stage:
            now = f"ZeRO-{self.deepspeed_stage}" if self.deepspeed_stage >= 0 else "no DeepSpeed"
            warnings.warn(f"{pending['file'].parent} holds ZeRO-{pending['stage']} optimizer partitions, but this run "
                          f"uses {now}, which partitions differently; the optimizer moments restart from zero",
                          stacklevel=3)
            return
        try:
            restore_zero_partition(self.optimizer.optimizer, pending["partition"], self.acc.process_index,
                                   self.acc.num_processes)
        except Exception as e:  # a partition that does not fit this model or DeepSpeed configuration
            raise ConfigError(f"checkpoint file {pending['file']} cannot be loaded into this run ({type(e).__name__}: "
                              f"{' '.join(str(e).split())[:300]}); start a new run") from None

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
        window = _Window()
        bad_in_row = 0
        self.model.train()
        stopped_early = False
        if self.max_minutes and self.schedule_follows_budget:  # a resumed run goes on from the share spent
            self._follow_budget(state, self._budget_spent(state))
        while state.step < self.max_steps and not stopped_early:
            progressed, resumed_mid_epoch = False, state.batch_in_epoch > 0
            t0 = time.perf_counter()  # train_seconds counts making batches and steps, not evaluations or saves
            for batch in batches_for_epoch(state.epoch, state.batch_in_epoch):
                progressed = True
                batch = self._to_device(batch)
                self._seed_batch(state)
                result = self._step(batch)
                state.batch_in_epoch += 1  # consumed even when skipped, so that a resume does not replay it
                if result.skipped:
                    state.skipped_steps += 1
                    if main:
                        self.tracker.log({"train/skipped_nonfinite": 1}, step=state.step)
                    bad_in_row = bad_in_row + 1 if result.diverged else bad_in_row
                    if bad_in_row >= self.max_bad_steps:
                        raise TrainingError(f"the gradient was not finite for {bad_in_row} steps in a row at step "
                                            f"{state.step}; lower --lr or check the data")
                    continue
                bad_in_row = 0
                state.step += 1
                state.tokens += result.tokens * self.acc.num_processes
                state.samples += batch_samples(batch) * self.acc.num_processes
                state.train_seconds += time.perf_counter() - t0
                if self.max_minutes:
                    spent = self._budget_spent(state)
                    if self.schedule_follows_budget:
                        self._follow_budget(state, spent)
                    stopped_early = spent >= 1
                window.add(result)
                bar.update(1)
                if state.step % self.log_every == 0 or state.step == self.max_steps:
                    metrics = self._log(window, result, state)
                    bar.set_postfix(loss=f"{metrics.get('loss', math.nan):.3f}", lr=f"{metrics['lr']:.2e}")
                    window = _Window()
                if evaluate and self.eval_every and state.step % self.eval_every == 0 and state.step < self.max_steps:
                    self._evaluate(evaluate, state)
                if self.save_every and state.step % self.save_every == 0 and state.step < self.max_steps:
                    self.save(state)
                if state.step >= self.max_steps or stopped_early:
                    break
                t0 = time.perf_counter()
            else:
                state.epoch += 1
                state.batch_in_epoch = 0
            if not progressed and not resumed_mid_epoch:
                raise TrainingError(f"epoch {state.epoch} produced no batches; the training set is too small "
                                    f"for the batch size")
        bar.close()
        self.save(state)
        self._report_skipped(state)
        return state

    def _log(self, window: "_Window", result: StepResult, state: TrainState) -> dict[str, float]:
        """The logged training metrics of the steps since the last log (summed over processes)."""
        metrics = self._reduce_window(window.sums, window.batches)
        elapsed = time.perf_counter() - window.start
        metrics.update(lr=self.scheduler.get_last_lr()[0],
                       tokens_per_s=window.tokens * self.acc.num_processes / max(elapsed, 1e-9),
                       epoch=state.epoch, samples=state.samples, tokens=state.tokens,
                       train_seconds=state.train_seconds)
        metrics.update(self._step_stats(result, window.flops, elapsed))
        if self.acc.is_main_process:
            self.tracker.log({f"train/{k}": v for k, v in metrics.items()}, step=state.step)
        return metrics

    def _budget_spent(self, state: TrainState) -> float:
        """The share of the time budget (--max_minutes of training time, evaluations and checkpoints not counted,
        summed over resumes) spent so far, as process 0 measured it: every process must agree, both on the lr and
        on the step the run stops at."""
        spent = torch.tensor([state.train_seconds / (60 * self.max_minutes)], dtype=torch.float64,
                             device=self.acc.device)
        if self.acc.num_processes > 1:
            from accelerate.utils import broadcast
            spent = broadcast(spent, from_process=0)
        return float(spent)

    def _follow_budget(self, state: TrainState, spent: float):
        """With a time budget, the schedule advances by the larger share used, of the steps or of the budget, so
        that warmup and decay fit in the time given (as budget-first recipes do) whatever the speed."""
        position = min(round(max(state.step / self.max_steps, spent) * self.max_steps), self.max_steps)
        groups = self.scheduler.optimizer.param_groups
        for group, base, factor in zip(groups, self.scheduler.base_lrs, self.scheduler.lr_lambdas):
            group["lr"] = base * factor(position)
        self.scheduler._last_lr = [group["lr"] for group in groups]  # what get_last_lr() reports

    def _report_skipped(self, state: TrainState):
        """Steps the optimizer skipped (non-finite gradient) are not silent: a share above 1% is a warning."""
        if not state.skipped_steps or not self.acc.is_main_process:
            return
        share = state.skipped_steps / (state.skipped_steps + state.step)
        self.tracker.summary({"skipped_steps": state.skipped_steps})
        print(f"[alba] {'warning: ' if share > 0.01 else ''}{state.skipped_steps} of "
              f"{state.skipped_steps + state.step} batches ({share:.1%}) were skipped because their gradient was not "
              "finite" + ("; the run may be unstable: consider a lower --lr or check the data" if share > 0.01 else ""),
              flush=True)

    def _seed_batch(self, state: TrainState):
        """Dropout (and any other draw a model makes) comes from a generator seeded by the run's seed, the data
        cursor and the process: a pure function of where training is, which the checkpoint holds. A resumed run
        therefore draws exactly what the uninterrupted run drew, with no generator state to save, and no other
        consumer of torch's global generator (a DataLoader drawing its base seed) can shift the stream."""
        key = [self.seed, state.phase, state.epoch, state.batch_in_epoch, self.acc.process_index]
        torch.manual_seed(int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0]))

    def _step(self, batch: dict):
        """Forward and backward over the micro-batches of one step, then clip and step the optimizer unless the
        gradient is not finite."""
        micro = [dict(zip(batch, parts)) for parts in zip(*(v.tensor_split(self.grad_accum) for v in batch.values()))]
        weights = self._part_weights(micro) if self.target_counts else None
        outputs, tokens, flops = [], 0, 0.0
        for i, mb in enumerate(micro):
            # Gradients are reduced between processes only once, on the last micro-batch.
            sync = contextlib.nullcontext() if i == len(micro) - 1 else self.acc.no_sync(self.model)
            with sync:
                with self.acc.autocast():
                    out = self.model(**mb)
                if weights is None:
                    loss = out.loss / len(micro)
                else:
                    loss = sum(getattr(out, f"{part}_loss") * w[i] for part, w in weights.items()
                               if getattr(out, f"{part}_loss") is not None)
                if self.deepspeed:
                    loss = loss * len(micro)  # DeepSpeed divides by its gradient_accumulation_steps itself
                self.acc.backward(loss)
            outputs.append(out)
            flops += self.flops_per_batch(mb) if self.flops_per_batch else 0.0
            tokens += batch_tokens(mb)
        # The norm is computed (without clipping when grad_clip is 0) to catch non-finite gradients. DeepSpeed
        # clips and checks inside its own step and may report no norm (None).
        grad_norm = self.acc.clip_grad_norm_(self.model.parameters(), self.grad_clip or math.inf)
        grad_norm = float(grad_norm) if grad_norm is not None else None
        finite_loss = all(bool(torch.isfinite(o.loss.detach())) for o in outputs)
        if self.acc.scaler is not None:
            # fp16: the scaler skips a step whose gradients overflowed and lowers the scale, which is how dynamic
            # loss scaling finds its level; only a non-finite loss itself means the run diverged.
            self.optimizer.step()
            skipped = self.optimizer.step_was_skipped
            diverged = skipped and not finite_loss
        else:
            skipped = diverged = grad_norm is not None and not math.isfinite(grad_norm)
            if not skipped:
                self.optimizer.step()
        if not skipped:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return StepResult(outputs, tokens, grad_norm, skipped, diverged, flops)

    def _step_stats(self, result: StepResult, flops: float, seconds: float) -> dict[str, float]:
        """Gradient norm, loss scale, the optimizer's own statistics (LAMB trust ratios) and model FLOP/s (MFU
        when the device's peak is known)."""
        stats = {}
        if result.grad_norm is not None:
            stats["grad_norm"] = result.grad_norm
        if self.acc.scaler is not None:
            stats["loss_scale"] = float(self.acc.scaler.get_scale())
        inner = getattr(self.optimizer, "optimizer", self.optimizer)
        inner = getattr(inner, "optim", inner)  # the local optimizer of a whole-tensor-sharded one
        if hasattr(inner, "statistics"):
            stats.update(inner.statistics())
        if self.flops_per_batch:
            achieved = flops * self.acc.num_processes / max(seconds, 1e-9)
            stats["model_tflops_per_s"] = achieved / 1e12
            if self.peak_flops:
                stats["mfu"] = achieved / (self.peak_flops * self.acc.num_processes)
        return stats

    def _part_weights(self, micro: list[dict]) -> dict[str, list[float]]:
        """Per loss part, each micro-batch's weight: its share of the step's targets over all processes, times
        the number of processes (whose gradients DDP averages)."""
        counts = [self.target_counts(mb) for mb in micro]
        parts = sorted(counts[0])
        local = torch.tensor([[float(c[p]) for p in parts] for c in counts], dtype=torch.float64)
        total = local.sum(0).to(self.acc.device)
        if self.acc.num_processes > 1:
            total = self.acc.reduce(total, reduction="sum")
        total = total.cpu().clamp(min=1)
        return {p: (local[:, j] / total[j] * self.acc.num_processes).tolist() for j, p in enumerate(parts)}

    def _evaluate(self, evaluate, state: TrainState):
        metrics = evaluate()
        if self.acc.is_main_process:
            self.tracker.log({f"eval/{k}": v for k, v in metrics.items() if isinstance(v, (int, float))},
                             step=state.step)
        self.model.train()

    @torch.no_grad()
    def evaluate_sums(self, batches: Iterable[dict], counts: Callable[[dict], dict] | None = None
                      ) -> tuple[dict[str, float], int]:
        """The one evaluation loop: the losses and counts of the model's outputs (see `output_metrics`) on this
        process's `batches`, with `counts(batch)` added to them, summed over all processes with the number of
        batches. Every process must call it; the model is in training mode again afterwards."""
        self.model.eval()
        sums: dict[str, float] = {}
        n = 0
        try:
            for batch in batches:
                batch = self._to_device(batch)
                with self.acc.autocast():
                    found = output_metrics(self.model(**batch))
                found.update(counts(batch) if counts else {})
                for name, value in found.items():
                    sums[name] = sums.get(name, 0.0) + float(value)
                n += 1
        finally:
            self.model.train()
        return self.reduce_sums(sums, n)

    def predict(self, batches: Iterable[dict]) -> Iterator:
        """The model's outputs on all of `batches` (see `predict`), on every process alike: with ZeRO-3 every
        process must call it, since each holds only a part of the weights."""
        return predict(self.model if self.deepspeed_stage == 3 else self.unwrapped, batches, self.acc)

    def evaluate(self, batches: Iterable[dict], counts: Callable[[dict], dict] | None = None) -> dict[str, float]:
        """Losses and accuracies (see `summarize`) of `evaluate_sums`."""
        return summarize(*self.evaluate_sums(batches, counts))

    def reduce_sums(self, sums: dict[str, float], batches: int) -> tuple[dict[str, float], int]:
        """Sum counters and the batch count over all processes (every process must call this)."""
        if self.acc.num_processes > 1:
            names = sorted(sums)
            t = torch.tensor([sums[n] for n in names] + [batches], device=self.acc.device, dtype=torch.float64)
            t = self.acc.reduce(t, reduction="sum")
            sums, batches = dict(zip(names, t[:-1].tolist())), int(t[-1])
        return sums, batches

    def _reduce_window(self, window: dict[str, float], batches: int) -> dict[str, float]:
        return summarize(*self.reduce_sums(window, batches))

    def model_state_dict(self) -> dict | None:
        """Whole weights when the model is partitioned (DeepSpeed ZeRO-3: a collective, every process calls it),
        else None: the unwrapped model holds them."""
        return self.acc.get_state_dict(self.model) if self.deepspeed_stage == 3 else None

    def save(self, state: TrainState):
        self.acc.wait_for_everyone()
        weights = self.model_state_dict()
        root, zero = self.output_dir / "checkpoints", None
        if self.deepspeed_stage >= 1:
            # No process holds the whole optimizer state: each writes its own partition into the temporary
            # directory, all before the main process renames it. Like DeepSpeed's own checkpoints, this assumes
            # that all processes, on every node, see one shared filesystem.
            zero = {"stage": self.deepspeed_stage, "world": self.acc.num_processes}
            if self.acc.is_main_process:
                start_partitioned_checkpoint(root, state.step)
            self.acc.wait_for_everyone()
            save_optimizer_partition(root, state.step, self.acc.process_index, self.acc.num_processes,
                                     self.deepspeed_stage, self.optimizer.optimizer)
            self.acc.wait_for_everyone()
        optimizer_state = full_state_dict(self.optimizer) if self.deepspeed_stage < 1 else None
        if self.acc.is_main_process:
            save_checkpoint(root, state.step, self.unwrapped, weights, optimizer_state, self.scheduler, state,
                            self.keep, scaler=self.acc.scaler, zero=zero)
            discard_replaced(self.output_dir)  # the run this one replaces (--overwrite) is no longer needed
        self.acc.wait_for_everyone()

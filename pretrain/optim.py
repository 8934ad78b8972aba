"""Optimizer and learning-rate schedule construction from the run config."""
from __future__ import annotations

import torch

from .lamb import Lamb


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: LayerNorm weights and all biases (1-D tensors) are excluded, as in BERT."""
    decay, no_decay = [], []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model, name: str, lr: float, weight_decay: float, eps: float, shard: bool = False,
                    **lamb_options) -> torch.optim.Optimizer:
    """`lamb_options`: bias_correction, trust_all, max_trust_ratio of `Lamb` (ignored by AdamW).

    `shard=True` partitions the optimizer state over the processes by whole tensors (ZeRO stage 1 as
    `ZeroRedundancyOptimizer` does it): each process updates the tensors it owns and broadcasts them. Because no
    tensor is split, LAMB's per-tensor trust ratio stays exact, unlike flat-partitioned ZeRO."""
    groups = parameter_groups(model, weight_decay)
    if name == "lamb":
        kind, options = Lamb, dict(lr=lr, betas=(0.9, 0.999), eps=eps, **lamb_options)
    elif name == "adamw":
        kind, options = torch.optim.AdamW, dict(lr=lr, betas=(0.9, 0.999), eps=eps)
    else:
        raise ValueError(f"unknown optimizer {name!r}; valid: lamb, adamw")
    if shard and torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1:
        from torch.distributed.optim import ZeroRedundancyOptimizer
        return ZeroRedundancyOptimizer(groups, optimizer_class=kind, **options)
    return kind(groups, **options)


def full_state_dict(optimizer) -> dict | None:
    """The optimizer's whole state on the main process (None elsewhere). A sharded optimizer first gathers its
    shards there, which every process must take part in."""
    inner = getattr(optimizer, "optimizer", optimizer)  # under Accelerate's wrapper
    if hasattr(inner, "consolidate_state_dict"):
        inner.consolidate_state_dict(to=0)
        return inner.state_dict() if torch.distributed.get_rank() == 0 else None
    return optimizer.state_dict()


SCHEDULES = ("linear", "polynomial", "inverse_sqrt", "constant")
# Where polynomial decay starts: 'warmup_end' decays from the peak at the end of warmup to end_lr at T (Hugging Face's
# get_*_schedule_with_warmup); 'step_zero' evaluates the decay curve from step 0 over T and lets warmup replace its
# first W steps, so the lr after warmup is already (1 - W/T)^p of the peak (Google's BERT optimization.py).
DECAY_STARTS = ("warmup_end", "step_zero")


def lr_multiplier(step: int, warmup_steps: int, total_steps: int, schedule: str, power: float = 1.0,
                  end_ratio: float = 0.0, decay_start: str = "warmup_end") -> float:
    """The lr of optimizer step `step` (0-based) as a fraction of the peak. Linear warmup reaches the peak at step
    W-1; then 'constant', 'linear' (polynomial with power 1), 'polynomial' down to `end_ratio` x peak at T, or
    'inverse_sqrt' (Noam: min(t^-0.5, t W^-1.5) with t = step + 1, normalised to 1 at t = W)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: {', '.join(SCHEDULES)}")
    if decay_start not in DECAY_STARTS:
        raise ValueError(f"unknown decay_start {decay_start!r}; valid: {', '.join(DECAY_STARTS)}")
    if schedule == "inverse_sqrt":
        t, w = step + 1, max(warmup_steps, 1)
        return min((w / t) ** 0.5, t / w)
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    start = warmup_steps if decay_start == "warmup_end" else 0
    progress = min(1.0, (step - start) / max(1, total_steps - start))
    return (1 - end_ratio) * (1 - progress) ** (1.0 if schedule == "linear" else power) + end_ratio


def build_scheduler(optimizer, warmup_steps: int, total_steps: int, schedule: str, power: float = 1.0,
                    end_ratio: float = 0.0, decay_start: str = "warmup_end"):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_multiplier(step, warmup_steps, total_steps, schedule, power, end_ratio,
                                              decay_start))


__all__ = ["build_optimizer", "build_scheduler", "lr_multiplier", "parameter_groups", "Lamb"]

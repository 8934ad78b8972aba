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


def build_optimizer(model, name: str, lr: float, weight_decay: float, eps: float) -> torch.optim.Optimizer:
    groups = parameter_groups(model, weight_decay)
    if name == "lamb":
        return Lamb(groups, lr=lr, betas=(0.9, 0.999), eps=eps)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=eps)
    raise ValueError(f"unknown optimizer {name!r}; valid: lamb, adamw")


def lr_multiplier(step: int, warmup_steps: int, total_steps: int, schedule: str, power: float = 1.0) -> float:
    """Linear warmup to the peak over `warmup_steps`, then either 'constant' or polynomial decay ('linear' is
    power 1) from the peak at the end of warmup to 0 at `total_steps`."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        span = max(1, total_steps - warmup_steps)
        return max(0.0, 1 - (step - warmup_steps) / span) ** power
    raise ValueError(f"unknown schedule {schedule!r}; valid: linear, constant")


def build_scheduler(optimizer, warmup_steps: int, total_steps: int, schedule: str):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_multiplier(step, warmup_steps, total_steps, schedule))


__all__ = ["build_optimizer", "build_scheduler", "lr_multiplier", "parameter_groups", "Lamb"]

"""LAMB (You et al., 2020), written here so it runs on any device without a CUDA-only kernel.

Per parameter tensor: Adam moments, optional bias correction, update r = m̂/(√v̂ + ε) + λ·w, then the layer-wise
trust ratio ‖w‖/‖r‖ (1 where either norm is 0, optionally clamped) scales the step. The ALBERT reference skips the
trust ratio for parameters without weight decay (LayerNorm, biases); NVIDIA's NVLAMB applies it everywhere:
`trust_all=True` selects the latter.
"""
from __future__ import annotations

import torch


class Lamb(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, bias_correction=True,
                 trust_all=False, max_trust_ratio=None):
        if lr <= 0 or eps <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ValueError(f"invalid LAMB hyperparameters lr={lr} betas={betas} eps={eps} wd={weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, bias_correction=bias_correction,
                        trust_all=trust_all, max_trust_ratio=max_trust_ratio)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            wd = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                t = state["step"].item()
                c1 = 1 - beta1 ** t if group["bias_correction"] else 1.0
                c2 = 1 - beta2 ** t if group["bias_correction"] else 1.0
                update = (m / c1) / ((v / c2).sqrt().add_(group["eps"]))
                if wd:
                    update.add_(p, alpha=wd)
                ratio = 1.0
                if wd or group["trust_all"]:
                    w_norm, u_norm = p.norm(), update.norm()
                    ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
                    if group["max_trust_ratio"] is not None:
                        ratio = ratio.clamp(max=group["max_trust_ratio"])
                p.add_(update * ratio, alpha=-group["lr"])
        return loss

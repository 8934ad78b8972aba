"""LAMB (You et al., 2020), written here so it runs on any device without a CUDA-only kernel.

Per parameter tensor: Adam moments, optional bias correction, update r = m̂/(√v̂ + ε) + λ·w, then the layer-wise
trust ratio ‖w‖/‖r‖ (1 where either norm is 0, optionally clamped) scales the step. The ALBERT reference skips the
trust ratio for parameters without weight decay (LayerNorm, biases); NVIDIA's NVLAMB applies it everywhere:
`trust_all=True` selects the latter.

The step runs as a handful of multi-tensor kernels (`foreach=True`, the default) instead of a Python loop over
tensors (`foreach=False`); the math, including the per-tensor trust ratio, is the same, and so are the results. On
CUDA the kernels run over the whole group at once; on CPU over chunks of about CPU_CHUNK_BYTES of parameters, so
that a chunk stays in cache through the step's dozen passes (one pass after another over a whole model's weights
would go to memory each time). Measured in benchmarks/RESULTS.md.
"""
from __future__ import annotations

import torch

CPU_CHUNK_BYTES = 1 << 20


class Lamb(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, bias_correction=True,
                 trust_all=False, max_trust_ratio=None, foreach=True):
        if lr <= 0 or eps <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or weight_decay < 0:
            raise ValueError(f"invalid LAMB hyperparameters lr={lr} betas={betas} eps={eps} wd={weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, bias_correction=bias_correction,
                        trust_all=trust_all, max_trust_ratio=max_trust_ratio, foreach=foreach)
        super().__init__(params, defaults)
        self._ratios: list[torch.Tensor] = []  # the last step's trust ratios, for statistics()

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._ratios = []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            if group.get("foreach") is False:  # older checkpoints hold None or nothing: the default
                self._step_loop(group, params)
                continue
            for chunk in _chunks(params):
                self._step_foreach(group, chunk)
        return loss

    def statistics(self) -> dict[str, float]:
        """Min, mean and max of the trust ratios of the last step (over the tensors they were applied to)."""
        if not self._ratios:
            return {}
        r = torch.cat(self._ratios).float()
        return {"trust_ratio_min": r.min().item(), "trust_ratio_mean": r.mean().item(),
                "trust_ratio_max": r.max().item()}

    def _corrections(self, group, p) -> tuple[float, float]:
        beta1, beta2 = group["betas"]
        t = self.state[p]["step"].item()  # a CPU scalar: no device synchronisation
        if not group["bias_correction"]:
            return 1.0, 1.0
        return 1 - beta1 ** t, 1 - beta2 ** t

    def _applies_trust(self, group) -> bool:
        return bool(group["weight_decay"]) or group["trust_all"]

    def _step_loop(self, group, params):
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        for p in params:
            state = self.state[p]
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m.lerp_(p.grad, 1 - beta1)
            v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
            c1, c2 = self._corrections(group, p)
            update = (m / c1) / ((v / c2).sqrt().add_(group["eps"]))
            if wd:
                update.add_(p, alpha=wd)
            ratio = 1.0
            if self._applies_trust(group):
                ratio = _trust_ratio(p.norm(), update.norm(), group["max_trust_ratio"])
                self._ratios.append(ratio.reshape(1))
            p.add_(update * ratio, alpha=-group["lr"])

    def _step_foreach(self, group, params):
        beta1, beta2 = group["betas"]
        wd = group["weight_decay"]
        grads = [p.grad for p in params]
        ms = [self.state[p]["exp_avg"] for p in params]
        vs = [self.state[p]["exp_avg_sq"] for p in params]
        torch._foreach_lerp_(ms, grads, 1 - beta1)
        torch._foreach_mul_(vs, beta2)
        torch._foreach_addcmul_(vs, grads, grads, value=1 - beta2)
        c1s, c2s = zip(*(self._corrections(group, p) for p in params))
        denom = torch._foreach_div(vs, list(c2s))
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, group["eps"])
        updates = torch._foreach_div(ms, list(c1s))
        torch._foreach_div_(updates, denom)
        if wd:
            torch._foreach_add_(updates, params, alpha=wd)
        if self._applies_trust(group):
            w_norms = torch.stack(torch._foreach_norm(params))
            u_norms = torch.stack(torch._foreach_norm(updates))
            ratios = _trust_ratio(w_norms, u_norms, group["max_trust_ratio"])
            self._ratios.append(ratios)
            torch._foreach_mul_(updates, list(ratios.unbind()))
        torch._foreach_add_(params, updates, alpha=-group["lr"])


def _chunks(params: list[torch.Tensor]):
    if params[0].is_cuda:
        yield params
        return
    chunk, size = [], 0
    for p in params:
        if chunk and size + p.nbytes > CPU_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(p)
        size += p.nbytes
    yield chunk


def _trust_ratio(w_norm: torch.Tensor, u_norm: torch.Tensor, max_ratio: float | None) -> torch.Tensor:
    """||w|| / ||update||, 1 where either norm is 0, optionally clamped; element-wise over stacked norms."""
    ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
    return ratio.clamp(max=max_ratio) if max_ratio is not None else ratio

"""LAMB's multi-tensor (foreach) step against its per-tensor loop, in one run on the same parameters and gradients.

For each model preset, the parameters of `AlbaForPreTraining` (two groups: weight decay on matrices, off for
LayerNorm and biases, as pretraining builds them) get the same random gradients; each mode runs `--steps` optimizer
steps (after one warm-up step), alternating modes `--repeats` times; the figure is the ratio of the fastest steps.
The weights after the same steps are compared too (largest absolute difference).

    python benchmarks/bench_lamb.py [--models bert-small albert-base bert-base] [--steps 5] [--repeats 3]
        [--threads 2] [--device cpu] [--json OUT]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=["bert-small", "albert-base", "bert-base"])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args()


ARGS = _parse()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.step_timing import run_rows  # noqa: E402
from modeling import AlbaForPreTraining, ModelConfig  # noqa: E402
from pretrain.lamb import Lamb  # noqa: E402


def optimizer(model, foreach: bool) -> Lamb:
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    plain = [p for n, p in model.named_parameters() if p.ndim <= 1]
    return Lamb([{"params": decay, "weight_decay": 0.01}, {"params": plain, "weight_decay": 0.0}], lr=1e-3,
                foreach=foreach)


def timed(opt: Lamb, device) -> float:
    times = []
    for _ in range(ARGS.steps + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def measure(name: str, device) -> dict:
    models = {}
    for foreach in (False, True):
        torch.manual_seed(0)
        model = AlbaForPreTraining(ModelConfig.from_preset(name)).to(device)
        g = torch.Generator(device).manual_seed(1)
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=g, device=device) * 1e-2
        models[foreach] = (model, optimizer(model, foreach))
    best = {False: float("inf"), True: float("inf")}
    for _ in range(ARGS.repeats):
        for foreach, (_, opt) in models.items():
            best[foreach] = min(best[foreach], timed(opt, device))
    differs = max((a - b).abs().max().item() for a, b in zip(models[False][0].parameters(),
                                                            models[True][0].parameters()))
    params = sum(p.numel() for p in models[True][0].parameters())
    tensors = sum(1 for _ in models[True][0].parameters())
    row = {"model": name, "parameters": params, "tensors": tensors, "loop_s": best[False], "foreach_s": best[True],
           "speedup": best[False] / best[True], "max_abs_diff": differs}
    print(f"{name} ({params / 1e6:.1f}M parameters in {tensors} tensors): loop {1e3 * best[False]:.1f} ms, foreach "
          f"{1e3 * best[True]:.1f} ms per step = {row['speedup']:.2f}x; weights differ by at most {differs:.1e}",
          flush=True)
    return row


def main():
    run_rows(ARGS, "LAMB step", ARGS.models,
             measure)


if __name__ == "__main__":
    main()

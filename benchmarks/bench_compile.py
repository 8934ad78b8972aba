"""alba's model eager, with its blocks compiled (`compile_layers`) and compiled whole (`--compile`), in one run on
the same batches and weights: the first step (which waits for compiling), the fastest of the later ones, the
ratio to eager, and each variant's losses against eager's.

    python benchmarks/bench_compile.py [--models bert-small] [--seq 128] [--batch 16] [--steps 5] [--repeats 2]
        [--threads 2] [--device cpu] [--dtype fp32|bf16] [--json OUT]

Batches are unpadded (one shape), as packed rows are, so each variant compiles once.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=["bert-small"], help="model presets")
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=5, help="steps per repeat; the first of the first repeat compiles")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args()


ARGS = _parse()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.step_timing import make_batches, step_times, run_rows  # noqa: E402
from modeling import AlbaForPreTraining, ModelConfig  # noqa: E402

VARIANTS = ("eager", "layers", "model")


def build(name: str, variant: str, device):
    config = ModelConfig.from_preset(name, max_position_embeddings=max(ARGS.seq, 512), hidden_dropout_prob=0.0,
                                     attention_probs_dropout_prob=0.0, compile_layers=variant == "layers")
    torch.manual_seed(0)
    model = AlbaForPreTraining(config).to(device).train()
    if variant == "model":
        model.compile()  # what --compile does
    return model, torch.optim.AdamW(model.parameters(), lr=1e-4)


def measure(name: str, device) -> dict:
    torch._dynamo.reset()
    vocab = ModelConfig.from_preset(name).vocab_size
    batches = make_batches(vocab, ARGS.seq, 1.0, ARGS.batch, ARGS.steps, device)
    runs = {v: build(name, v, device) for v in VARIANTS}
    first, best, losses = {}, {v: float("inf") for v in VARIANTS}, {}
    for repeat in range(ARGS.repeats):
        for variant, (model, optimizer) in runs.items():
            times = step_times(model, optimizer, batches, device, bf16=ARGS.dtype == "bf16")
            if repeat == 0:
                first[variant] = times[0]
                with torch.no_grad():
                    losses[variant] = float(model(**batches[0]).loss)
            best[variant] = min(best[variant], *(times[1:] if repeat == 0 else times))
    row = {"model": name, "seq": ARGS.seq, "first_step_s": first, "step_s": best,
           "speedup": {v: best["eager"] / best[v] for v in VARIANTS},
           "loss_after_first_repeat": losses,
           "loss_difference": {v: abs(losses[v] - losses["eager"]) for v in VARIANTS}}
    print(f"{name} seq {ARGS.seq}: " + "; ".join(
        f"{v}: first step {first[v]:.1f} s, then {1e3 * best[v]:.0f} ms = {row['speedup'][v]:.2f}x, loss differs by "
        f"{row['loss_difference'][v]:.1e}" for v in VARIANTS), flush=True)
    return row


def main():
    run_rows(ARGS, f"batch {ARGS.batch} x {ARGS.seq}, {ARGS.dtype}", ARGS.models,
             measure)


if __name__ == "__main__":
    main()

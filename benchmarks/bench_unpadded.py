"""Unpadded against padded training steps, in one run on the same batches and weights (ModelConfig.unpad).

For each real-token share ("fill": real tokens / batch x seq positions), rows get random lengths with that mean
(the longest row fills the sequence, as a collator padding to the batch's longest row makes it), 15% of their real
tokens carry MLM labels, and a training step (forward, backward, AdamW) runs with `unpad="never"` and with the
unpadded path (`--core`: `always` = the device's attention core, `jagged` = nested tensors). The figure is the
ratio of the fastest steps, alternating the two so that both see the same load; "auto" unpads below the fill
where the ratio crosses 1 (modeling/encoder.py UNPAD_BELOW).

    python benchmarks/bench_unpadded.py [--models bert-small albert-base] [--seqs 128 512] [--fills 0.95 0.9 0.8
        0.6 0.4] [--batch 16] [--steps 3] [--repeats 2] [--threads 2] [--device cpu] [--dtype fp32|bf16]
        [--core always|jagged] [--json OUT]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=["bert-small", "albert-base"], help="model presets")
    p.add_argument("--seqs", type=int, nargs="+", default=[128, 512])
    p.add_argument("--fills", type=float, nargs="+", default=[0.95, 0.9, 0.8, 0.6, 0.4])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after one warm-up step)")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="bf16: autocast, as --precision=bf16")
    p.add_argument("--core", default="always", choices=["always", "jagged"])
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args(argv)


ARGS = _parse()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.step_timing import make_batches, step_times, run_rows  # noqa: E402
from modeling import AlbaForPreTraining, ModelConfig  # noqa: E402


def measure(name: str, seq: int, fill: float, device) -> dict:
    base = ModelConfig.from_preset(name, max_position_embeddings=max(seq, 512), hidden_dropout_prob=0.0,
                                   attention_probs_dropout_prob=0.0)
    batches = make_batches(base.vocab_size, seq, fill, ARGS.batch, ARGS.steps + 1, device)
    real = sum(int(b["attention_mask"].sum()) for b in batches) / sum(b["input_ids"].numel() for b in batches)
    models = {}
    for mode in ("never", ARGS.core):
        torch.manual_seed(0)
        model = AlbaForPreTraining(ModelConfig(**{**base.to_dict(), "unpad": mode})).to(device).train()
        models[mode] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4))
    best = {mode: float("inf") for mode in models}
    for _ in range(ARGS.repeats):
        for mode, (model, optimizer) in models.items():
            times = step_times(model, optimizer, batches, device, bf16=ARGS.dtype == "bf16")
            best[mode] = min(best[mode], *times[1:])
    row = {"model": name, "seq": seq, "fill": real, "padded_s": best["never"], "unpadded_s": best[ARGS.core],
           "speedup": best["never"] / best[ARGS.core]}
    print(f"{name} seq {seq} fill {real:.3f}: padded {1e3 * row['padded_s']:.1f} ms, unpadded "
          f"{1e3 * row['unpadded_s']:.1f} ms per step = {row['speedup']:.2f}x", flush=True)
    return row


def main():
    cases = [(m, s, f) for m in ARGS.models for s in ARGS.seqs for f in ARGS.fills]
    run_rows(ARGS, f"batch {ARGS.batch}, {ARGS.dtype}, core {ARGS.core}", cases,
             lambda case, device: measure(*case, device))


if __name__ == "__main__":
    main()

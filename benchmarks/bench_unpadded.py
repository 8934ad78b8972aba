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
import json
import os
import sys
import time
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
from modeling import AlbaForPreTraining, ModelConfig  # noqa: E402


def make_batches(vocab: int, seq: int, fill: float, count: int, device) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(count):
        # Lengths uniform around the mean that gives `fill`, one row at full length.
        low = max(2, round(seq * (2 * fill - 1))) if fill > 0.5 else 2
        high = seq if fill > 0.5 else max(3, round(2 * fill * seq))
        lengths = torch.randint(low, high + 1, (ARGS.batch,), generator=g)
        lengths[0] = seq
        real = torch.arange(seq)[None, :] < lengths[:, None]
        labelled = real & (torch.rand(real.shape, generator=g) < 0.15)
        ids = torch.randint(5, vocab, real.shape, generator=g) * real
        batches.append({"input_ids": ids, "attention_mask": real.long(), "token_type_ids": torch.zeros_like(ids),
                        "mlm_labels": torch.where(labelled, ids, -100),
                        "sentence_labels": torch.randint(0, 2, (ARGS.batch,), generator=g)})
    return [{k: v.to(device) for k, v in b.items()} for b in batches]


def timed_steps(model, optimizer, batches, device) -> float:
    """The fastest of the steps after the first."""
    times = []
    for batch in batches:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, torch.bfloat16, enabled=ARGS.dtype == "bf16"):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times[1:])


def measure(name: str, seq: int, fill: float, device) -> dict:
    base = ModelConfig.from_preset(name, max_position_embeddings=max(seq, 512), hidden_dropout_prob=0.0,
                                   attention_probs_dropout_prob=0.0)
    batches = make_batches(base.vocab_size, seq, fill, ARGS.steps + 1, device)
    real = sum(int(b["attention_mask"].sum()) for b in batches) / sum(b["input_ids"].numel() for b in batches)
    models = {}
    for mode in ("never", ARGS.core):
        torch.manual_seed(0)
        model = AlbaForPreTraining(ModelConfig(**{**base.to_dict(), "unpad": mode})).to(device).train()
        models[mode] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4))
    best = {mode: float("inf") for mode in models}
    for _ in range(ARGS.repeats):
        for mode, (model, optimizer) in models.items():
            best[mode] = min(best[mode], timed_steps(model, optimizer, batches, device))
    row = {"model": name, "seq": seq, "fill": real, "padded_s": best["never"], "unpadded_s": best[ARGS.core],
           "speedup": best["never"] / best[ARGS.core]}
    print(f"{name} seq {seq} fill {real:.3f}: padded {1e3 * row['padded_s']:.1f} ms, unpadded "
          f"{1e3 * row['unpadded_s']:.1f} ms per step = {row['speedup']:.2f}x", flush=True)
    return row


def main():
    torch.set_num_threads(ARGS.threads)
    device = torch.device(ARGS.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {ARGS.threads} threads"
    print(f"batch {ARGS.batch}, {ARGS.dtype}, core {ARGS.core}, {name}")
    results = [measure(m, s, f, device) for m in ARGS.models for s in ARGS.seqs for f in ARGS.fills]
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"args": vars(ARGS), "device": name, "results": results}, indent=1))


if __name__ == "__main__":
    main()

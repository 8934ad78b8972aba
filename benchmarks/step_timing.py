"""Synthetic pretraining batches and the timing of training steps, shared by the benchmarks that compare variants
of alba's own model (bench_unpadded.py, bench_compile.py)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch


def make_batches(vocab: int, seq: int, fill: float, batch: int, count: int, device) -> list[dict]:
    """`count` batches of `batch` rows whose real tokens are `fill` of the positions on average (lengths uniform
    around the mean, one row at full length, as a collator padding to the batch's longest row makes them; fill 1:
    no padding), 15% of the real tokens labelled for MLM."""
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(count):
        low = max(2, round(seq * (2 * fill - 1))) if fill > 0.5 else 2
        high = seq if fill > 0.5 else max(3, round(2 * fill * seq))
        lengths = torch.randint(low, high + 1, (batch,), generator=g)
        lengths[0] = seq
        real = torch.arange(seq)[None, :] < lengths[:, None]
        labelled = real & (torch.rand(real.shape, generator=g) < 0.15)
        ids = torch.randint(5, vocab, real.shape, generator=g) * real
        batches.append({"input_ids": ids, "attention_mask": real.long(), "token_type_ids": torch.zeros_like(ids),
                        "mlm_labels": torch.where(labelled, ids, -100),
                        "sentence_labels": torch.randint(0, 2, (batch,), generator=g)})
    return [{k: v.to(device) for k, v in b.items()} for b in batches]


def step_times(model, optimizer, batches, device, bf16: bool = False) -> list[float]:
    """Seconds of each training step (forward, backward, optimizer), one per batch."""
    times = []
    for batch in batches:
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def run_rows(args, title: str, items, measure) -> list[dict]:
    """The benchmarks' main: `args.threads` threads on `args.device`, a header naming the device, `measure(item,
    device)` for each item, and all rows as JSON in `args.json` when given."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"{title}, {name}", flush=True)
    results = [measure(item, device) for item in items]
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "device": name, "results": results}, indent=1))
    return results

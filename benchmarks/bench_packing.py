"""Packed rows against padded rows, in one run on the same pairs, masks and model:

(a) fill: real tokens / positions computed, for rows padded to the batch's longest pair (what `--pack_pairs=False`
    does; Google's reference pads every row to max_seq_length, which is never better) and for packed rows;
(b) collation (masking included) in pairs/s of process CPU time, padded vs packed;
(c) training speed: pairs/s of forward + backward + AdamW step, padded vs packed, and the mean loss of each (the
    same to float rounding, since a packed pair sees exactly what it sees alone).

    python benchmarks/bench_packing.py [--corpus embedded] [--seqs 128 512] [--batch 32] [--model albert-demo]
        [--steps 8] [--repeats 3] [--threads 2] [--device cpu] [--json OUT]

Each speed is the best of `--repeats` timed runs of `--steps` steps (after one warm-up step), alternating padded and
packed so that both see the same neighbours' load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", default="embedded", help="'embedded' (CPython's docs) or a corpus path")
    p.add_argument("--vocab_size", type=int, default=2048)
    p.add_argument("--seqs", type=int, nargs="+", default=[128, 512], help="max_seq_length values to measure")
    p.add_argument("--batch", type=int, default=32, help="pairs per step")
    p.add_argument("--model", default="albert-demo", help="model preset")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args()


ARGS = _parse()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_pipeline import (PretrainingCollator, PretrainingDataset, SpecialTokens, create_instances,  # noqa: E402
                           load_corpus, tokenize_corpus, train_tokenizer)
from modeling import AlbaForPreTraining, ModelConfig  # noqa: E402


def batches(ids, special, vocab, seq, pack):
    """The batches of the timed run, and the collator's sequences/s (process CPU time) in making them."""
    instances = create_instances(ids, max_seq_length=seq, task="sop", seed=0, epoch=0)
    order = np.random.default_rng(0).permutation(len(instances))
    dataset = PretrainingDataset(instances)
    collate = PretrainingCollator(special, vocab, seed=0, pack=pack, pad_to=seq if pack else None)
    need = (ARGS.steps + 1) * ARGS.batch
    if len(order) < need:
        raise SystemExit(f"the corpus gives {len(order)} pairs at seq {seq}; --steps/--batch need {need}")
    items = [[dataset[int(i)] for i in order[s:s + ARGS.batch]] for s in range(0, need, ARGS.batch)]
    start = time.process_time()
    made = [collate(group) for group in items]
    return made, need / max(time.process_time() - start, 1e-9)


def train(model_config, data, device):
    """Seconds of `--steps` timed steps (after one warm-up step) and their mean loss."""
    torch.manual_seed(0)
    model = AlbaForPreTraining(model_config).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = [{k: v.to(device) for k, v in b.items()} for b in data]
    losses = []
    for i, batch in enumerate(data):
        if i == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if i:
            losses.append(loss.detach())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, float(torch.stack(losses).mean())


def main():
    torch.set_num_threads(ARGS.threads)
    device = torch.device(ARGS.device)
    docs = load_corpus(ARGS.corpus, progress=False)
    tokenizer = train_tokenizer(docs, vocab_size=ARGS.vocab_size, progress=False)
    ids = tokenize_corpus(tokenizer, docs, progress=False)
    special, vocab = SpecialTokens.from_tokenizer(tokenizer), tokenizer.get_vocab_size()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {ARGS.threads} threads"
    print(f"{ARGS.corpus}: {len(docs)} documents; model {ARGS.model}; batch {ARGS.batch} pairs; {name}")
    results = []
    for seq in ARGS.seqs:
        config = ModelConfig.from_preset(ARGS.model, vocab_size=vocab, max_position_embeddings=max(seq, 512),
                                         hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        made = {pack: batches(ids, special, vocab, seq, pack) for pack in (False, True)}
        data = {pack: batches_ for pack, (batches_, _) in made.items()}
        collation = {pack: rate for pack, (_, rate) in made.items()}
        fill = {pack: sum(int(b["attention_mask"].sum()) for b in d) / sum(b["input_ids"].numel() for b in d)
                for pack, d in data.items()}
        rows = {pack: sum(len(b["input_ids"]) for b in d) for pack, d in data.items()}
        best, loss = {False: float("inf"), True: float("inf")}, {}
        for _ in range(ARGS.repeats):
            for pack in (False, True):
                seconds, loss[pack] = train(config, data[pack], device)
                best[pack] = min(best[pack], seconds)
        speed = {pack: ARGS.steps * ARGS.batch / best[pack] for pack in best}
        row = {"seq": seq, "fill_padded": fill[False], "fill_packed": fill[True], "rows_padded": rows[False],
               "rows_packed": rows[True], "collate_per_s_padded": collation[False],
               "collate_per_s_packed": collation[True], "pairs_per_s_padded": speed[False], "pairs_per_s_packed": speed[True],
               "speedup": speed[True] / speed[False], "loss_padded": loss[False], "loss_packed": loss[True]}
        results.append(row)
        print(f"seq {seq}: fill {fill[False]:.3f} padded vs {fill[True]:.3f} packed ({rows[False]} -> "
              f"{rows[True]} rows); {speed[False]:.1f} vs {speed[True]:.1f} pairs/s = {row['speedup']:.2f}x; "
              f"mean loss {loss[False]:.5f} vs {loss[True]:.5f}; collation {collation[False]:,.0f} vs "
              f"{collation[True]:,.0f} pairs/s")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"args": vars(ARGS), "device": name, "results": results}, indent=1))


if __name__ == "__main__":
    main()

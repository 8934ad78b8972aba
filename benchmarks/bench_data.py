"""Data pipeline speed against its references, in one run on the same text:

(a) preprocessing, tokens/s: `tokenize_corpus` (in memory) and `build_store` (text file -> memory-mapped store)
    against raw `tokenizers` `encode_batch` on the same sentences, the physical limit (target: overhead <= 50%);
(b) batch production, sequences/s: alba's instances (SOP/NSP pairs) + masking + collation against `transformers`'
    `DataCollatorForLanguageModeling` (mlm_probability 0.15) on the same tokenized data (target: >= 2x, and >= 400
    sequences/s per core at seq 128).

    python benchmarks/bench_data.py [--corpus embedded|PATH] [--copies 1] [--vocab_size 8000] [--seq 128]
        [--batch 64] [--task sop] [--epochs 3] [--repeats 3] [--threads 1] [--json OUT]

The reference collator is handed alba's finished `[CLS] A [SEP] B [SEP]` sequences (with token_type_ids), so it does
no pairing at all: the comparison favours it. alba's figure includes building the epoch's instances. `--threads 1`
(the default) gives per-core figures: torch, OpenMP and the tokenizers thread pool all get one thread and the store
is built with one process. Each figure is the best of `--repeats` runs, on CPU time of this process (all threads),
because wall time on shared cores swings with the neighbours' load; wall-time rates are printed beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", default="embedded",
                   help="'embedded' (CPython's docs) or a corpus path that load_corpus reads")
    p.add_argument("--copies", type=int, default=1, help="repeat the corpus this many times (more tokens)")
    p.add_argument("--vocab_size", type=int, default=8000)
    p.add_argument("--tokenizer", default="wordpiece", choices=("wordpiece", "unigram"))
    p.add_argument("--seq", type=int, default=128, help="max_seq_length of the pairs")
    p.add_argument("--batch", type=int, default=64, help="sequences per batch (one loader worker's batch)")
    p.add_argument("--task", default="sop", choices=("sop", "nsp", "none"))
    p.add_argument("--epochs", type=int, default=3, help="epochs of instances per batch-production run")
    p.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is kept")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args()


ARGS = _parse()
# Thread pools are sized when the libraries load, so these go first. tokenizers runs serially when told it may not
# parallelise, and on RAYON_NUM_THREADS threads otherwise.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "true" if ARGS.threads > 1 else "false"

import torch  # noqa: E402
from transformers import DataCollatorForLanguageModeling, PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from data_pipeline import (PretrainingCollator, PretrainingDataset, SpecialTokens, create_instances,  # noqa: E402
                           load_corpus, tokenize_corpus, train_tokenizer, word_continuation_ids)
from data_pipeline.store import build_store  # noqa: E402
from data_pipeline.tokenizer import SPECIAL_TOKENS  # noqa: E402


def best_of(repeats: int, fn) -> tuple[float, float, object]:
    """(CPU seconds, wall seconds, result) of the run with the least CPU time."""
    runs = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        runs.append((time.process_time() - cpu, time.perf_counter() - wall, result))
    return min(runs, key=lambda r: r[0])


def write_reference_format(docs: list[list[str]], path: Path) -> None:
    """One sentence per line, a blank line between documents (what build_store reads)."""
    with open(path, "w", encoding="utf-8") as f:
        for doc in docs:
            f.write("\n".join(doc) + "\n\n")


def preprocessing(docs, tokenizer, repeats: int) -> tuple[list, list]:
    sentences = [s for doc in docs for s in doc if s.strip()]
    rows = []
    cpu, wall, encoded = best_of(repeats, lambda: tokenizer.encode_batch(sentences, add_special_tokens=False))
    tokens = sum(len(e.ids) for e in encoded)
    del encoded
    rows.append(("tokenizers encode_batch (reference)", tokens, cpu, wall))
    cpu, wall, ids = best_of(repeats, lambda: tokenize_corpus(tokenizer, docs, progress=False))
    rows.append(("alba tokenize_corpus", sum(len(s) for d in ids for s in d), cpu, wall))
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "corpus.txt"
        write_reference_format(docs, text)
        stores = iter(range(repeats))
        cpu, wall, meta = best_of(repeats, lambda: build_store(text, tokenizer, Path(tmp) / f"store{next(stores)}",
                                                               num_proc=1, progress=False))
    rows.append(("alba build_store (file -> store)", meta["tokens"], cpu, wall))
    if len({r[1] for r in rows}) != 1:
        raise SystemExit(f"token counts disagree: {[r[1] for r in rows]}")
    return rows, ids


def batches(items: list, size: int):
    return (items[i:i + size] for i in range(0, len(items) - size + 1, size))


def alba_production(ids, tokenizer, masking: str, collate_only: bool = False):
    """Sequences made by --epochs epochs of instance creation, masking and collation (or collation alone, on
    pre-built instances)."""
    collator = PretrainingCollator(SpecialTokens.from_tokenizer(tokenizer), tokenizer.get_vocab_size(),
                                   masking=masking, continuation_ids=word_continuation_ids(tokenizer),
                                   max_predictions=round(0.15 * ARGS.seq) + 1)
    prebuilt = [create_instances(ids, ARGS.seq, task=ARGS.task, seed=0, epoch=e) for e in range(ARGS.epochs)]

    def run():
        count = 0
        for epoch in range(ARGS.epochs):
            instances = prebuilt[epoch] if collate_only else create_instances(ids, ARGS.seq, task=ARGS.task,
                                                                              seed=0, epoch=epoch)
            collator.set_epoch(epoch)
            dataset = PretrainingDataset(instances)
            for batch in batches(range(len(dataset)), ARGS.batch):
                count += len(collator([dataset[i] for i in batch])["input_ids"])
        return count
    return run


def hf_production(ids, tokenizer):
    """The reference collator on the same epochs' sequences, built before timing."""
    hf_tokenizer = PreTrainedTokenizerFast(tokenizer_object=tokenizer, **dict(zip(
        ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), SPECIAL_TOKENS)))
    collator = DataCollatorForLanguageModeling(hf_tokenizer, mlm_probability=0.15, return_tensors="pt")
    s = SpecialTokens.from_tokenizer(tokenizer)
    features = []
    for epoch in range(ARGS.epochs):
        for inst in create_instances(ids, ARGS.seq, task=ARGS.task, seed=0, epoch=epoch):
            a, b = inst.tokens_a, inst.tokens_b
            features.append({"input_ids": [s.cls, *a, s.sep, *b] + ([s.sep] if b else []),
                             "token_type_ids": [0] * (len(a) + 2) + [1] * (len(b) + bool(b))})

    def run():
        return sum(len(collator(batch)["input_ids"]) for batch in batches(features, ARGS.batch))
    return run


def table(title: str, unit: str, rows: list, reference: float, ratio_label: str) -> list[dict]:
    print(f"\n{title}")
    print(f"| what | {unit} (CPU time) | {unit} (wall) | {ratio_label} |")
    print("|---|---|---|---|")
    out = []
    for name, count, cpu, wall in rows:
        rate = count / cpu
        print(f"| {name} | {rate:,.0f} | {count / wall:,.0f} | {rate / reference:.2f}x |")
        out.append({"what": name, "count": count, "cpu_s": cpu, "wall_s": wall, "rate_cpu": rate,
                    "rate_wall": count / wall, "vs_reference": rate / reference})
    return out


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    hf_logging.set_verbosity_error()
    docs = load_corpus(ARGS.corpus, progress=False) * ARGS.copies
    tokenizer = train_tokenizer(docs, vocab_size=ARGS.vocab_size, kind=ARGS.tokenizer, progress=False)
    print(f"corpus {ARGS.corpus} x{ARGS.copies}: {len(docs)} documents, {sum(map(len, docs))} sentences; "
          f"{ARGS.tokenizer} vocabulary {tokenizer.get_vocab_size()}; {ARGS.threads} thread(s); "
          f"torch {torch.__version__}; best of {ARGS.repeats}")

    rows, ids = preprocessing(docs, tokenizer, ARGS.repeats)
    results = {"preprocessing": table("(a) preprocessing, tokens/s", "tokens/s", rows, rows[0][1] / rows[0][2],
                                      "vs encode_batch")}
    print("target: alba >= 0.67x encode_batch (overhead <= 50%)")

    runs = [("transformers DataCollatorForLanguageModeling (reference; sequences pre-built)",
             hf_production(ids, tokenizer))]
    for masking in ("token", "wwm", "ngram"):
        runs.append((f"alba {masking} masking: instances + masking + collation",
                     alba_production(ids, tokenizer, masking)))
    runs.append(("alba token masking: masking + collation only", alba_production(ids, tokenizer, "token", True)))
    rows = []
    for name, run in runs:
        cpu, wall, count = best_of(ARGS.repeats, run)
        rows.append((name, count, cpu, wall))
    per_core = " per core" if ARGS.threads == 1 else f" on {ARGS.threads} threads"
    results["batches"] = table(f"(b) batch production at seq {ARGS.seq}, batch {ARGS.batch}, task {ARGS.task}, "
                               f"sequences/s{per_core}", "sequences/s", rows, rows[0][1] / rows[0][2],
                               "vs transformers")
    print("target: alba >= 2x transformers and >= 400 sequences/s per core")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"args": vars(ARGS), **results}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

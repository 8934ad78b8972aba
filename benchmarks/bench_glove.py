"""GloVe beside alba's skip-gram (negative sampling) in one run, on the corpus and settings of bench_word2vec.py
(gensim's head500.noblanks.cor, dim 100, min_count 5): WordSim-353 and SimLex-999 Spearman, analogy accuracy
(questions-words.txt) and corpus words per second.

    python benchmarks/bench_glove.py [--corpus PATH] [--epochs 50] [--window 10] [--dim 100] [--batch_size 4096]
        [--adagrad glove|torch] [--sg_epochs 5] [--sg_window 5] [--seeds 1] [--threads 1]

Words/s is the corpus's raw words times the epochs over the training time, without the engine's logging and
checkpoints (as bench_word2vec.py). GloVe's counting (one pass: co-occurrences, sort, write) is timed apart, in
corpus words per second; its vocabulary pass is excluded as skip-gram's is.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_word2vec import TEST_DATA, clock, evaluate, train_alba  # noqa: E402

from data_pipeline.cooccurrence import CooccurrenceCounter  # noqa: E402
from data_pipeline.glove_batches import CooccurrenceBatches  # noqa: E402
from data_pipeline.token_lines import read_token_lines  # noqa: E402
from data_pipeline.vocabulary import Vocabulary  # noqa: E402
from data_pipeline.word_benchmarks import read_analogies, read_word_pairs  # noqa: E402
from modeling.baselines.glove import Glove, GloveConfig, glove_adagrad  # noqa: E402


def count_glove(sentences, vocab: Vocabulary, args, directory: Path) -> tuple[Path, float]:
    start = time.perf_counter()
    counter = CooccurrenceCounter(len(vocab), args.window, directory, args.max_pairs_in_memory)
    for sentence in sentences:
        counter.add(vocab.encode(sentence))
    stats = counter.finish(directory / "cooccurrence.bin")
    print(f"GloVe counts: {stats.entries:,} co-occurrences, {stats.shards} shards", flush=True)
    return directory / "cooccurrence.bin", time.perf_counter() - start


def train_glove(path: Path, vocab: Vocabulary, args, seed: int):
    start = clock()
    batches = CooccurrenceBatches(path, args.batch_size, epochs=args.epochs, seed=seed)
    model = Glove(GloveConfig(len(vocab), dim=args.dim), seed=seed)
    optimizer = glove_adagrad(model.parameters(), args.lr, args.adagrad)
    for epoch in range(args.epochs):
        for batch in batches(epoch):
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
    return model.word_vectors(vocab.words), clock() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(TEST_DATA / "head500.noblanks.cor"))
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--min_count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=50, help="GloVe's (the paper's 50 below 300 dimensions)")
    p.add_argument("--window", type=int, default=10, help="GloVe's symmetric window (the paper's 10)")
    p.add_argument("--batch_size", type=int, default=4096)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--adagrad", default="glove", choices=["glove", "torch"])
    p.add_argument("--max_pairs_in_memory", type=int, default=10_000_000)
    p.add_argument("--sg_epochs", type=int, default=5, help="skip-gram's (word2vec's default)")
    p.add_argument("--sg_window", type=int, default=5, help="skip-gram's largest window (word2vec's default)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip_sg", action="store_true", help="GloVe only (trying its settings)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    sentences = read_token_lines(args.corpus)
    vocab = Vocabulary.build(sentences, min_count=args.min_count, source=args.corpus)
    words = sum(map(len, sentences))
    sets = {"wordsim353": read_word_pairs(TEST_DATA / "wordsim353.tsv"),
            "simlex999": read_word_pairs(TEST_DATA / "simlex999.txt"),
            "analogy": read_analogies(TEST_DATA / "questions-words.txt")}
    print(f"corpus {args.corpus}: {words} words, vocabulary {len(vocab)} (min_count {args.min_count}), dim "
          f"{args.dim}; GloVe window {args.window}, {args.epochs} epochs, batch {args.batch_size}, AdaGrad "
          f"{args.adagrad} at {args.lr}; skip-gram window {args.sg_window}, {args.sg_epochs} epochs, 5 negatives, "
          f"sample 1e-3; threads {args.threads}", flush=True)
    sg_args = argparse.Namespace(arch="skipgram", objective="negative", window=args.sg_window, sample=1e-3,
                                 negatives=5, epochs=args.sg_epochs, lr=0.025, min_lr=1e-4, dim=args.dim,
                                 chunk_size=0, compile=False, device="cpu")
    rows = {"glove": [], "skipgram": []}
    with tempfile.TemporaryDirectory() as tmp:
        path, count_seconds = count_glove(sentences, vocab, args, Path(tmp))
        for seed in range(1, args.seeds + 1):
            runs = [("glove", lambda: train_glove(path, vocab, args, seed), args.epochs)]
            if not args.skip_sg:
                runs.append(("skipgram", lambda: train_alba(sentences, vocab, sg_args, seed), args.sg_epochs))
            for name, train, epochs in runs:
                vectors, seconds = train()
                row = {"words_per_s": words * epochs / seconds[0], "words_per_cpu_s": words * epochs / seconds[1],
                       "train_s": seconds[0], **evaluate(vectors, sets)}
                rows[name].append(row)
                print(f"seed {seed} {name:8s} " + "  ".join(f"{k} {v:,.4g}" for k, v in row.items()), flush=True)
    summary = {name: {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs])))
                      for k in runs[0]} for name, runs in rows.items() if runs}
    summary["glove_count_words_per_s"] = words / count_seconds
    print(f"GloVe counting: {count_seconds:.1f} s, {words / count_seconds:,.0f} words/s")
    print("| model | WordSim-353 | SimLex-999 | analogy | words/s (wall / CPU) |\n|---|---|---|---|---|")
    for name in ("glove", "skipgram"):
        if name in summary:
            s = summary[name]
            print(f"| {name} | {s['wordsim353'][0]:.3f}±{s['wordsim353'][1]:.3f} | {s['simlex999'][0]:.3f} | "
                  f"{s['analogy'][0]:.4f} | {s['words_per_s'][0]:,.0f} / {s['words_per_cpu_s'][0]:,.0f} |")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

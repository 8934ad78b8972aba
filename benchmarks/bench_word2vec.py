"""word2vec: alba against gensim (the reference implementation) in one run, on the same corpus, vocabulary
(min_count), dimensions, window, subsampling, negatives / hierarchical softmax, epochs and learning rates:
training words/s of each, their ratio, and the quality of each on WordSim-353 (Spearman), SimLex-999 and the
analogy questions, all read from gensim's shipped test data.

    python benchmarks/bench_word2vec.py [--corpus PATH] [--arch skipgram|cbow] [--objective negative|hierarchical]
        [--epochs 5] [--dim 100] [--window 5] [--negatives 5] [--seeds 1] [--threads 1] [--device cpu|cuda] [--compile]

Words/s counts the corpus's raw words times the epochs over the training time, vocabulary building excluded for
both (gensim: `train()` alone; alba: batch making and the updates, and compiling with --compile). On shared cores
wall time swings with the neighbours' load, so the ratio is also given on process CPU time (all threads). gensim runs `--threads` workers and torch
`--threads` threads. Quality varies with the seed on a small corpus, so `--seeds N` repeats both and reports the
mean and standard deviation.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import gensim  # noqa: E402

from data_pipeline.token_lines import read_token_lines  # noqa: E402
from data_pipeline.vocabulary import Vocabulary  # noqa: E402
from data_pipeline.word2vec_batches import Word2VecBatches, encode_sentences  # noqa: E402
from data_pipeline.word_benchmarks import read_analogies, read_word_pairs  # noqa: E402
from modeling.baselines.word2vec import Word2Vec, Word2VecConfig  # noqa: E402
from modeling.baselines.word_vectors import WordVectors  # noqa: E402

TEST_DATA = Path(gensim.__file__).parent / "test" / "test_data"


def evaluate(vectors: WordVectors, sets: dict) -> dict[str, float]:
    return {"wordsim353": vectors.evaluate_similarity(sets["wordsim353"])["spearman"],
            "simlex999": vectors.evaluate_similarity(sets["simlex999"])["spearman"],
            "analogy": vectors.evaluate_analogies(sets["analogy"])["total"]}


def clock() -> np.ndarray:
    return np.array([time.perf_counter(), time.process_time()])


def train_alba(sentences, vocab: Vocabulary, args, seed: int) -> tuple[WordVectors, np.ndarray]:
    start = clock()
    ids, sentence = encode_sentences(sentences, vocab)
    batches = Word2VecBatches(ids, sentence, vocab.counts, architecture=args.arch, window=args.window,
                              sample=args.sample, negatives=args.negatives if args.objective == "negative" else 0,
                              epochs=args.epochs, lr=args.lr, min_lr=args.min_lr, seed=seed)
    config = Word2VecConfig(len(vocab), dim=args.dim, architecture=args.arch, objective=args.objective,
                            chunk_size=args.chunk_size, compile=args.compile)
    model = Word2Vec(config, counts=vocab.counts, seed=seed).to(args.device)
    for epoch in range(args.epochs):
        for batch in batches(epoch):
            model(**{k: v.to(args.device) for k, v in batch.items()})
    if args.device != "cpu":
        torch.cuda.synchronize()
    return model.word_vectors(vocab.words), clock() - start


def train_gensim(sentences, args, seed: int) -> tuple[WordVectors, np.ndarray]:
    model = gensim.models.Word2Vec(
        vector_size=args.dim, window=args.window, min_count=args.min_count, sample=args.sample,
        sg=int(args.arch == "skipgram"), hs=int(args.objective == "hierarchical"),
        negative=args.negatives if args.objective == "negative" else 0, alpha=args.lr, min_alpha=args.min_lr,
        workers=args.threads, seed=seed)
    model.build_vocab(sentences)
    start = clock()
    model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
    return WordVectors(model.wv.index_to_key, model.wv.vectors), clock() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=str(TEST_DATA / "head500.noblanks.cor"))
    p.add_argument("--arch", default="skipgram", choices=["skipgram", "cbow"])
    p.add_argument("--objective", default="negative", choices=["negative", "hierarchical"])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--min_count", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--lr", type=float, default=None, help="default 0.025 (skip-gram) or 0.05 (CBOW), as word2vec.c")
    p.add_argument("--min_lr", type=float, default=1e-4)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--chunk_size", type=int, default=0, help="alba's examples per SGD update (0: its default)")
    p.add_argument("--compile", action="store_true", help="torch.compile alba's SGD step (compile time counted)")
    args = p.parse_args()
    args.lr = args.lr or (0.025 if args.arch == "skipgram" else 0.05)
    torch.set_num_threads(args.threads)

    sentences = read_token_lines(args.corpus)
    vocab = Vocabulary.build(sentences, min_count=args.min_count, source=args.corpus)
    words = sum(map(len, sentences)) * args.epochs
    sets = {"wordsim353": read_word_pairs(TEST_DATA / "wordsim353.tsv"),
            "simlex999": read_word_pairs(TEST_DATA / "simlex999.txt"),
            "analogy": read_analogies(TEST_DATA / "questions-words.txt")}
    print(f"corpus {args.corpus}: {words // args.epochs} words, vocabulary {len(vocab)} (min_count "
          f"{args.min_count}); {args.arch} {args.objective}, dim {args.dim}, window {args.window}, negatives "
          f"{args.negatives if args.objective == 'negative' else 0}, epochs {args.epochs}, threads {args.threads}, "
          f"alba on {args.device}", flush=True)
    rows = {"alba": [], "gensim": []}
    for seed in range(1, args.seeds + 1):
        for name, train in (("gensim", lambda: train_gensim(sentences, args, seed)),
                            ("alba", lambda: train_alba(sentences, vocab, args, seed))):
            vectors, seconds = train()
            row = {"words_per_s": words / seconds[0], "words_per_cpu_s": words / seconds[1], **evaluate(vectors, sets)}
            rows[name].append(row)
            print(f"seed {seed} {name:6s} " + "  ".join(f"{k} {v:,.4g}" for k, v in row.items()), flush=True)
    summary = {name: {k: (float(np.mean([r[k] for r in runs])), float(np.std([r[k] for r in runs])))
                      for k in runs[0]} for name, runs in rows.items()}
    for clock_name in ("words_per_s", "words_per_cpu_s"):
        summary[f"ratio_{clock_name}"] = summary["alba"][clock_name][0] / summary["gensim"][clock_name][0]
    summary["wordsim353_gap"] = summary["alba"]["wordsim353"][0] - summary["gensim"]["wordsim353"][0]
    print(f"alba/gensim words/s: {summary['ratio_words_per_s']:.2f} (wall), {summary['ratio_words_per_cpu_s']:.2f} "
          f"(CPU time); WordSim-353 Spearman alba "
          f"{summary['alba']['wordsim353'][0]:.3f}±{summary['alba']['wordsim353'][1]:.3f}, gensim "
          f"{summary['gensim']['wordsim353'][0]:.3f}±{summary['gensim']['wordsim353'][1]:.3f} (gap "
          f"{summary['wordsim353_gap']:+.3f})")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

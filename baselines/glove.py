"""`alba baseline glove`: GloVe (Pennington et al. 2014) on a text file (one sentence per line, whitespace-tokenized):
the co-occurrence matrix counted in bounded memory (shards in the run directory, merged into
`cooccurrence.bin`), then weighted least squares with AdaGrad through the shared engine; exports W + W~ in the
word2vec text format and evaluates it on word-similarity and analogy files, as `alba baseline word2vec`.

glove.c makes one AdaGrad step per co-occurrence entry (in parallel threads); here a step sums the gradients of
--batch_size entries, the engine's usual optimizer step, which its checkpoints and exact resume cover. AdaGrad's
steps start as SGD at --lr and are small on the whole, so summing a batch first changed little: on the benchmark
corpus, 5 epochs at batch 512 and at 4096 gave the same WordSim-353 Spearman (0.231), 4096 at 7x the speed.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from baselines.word_vectors_job import read_benchmarks, train_and_report, vectors_finish
from pretrain.config import ConfigError, RunOptions, option
from pretrain.job import Training, prepare_run_dir


@dataclass
class GloveRunConfig(RunOptions):
    """Defaults: the paper's (window 10, x_max 100, alpha 3/4, AdaGrad at 0.05, 50 epochs below 300 dimensions)
    and word2vec's vocabulary (min_count 5)."""
    NAME, JOINED = "glove", ("similarity", "analogies")

    # -- data
    corpus: str = option("", "text file, one sentence per line, whitespace-tokenized (required)", group="data")
    lowercase: bool = option(False, "lowercase the corpus", group="data")
    min_count: int = option(5, "drop words rarer than this", group="data")
    window: int = option(10, "context words on each side, weighted 1/distance (at most 20)", group="data")
    max_pairs_in_memory: int = option(10_000_000, "co-occurrence entries counted in memory before a sorted shard "
                                      "is spilled to the run directory (16 bytes each)", group="data")
    # -- model
    dim: int = option(100, "vector size", group="model")
    x_max: float = option(100.0, "the weighting f(x) = (x/x_max)^alpha reaches 1 at x_max", group="model")
    alpha: float = option(0.75, "exponent of the weighting", group="model")
    # -- training
    epochs: int = option(50, "passes over the non-zero co-occurrences", group="train")
    lr: float = option(0.05, "AdaGrad's initial learning rate", group="train")
    adagrad: str = option("glove", "'glove' (the reference glove.c: lr*g/sqrt(1 + lr^2 sum g^2)) or 'torch' "
                          "(lr*g/sqrt(1 + sum g^2))", ("glove", "torch"), "train")
    batch_size: int = option(4096, "co-occurrence entries per AdaGrad step (summed gradients)", group="train")
    shuffle_chunk: int = option(4_194_304, "entries shuffled together in memory (an epoch visits such chunks of "
                                "the sorted file in a random order)", group="train")
    # -- evaluation
    similarity: str = option("", "word-similarity file(s) ('w1 w2 score' lines), comma-separated: Spearman of each",
                             group="eval")
    analogies: str = option("", "analogy file(s) (questions-words.txt format), comma-separated: 3CosAdd accuracy",
                            group="eval")
    # -- run
    stop_at_step: int = option(0, "stop after this many steps with a checkpoint (0: train to the end); --resume "
                               "continues", group="run")
    log_every: int = option(200, "steps between metric logs", group="run")
    save_every: int = option(5000, "steps between checkpoints (and one at the end)", group="run")

    RESUMABLE_CHANGES = (*RunOptions.RESUMABLE_CHANGES, "stop_at_step", "similarity", "analogies",
                         "max_pairs_in_memory")  # the counts are the same whatever the buffer

    def __post_init__(self):
        from data_pipeline.cooccurrence import MAX_WINDOW

        self.check(positive=("min_count", "window", "dim", "epochs", "lr", "x_max", "batch_size", "shuffle_chunk"))
        if self.window > MAX_WINDOW:
            raise ConfigError(f"--window must be at most {MAX_WINDOW}, got {self.window}")
        if self.max_pairs_in_memory < 4:
            raise ConfigError(f"--max_pairs_in_memory must be at least 4, got {self.max_pairs_in_memory}")
        if self.alpha < 0 or self.stop_at_step < 0:
            raise ConfigError("--alpha and --stop_at_step must not be negative")


def _count(cfg: GloveRunConfig, vocab, out: Path) -> dict:
    """Count the corpus's co-occurrences into out/cooccurrence.bin (kept, so that a resumed run reuses them) and
    describe them in out/cooccurrence.json."""
    from data_pipeline.cooccurrence import CooccurrenceCounter
    from data_pipeline.token_lines import iter_token_lines

    info_path = out / "cooccurrence.json"
    if info_path.exists():
        return json.loads(info_path.read_text())
    start = time.perf_counter()
    counter = CooccurrenceCounter(len(vocab), cfg.window, out, cfg.max_pairs_in_memory)
    words = 0
    for sentence in iter_token_lines(cfg.corpus, lowercase=cfg.lowercase):
        words += len(sentence)
        counter.add(vocab.encode(sentence))
    stats = counter.finish(out / "cooccurrence.bin")
    info = {"words": words, "entries": stats.entries, "shards": stats.shards, "peak_entries": stats.peak_entries,
            "count_seconds": time.perf_counter() - start}
    if not stats.entries:
        raise ConfigError(f"{cfg.corpus}: no two vocabulary words share a line within --window={cfg.window}")
    info_path.write_text(json.dumps(info) + "\n", encoding="utf-8")
    return info


def run(cfg: GloveRunConfig):
    import torch

    from data_pipeline.glove_batches import CooccurrenceBatches
    from data_pipeline.token_lines import iter_token_lines
    from data_pipeline.vocabulary import Vocabulary
    from modeling.baselines.glove import Glove, GloveConfig, glove_adagrad

    if not cfg.corpus:
        raise ConfigError("--corpus is required: a text file with one whitespace-tokenized sentence per line")
    # Every input is read and checked before anything is written; the corpus streams (one line in memory).
    vocab = Vocabulary.build(iter_token_lines(cfg.corpus, lowercase=cfg.lowercase), min_count=cfg.min_count,
                             source=cfg.corpus)
    benchmarks = read_benchmarks(cfg)
    out, checkpoint = prepare_run_dir(cfg)
    (out / "vocab.json").write_text(json.dumps(vocab.to_dict()) + "\n", encoding="utf-8")
    info = _count(cfg, vocab, out)
    batches = CooccurrenceBatches(out / "cooccurrence.bin", cfg.batch_size, cfg.shuffle_chunk, cfg.epochs, cfg.seed)

    model = Glove(GloveConfig(len(vocab), cfg.dim, cfg.x_max, cfg.alpha), seed=cfg.seed)
    optimizer = glove_adagrad(model.parameters(), cfg.lr, cfg.adagrad)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # AdaGrad's own decay only
    total_steps = cfg.epochs * len(batches)

    def speed(state):
        # Words of the corpus per second: of training (over every resumed part), and of counting.
        return {"words_per_s": info["words"] * cfg.epochs / max(state.train_seconds, 1e-9),
                "count_words_per_s": info["words"] / max(info["count_seconds"], 1e-9),
                "cooccurrences": info["entries"], "shards": info["shards"]}

    describe = (f"GloVe: {info['words']} words, vocabulary {len(vocab)} (min_count {cfg.min_count}), "
                f"{info['entries']} co-occurrences (window {cfg.window}, {info['shards']} shards); "
                f"{cfg.epochs} epochs of {len(batches)} steps")
    training = Training(model, optimizer, scheduler, min(total_steps, cfg.stop_at_step or total_steps), batches,
                        describe)
    train_and_report(cfg, out, checkpoint, training,
                     vectors_finish(model, vocab.words, benchmarks, out, total_steps, speed))

TITLE = ("alba baseline glove: GloVe (co-occurrence counts in bounded memory, weighted least squares, AdaGrad) on a "
         "text file; exports vectors.txt (W + W~, word2vec text format) and prints word-similarity Spearman and "
         "analogy accuracy")

"""`alba baseline word2vec`: word2vec (Mikolov et al. 2013) trained by the shared engine on a text file (one
sentence per line, whitespace-tokenized), exported in the word2vec text format and evaluated on word-similarity
and analogy files.

The model makes word2vec's SGD update itself as each batch passes (see modeling/baselines/word2vec.py); the
engine's optimizer holds no gradient and does nothing, and its scheduler only mirrors the learning rate that every
batch carries, so the engine's logs, progress, checkpoints and resume apply unchanged.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from launch.baseline_run import BaselineRunOptions, prepare_run_dir
from launch.command import config_command
from pretrain.config import ConfigError, _opt


@dataclass
class Word2VecRunConfig(BaselineRunOptions):
    """Defaults: word2vec.c / gensim (skip-gram, 5 negatives, window 5, sample 1e-3, 5 epochs, dim 100)."""
    NAME, JOINED = "word2vec", ("similarity", "analogies")

    # -- data
    corpus: str = _opt("", "text file, one sentence per line, whitespace-tokenized (required)", group="data")
    lowercase: bool = _opt(False, "lowercase the corpus", group="data")
    min_count: int = _opt(5, "drop words rarer than this", group="data")
    sample: float = _opt(1e-3, "subsampling threshold t of frequent words (0 disables)", group="data")
    subsampling: str = _opt("word2vec", "keep probability: 'word2vec' (word2vec.c, gensim: sqrt(t/f) + t/f) or "
                            "'paper' (sqrt(t/f))", ("word2vec", "paper"), "data")
    window: int = _opt(5, "largest window; each word draws its window uniformly from 1..window", group="data")
    # -- model
    architecture: str = _opt("skipgram", "'skipgram' or 'cbow'", ("skipgram", "cbow"), "model")
    objective: str = _opt("negative", "'negative' (negative sampling) or 'hierarchical' (Huffman-tree softmax)",
                          ("negative", "hierarchical"), "model")
    dim: int = _opt(100, "vector size", group="model")
    negatives: int = _opt(5, "negative samples per example (negative sampling)", group="model")
    # -- training
    epochs: int = _opt(5, "passes over the corpus", group="train")
    lr: float = _opt(0.0, "starting learning rate (0: 0.025 for skip-gram, 0.05 for CBOW, as word2vec.c)",
                     group="train")
    min_lr: float = _opt(1e-4, "learning rate reached at the end (linear decay with the words seen)",
                         group="train")
    words_per_batch: int = _opt(10000, "corpus words per engine step", group="train")
    chunk_size: int = _opt(0, "examples per sequential SGD update inside a step (0: 512 for negative sampling; "
                           "hierarchical softmax 64 for skip-gram, 32 for CBOW)", group="train")
    compile: bool = _opt(False, "torch.compile the update (faster after ~10 s of compiling)", group="train")
    seed: int = _opt(0, "seed of initialisation, subsampling, windows and negatives", group="train")
    # -- evaluation
    similarity: str = _opt("", "word-similarity file(s) ('w1 w2 score' lines), comma-separated: Spearman of each",
                           group="eval")
    analogies: str = _opt("", "analogy file(s) (questions-words.txt format), comma-separated: 3CosAdd accuracy",
                          group="eval")
    # -- run (and the shared run options, with word2vec's own defaults for two of them)
    stop_at_step: int = _opt(0, "stop after this many steps with a checkpoint (0: train to the end); --resume "
                             "continues", group="run")
    log_every: int = _opt(20, "steps between metric logs", group="run")
    save_every: int = _opt(200, "steps between checkpoints (and one at the end)", group="run")

    RESUMABLE_CHANGES = (*BaselineRunOptions.RESUMABLE_CHANGES, "stop_at_step", "similarity", "analogies",
                         "compile")

    def __post_init__(self):
        self.check(positive=("min_count", "window", "dim", "epochs", "words_per_batch"))
        for name in ("negatives", "sample", "lr", "min_lr", "chunk_size", "stop_at_step"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name} must not be negative, got {getattr(self, name)}")
        if self.objective == "negative" and self.negatives == 0:
            raise ConfigError("--objective=negative needs --negatives of at least 1")
        self.lr = self.lr or (0.025 if self.architecture == "skipgram" else 0.05)



def _paths(value: str) -> list[str]:
    return [p for p in value.split(",") if p]


def _run_word2vec(cfg: Word2VecRunConfig):
    import torch

    from data_pipeline.token_lines import read_token_lines
    from data_pipeline.vocabulary import Vocabulary
    from data_pipeline.word2vec_batches import Word2VecBatches, encode_sentences
    from data_pipeline.word_benchmarks import read_analogies, read_word_pairs
    from modeling.baselines.word2vec import Word2Vec, Word2VecConfig
    from pretrain.checkpoint import TrainState, load_checkpoint, resumable_checkpoint
    from pretrain.engine import Engine, make_accelerator
    from pretrain.tracking import Tracker

    if not cfg.corpus:
        raise ConfigError("--corpus is required: a text file with one whitespace-tokenized sentence per line")
    # Every input is read and checked before anything is written.
    sentences = read_token_lines(cfg.corpus, lowercase=cfg.lowercase)
    vocab = Vocabulary.build(sentences, min_count=cfg.min_count, source=cfg.corpus)
    similarity = {Path(p).name: read_word_pairs(p) for p in _paths(cfg.similarity)}
    analogies = {Path(p).name: read_analogies(p) for p in _paths(cfg.analogies)}
    ids, sentence = encode_sentences(sentences, vocab)
    negatives = cfg.negatives if cfg.objective == "negative" else 0
    batches = Word2VecBatches(ids, sentence, vocab.counts, architecture=cfg.architecture, window=cfg.window,
                              sample=cfg.sample, subsampling=cfg.subsampling, negatives=negatives,
                              words_per_batch=cfg.words_per_batch, epochs=cfg.epochs, lr=cfg.lr, min_lr=cfg.min_lr,
                              seed=cfg.seed)
    out = prepare_run_dir(cfg)
    (out / "vocab.json").write_text(json.dumps(vocab.to_dict()) + "\n", encoding="utf-8")

    model = Word2Vec(Word2VecConfig(len(vocab), cfg.dim, cfg.architecture, cfg.objective, chunk_size=cfg.chunk_size,
                                    compile=cfg.compile), counts=vocab.counts, seed=cfg.seed)
    # The update happens in the model's forward; this optimizer only gives the engine and checkpoints the
    # learning rate of the schedule to log (the parameters never get a gradient, so its step is a no-op).
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: batches.learning_rate(0, step) / cfg.lr)
    checkpoint = resumable_checkpoint(out / "checkpoints") if cfg.resume else None
    state = load_checkpoint(checkpoint, model, optimizer, scheduler) if checkpoint else TrainState()
    total_steps = cfg.epochs * len(batches)
    print(f"[alba] word2vec {cfg.architecture}/{cfg.objective}: {len(ids)} words in the vocabulary of "
          f"{len(vocab)} (min_count {cfg.min_count}); {cfg.epochs} epochs of {len(batches)} steps"
          + (f"; resuming at step {state.step}" if checkpoint else ""))
    tracker = Tracker(out, cfg.to_dict(), wandb=cfg.wandb, project=cfg.wandb_project,
                      resume_step=state.step if checkpoint else None)
    engine = Engine(model, optimizer, scheduler, make_accelerator(), max_steps=min(total_steps, cfg.stop_at_step or
                    total_steps), output_dir=out, tracker=tracker, grad_clip=0.0, log_every=cfg.log_every,
                    save_every=cfg.save_every, keep_checkpoints=cfg.keep_checkpoints, progress=cfg.progress,
                    seed=cfg.seed)
    try:
        started = time.perf_counter()
        steps_before = state.step
        state = engine.fit(batches, state)
        if state.step < total_steps:
            print(f"[alba] stopped at step {state.step} of {total_steps}; --resume continues from {out}")
            return
        vectors = model.word_vectors(vocab.words)
        results = {"words_per_s": len(ids) * (state.step - steps_before) / len(batches)
                   / max(time.perf_counter() - started, 1e-9)}
        for name, pairs in similarity.items():
            found = vectors.evaluate_similarity(pairs)
            results[f"{name}/spearman"], results[f"{name}/unknown_pairs"] = found["spearman"], found["unknown"]
        for name, sections in analogies.items():
            found = vectors.evaluate_analogies(sections)
            results[f"{name}/accuracy"], results[f"{name}/questions"] = found["total"], found["questions"]
        tracker.log({f"eval/{k}": v for k, v in results.items()}, step=state.step)
        tracker.summary({f"eval/{k}": v for k, v in results.items()})
    finally:
        tracker.close()
    vectors.save_word2vec_format(out / "vectors.txt")
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    for name, value in results.items():
        print(f"[alba] {name}: {value:.4g}")
    print(f"[alba] vectors: {out / 'vectors.txt'}")


word2vec = config_command("word2vec", "alba baseline word2vec: skip-gram/CBOW with negative sampling or "
                          "hierarchical softmax on a text file; exports vectors.txt (word2vec text format) and "
                          "prints word-similarity Spearman and analogy accuracy", Word2VecRunConfig, _run_word2vec)

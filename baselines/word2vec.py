"""`alba baseline word2vec`: word2vec (Mikolov et al. 2013) trained by the shared engine on a text file (one
sentence per line, whitespace-tokenized), exported in the word2vec text format and evaluated on word-similarity
and analogy files.

The model makes word2vec's SGD update itself as each batch passes (see modeling/baselines/word2vec.py); the
engine's optimizer holds no gradient and does nothing, and its scheduler only mirrors the learning rate that every
batch carries, so the engine's logs, progress, checkpoints and resume apply unchanged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from baselines.word_vectors_job import read_benchmarks, train_and_report, vectors_finish
from pretrain.config import ConfigError, RunOptions, option
from pretrain.job import Training, prepare_run_dir


@dataclass
class Word2VecRunConfig(RunOptions):
    """Defaults: word2vec.c / gensim (skip-gram, 5 negatives, window 5, sample 1e-3, 5 epochs, dim 100)."""
    NAME, JOINED = "word2vec", ("similarity", "analogies")

    # -- data
    corpus: str = option("", "text file, one sentence per line, whitespace-tokenized (required)", group="data")
    lowercase: bool = option(False, "lowercase the corpus", group="data")
    min_count: int = option(5, "drop words rarer than this", group="data")
    sample: float = option(1e-3, "subsampling threshold t of frequent words (0 disables)", group="data")
    subsampling: str = option("word2vec", "keep probability: 'word2vec' (word2vec.c, gensim: sqrt(t/f) + t/f) or "
                               "'paper' (sqrt(t/f))", ("word2vec", "paper"), "data")
    window: int = option(5, "largest window; each word draws its window uniformly from 1..window", group="data")
    # -- model
    architecture: str = option("skipgram", "'skipgram' or 'cbow'", ("skipgram", "cbow"), "model")
    objective: str = option("negative", "'negative' (negative sampling) or 'hierarchical' (Huffman-tree softmax)",
                             ("negative", "hierarchical"), "model")
    dim: int = option(100, "vector size", group="model")
    negatives: int = option(5, "negative samples per example (negative sampling)", group="model")
    # -- training
    epochs: int = option(5, "passes over the corpus", group="train")
    lr: float = option(0.0, "starting learning rate (0: 0.025 for skip-gram, 0.05 for CBOW, as word2vec.c)",
                        group="train")
    min_lr: float = option(1e-4, "learning rate reached at the end (linear decay with the words seen)",
                            group="train")
    words_per_batch: int = option(10000, "corpus words per engine step", group="train")
    chunk_size: int = option(0, "examples per sequential SGD update inside a step (0: 512 for negative sampling; "
                              "hierarchical softmax 64 for skip-gram, 32 for CBOW)", group="train")
    compile: bool = option(False, "torch.compile the update (faster after ~10 s of compiling)", group="train")
    # -- evaluation
    similarity: str = option("", "word-similarity file(s) ('w1 w2 score' lines), comma-separated: Spearman of each",
                              group="eval")
    analogies: str = option("", "analogy file(s) (questions-words.txt format), comma-separated: 3CosAdd accuracy",
                             group="eval")
    # -- run (and the shared run options, with word2vec's own defaults for two of them)
    stop_at_step: int = option(0, "stop after this many steps with a checkpoint (0: train to the end); --resume "
                                "continues", group="run")
    log_every: int = option(20, "steps between metric logs", group="run")
    save_every: int = option(200, "steps between checkpoints (and one at the end)", group="run")

    RESUMABLE_CHANGES = (*RunOptions.RESUMABLE_CHANGES, "stop_at_step", "similarity", "analogies",
                         "compile")

    def __post_init__(self):
        self.check(positive=("min_count", "window", "dim", "epochs", "words_per_batch"))
        for name in ("negatives", "sample", "lr", "min_lr", "chunk_size", "stop_at_step"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name} must not be negative, got {getattr(self, name)}")
        if self.objective == "negative" and self.negatives == 0:
            raise ConfigError("--objective=negative needs --negatives of at least 1")
        self.lr = self.lr or (0.025 if self.architecture == "skipgram" else 0.05)



def run(cfg: Word2VecRunConfig):
    import torch

    from data_pipeline.token_lines import read_token_lines
    from data_pipeline.vocabulary import Vocabulary
    from data_pipeline.word2vec_batches import Word2VecBatches, encode_sentences
    from modeling.baselines.word2vec import Word2Vec, Word2VecConfig

    if not cfg.corpus:
        raise ConfigError("--corpus is required: a text file with one whitespace-tokenized sentence per line")
    # Every input is read and checked before anything is written.
    sentences = read_token_lines(cfg.corpus, lowercase=cfg.lowercase)
    vocab = Vocabulary.build(sentences, min_count=cfg.min_count, source=cfg.corpus)
    benchmarks = read_benchmarks(cfg)
    ids, sentence = encode_sentences(sentences, vocab)
    negatives = cfg.negatives if cfg.objective == "negative" else 0
    batches = Word2VecBatches(ids, sentence, vocab.counts, architecture=cfg.architecture, window=cfg.window,
                              sample=cfg.sample, subsampling=cfg.subsampling, negatives=negatives,
                              words_per_batch=cfg.words_per_batch, epochs=cfg.epochs, lr=cfg.lr, min_lr=cfg.min_lr,
                              seed=cfg.seed)
    out, checkpoint = prepare_run_dir(cfg)
    (out / "vocab.json").write_text(json.dumps(vocab.to_dict()) + "\n", encoding="utf-8")

    model = Word2Vec(Word2VecConfig(len(vocab), cfg.dim, cfg.architecture, cfg.objective, chunk_size=cfg.chunk_size,
                                    compile=cfg.compile), counts=vocab.counts, seed=cfg.seed)
    # The update happens in the model's forward; this optimizer only gives the engine and checkpoints the
    # learning rate of the schedule to log (the parameters never get a gradient, so its step is a no-op).
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: batches.learning_rate(0, step) / cfg.lr)
    total_steps = cfg.epochs * len(batches)

    def speed(state):
        # Words of the corpus per second of training (making batches and steps, over every resumed part).
        return {"words_per_s": len(ids) * state.step / len(batches) / max(state.train_seconds, 1e-9)}

    describe = (f"word2vec {cfg.architecture}/{cfg.objective}: {len(ids)} words in the vocabulary of {len(vocab)} "
                f"(min_count {cfg.min_count}); {cfg.epochs} epochs of {len(batches)} steps")
    training = Training(model, optimizer, scheduler, min(total_steps, cfg.stop_at_step or total_steps), batches,
                        describe)
    train_and_report(cfg, out, checkpoint, training,
                     vectors_finish(model, vocab.words, benchmarks, out, total_steps, speed))

TITLE = ("alba baseline word2vec: skip-gram/CBOW with negative sampling or hierarchical softmax on a text file; "
         "exports vectors.txt (word2vec text format) and prints word-similarity Spearman and analogy accuracy")

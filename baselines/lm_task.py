"""What the word language models (rnn_lm, nplm) share: the Penn Treebank data options, the files read and split,
the vocabulary and id streams, and the interpolated Kneser-Ney baseline on exactly the same ids."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, RunOptions, option

TRAIN, VALID, TEST = "ptb.train.txt", "ptb.valid.txt", "ptb.test.txt"


@dataclass
class LmDataOptions(RunOptions):
    data_dir: str = option("", f"directory of the Penn Treebank LM files (required). With {TRAIN} and {TEST} present: "
                            f"train on {TRAIN}, validate on {VALID}, test on {TEST}; otherwise the first "
                            f"--train_fraction of --split_file's lines train and the rest test", group="data")
    split_file: str = option(VALID, "the one file split into training and test text when the full set is absent",
                              group="data")
    train_fraction: float = option(0.8, "fraction of split_file's lines (from the start) used for training",
                                    group="data")
    ngram_order: int = option(3, "order of the Kneser-Ney baseline", group="model")

    def check(self, positive: tuple[str, ...] = ()) -> None:
        super().check((*positive, "ngram_order"))
        if not 0 < self.train_fraction < 1:
            raise ConfigError("--train_fraction must be in (0, 1)")


def load_splits(cfg: LmDataOptions, units: str = "word") -> dict:
    """The units (each line's words and <eos>, or its characters and a newline) of the training, validation (or
    None) and test text."""
    from data_pipeline.lm_corpus import char_units, read_lm_lines, split_lines, word_units

    to_units = word_units if units == "word" else char_units
    root = Path(cfg.data_dir)
    if not root.is_dir():
        raise ConfigError(f"--data_dir {root} is not a directory")
    if (root / TRAIN).is_file() and (root / TEST).is_file():
        names = {"train": TRAIN, "valid": VALID if (root / VALID).is_file() else None, "test": TEST}
        return {k: to_units(read_lm_lines(root / v)) if v else None for k, v in names.items()} | {
            "description": f"{TRAIN} / {names['valid']} / {TEST}"}
    source = root / cfg.split_file
    if not source.is_file():
        raise ConfigError(f"--data_dir {root} holds neither {TRAIN} and {TEST} nor --split_file {cfg.split_file}")
    train, test = split_lines(read_lm_lines(source), cfg.train_fraction)
    return {"train": to_units(train), "valid": None, "test": to_units(test),
            "description": f"first {cfg.train_fraction:g} of {source.name}'s lines / the rest"}


def load_ids(cfg: LmDataOptions, units: str = "word"):
    """(the splits' description, the vocabulary of the training units, {train, valid, test: id stream or None}).
    A bad file stops here, before anything is written; held-out units unseen in training become <unk>."""
    from data_pipeline.lm_corpus import build_vocabulary, encode_stream

    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a directory holding the Penn Treebank LM files (ptb.*.txt)")
    splits = load_splits(cfg, units)
    vocab = build_vocabulary(splits["train"])
    ids = {k: encode_stream(v, vocab) if v else None for k, v in splits.items() if k != "description"}
    return splits["description"], vocab, ids


def ngram_probabilities(cfg: LmDataOptions, vocab, train_ids, test_ids) -> list[float]:
    """Interpolated Kneser-Ney on exactly the ids the neural model sees (held-out words outside the training
    vocabulary are <unk> for both): its probability of the same targets, every test id after the first."""
    from modeling.baselines.ngram import KneserNeyLM

    words = vocab.words
    lm = KneserNeyLM([words[i] for i in train_ids], words, order=cfg.ngram_order)
    return lm.probabilities([words[i] for i in test_ids])


def ngram_perplexity(cfg: LmDataOptions, vocab, train_ids, test_ids) -> float:
    from modeling.baselines.ngram import perplexity

    return perplexity(ngram_probabilities(cfg, vocab, train_ids, test_ids))

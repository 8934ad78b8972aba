"""Language-model corpora in the Penn Treebank format (Mikolov's preprocessing: one sentence per line, tokens
separated by spaces, `<unk>` for rare words) as id streams, cut into batches for stateful truncated BPTT."""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch

from .errors import DataError
from .token_lines import read_token_lines
from .vocabulary import Vocabulary

UNK, EOS = "<unk>", "<eos>"
NEWLINE = "\n"  # the end-of-line symbol of character streams


def read_lm_lines(path: str | os.PathLike) -> list[list[str]]:
    lines = read_token_lines(path)
    if not lines:
        raise DataError(f"{os.fspath(path)}: the language-model corpus holds no text")
    return lines


def split_lines(lines: list, train_fraction: float) -> tuple[list, list]:
    """The first `train_fraction` of the lines for training, the rest held out (in order: text is sequential)."""
    cut = int(round(len(lines) * train_fraction))
    if not 0 < cut < len(lines):
        raise DataError(f"train_fraction={train_fraction} of {len(lines)} lines leaves no training or no held-out "
                        f"text")
    return lines[:cut], lines[cut:]


def word_units(lines: list[list[str]]) -> list[list[str]]:
    """Each line's words followed by `<eos>`: the units a word model predicts."""
    return [line + [EOS] for line in lines]


def char_units(lines: list[list[str]]) -> list[list[str]]:
    """Each line's characters (words joined by one space) followed by a newline."""
    return [list(" ".join(line)) + [NEWLINE] for line in lines]


def build_vocabulary(units: list[list[str]], unknown: str | None = UNK) -> Vocabulary:
    """Every unit of the training text; `unknown` (kept first) stands for held-out units never seen in training."""
    return Vocabulary.build(units, reserved=(unknown,) if unknown else ())


def encode_stream(units: list[list[str]], vocab: Vocabulary, unknown: str | None = UNK) -> np.ndarray:
    """The lines as one id stream; a unit outside the vocabulary becomes `unknown` (or is dropped without it)."""
    unk = vocab.index[unknown] if unknown else None
    return np.concatenate([vocab.encode(u, unk) for u in units])


class StreamBatches:
    """Zaremba et al.'s batching: the stream is cut into `streams` contiguous rows read in parallel, and batch i
    is columns [i*unroll, (i+1)*unroll) of each row with the next ids as labels. Every epoch reads the same
    batches in order; `reset` marks the first batch of an epoch, where the carried state starts from zero."""

    def __init__(self, stream: np.ndarray, streams: int, unroll: int, source: str = "the corpus"):
        columns = len(stream) // streams
        self.rows = torch.from_numpy(stream[:streams * columns].reshape(streams, columns))
        self.unroll = unroll
        if len(self) == 0:
            raise DataError(f"{source}: {len(stream)} tokens are too few for {streams} streams of {unroll}+1 tokens")

    def __len__(self) -> int:
        return (self.rows.shape[1] - 1) // self.unroll

    def __call__(self, epoch: int, start_batch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        for i in range(start_batch, len(self)):
            lo = i * self.unroll
            yield {"input_ids": self.rows[:, lo:lo + self.unroll], "labels": self.rows[:, lo + 1:lo + self.unroll + 1],
                   "reset": torch.full((self.rows.shape[0],), i == 0)}

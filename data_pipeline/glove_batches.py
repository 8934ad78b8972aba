"""GloVe's training batches: the non-zero entries of the co-occurrence file (`data_pipeline/cooccurrence.py`) in a
fresh random order each epoch, read a chunk at a time so that memory holds one chunk, not the matrix. The file is
sorted by (i, j); an epoch visits its chunks in a random order and each chunk's entries in a random order (as
GloVe's shuffle.c shuffles in memory-sized chunks). A batch is a pure function of (seed, epoch, batch index), so a
resumed run sees the same data."""
from __future__ import annotations

import os
from typing import Iterator

import numpy as np
import torch

from .cooccurrence import read_cooccurrences


class CooccurrenceBatches:
    """`word_ids`, `context_ids` (B,) int64 and `cooccurrences` (B,) float32 X_ij. Each chunk is a whole number of
    batches (its last batch may be short), so a resume finds its batch without reading the chunks before it."""

    def __init__(self, path: str | os.PathLike, batch_size: int = 512, chunk_size: int = 4_194_304,
                 epochs: int = 1, seed: int = 0):
        if batch_size < 1 or chunk_size < 1 or epochs < 1:
            raise ValueError("batch_size, chunk_size and epochs must be positive")
        self.records = read_cooccurrences(path)
        self.batch_size, self.epochs, self.seed = batch_size, epochs, seed
        chunk = -(-chunk_size // batch_size) * batch_size
        self.starts = np.arange(0, len(self.records), chunk)
        self.ends = np.minimum(self.starts + chunk, len(self.records))
        self.chunk_batches = -(-(self.ends - self.starts) // batch_size)

    def __len__(self) -> int:
        return int(self.chunk_batches.sum())

    def __call__(self, epoch: int, start_batch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of `epoch` from `start_batch` on; nothing once `epochs` epochs are done."""
        if epoch >= self.epochs:
            return
        first = 0  # index of the chunk's first batch in the epoch
        for c in np.random.default_rng([self.seed, epoch]).permutation(len(self.starts)):
            n = int(self.chunk_batches[c])
            if first + n > start_batch:
                chunk = np.asarray(self.records[self.starts[c]:self.ends[c]])
                chunk = chunk[np.random.default_rng([self.seed, epoch, int(c)]).permutation(len(chunk))]
                for b in range(max(start_batch - first, 0), n):
                    part = chunk[b * self.batch_size:(b + 1) * self.batch_size]
                    yield {"word_ids": torch.from_numpy(part["i"].astype(np.int64)),
                           "context_ids": torch.from_numpy(part["j"].astype(np.int64)),
                           "cooccurrences": torch.from_numpy(part["x"].astype(np.float32))}
            first += n

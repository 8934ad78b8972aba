"""Deterministic batches: the order of an epoch is a pure function of (seed, epoch), and each global batch is
split across processes by rank, so a run sees the same data whatever its number of processes, and a resumed run
can skip straight to its cursor."""
from __future__ import annotations

import numpy as np


class GlobalBatchSampler:
    def __init__(self, num_examples: int, global_batch: int, seed: int, rank: int = 0, world: int = 1):
        if global_batch % world:
            raise ValueError(f"batch_size {global_batch} is not divisible by the {world} processes")
        if num_examples < global_batch:
            raise ValueError(f"only {num_examples} training examples for a batch of {global_batch}")
        self.n, self.batch, self.seed, self.rank, self.world = num_examples, global_batch, seed, rank, world
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0):
        self.epoch, self.start = epoch, start_batch

    def __len__(self):
        return self.n // self.batch - self.start

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        for b in range(self.start, self.n // self.batch):
            batch = order[b * self.batch:(b + 1) * self.batch]
            yield batch[self.rank::self.world].tolist()

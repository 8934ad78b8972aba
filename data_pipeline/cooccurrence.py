"""GloVe's co-occurrence matrix X (Pennington et al. 2014, section 4.2), counted in bounded memory.

X_ij sums 1/d over every occurrence of context word j at distance d <= window from word i, in the same sentence,
on both sides (the symmetric window); words outside the vocabulary are dropped before windows are formed, as in
GloVe's cooccur.c and word2vec. Counts are kept as exact integers, X_ij * lcm(1..window), so that the sums do not
depend on the order they are made in: counting in shards and merging them gives exactly the all-in-memory result.

Counting holds at most `max_pairs` (key, count) entries at a time: when the buffer is full its duplicate keys are
summed, and if that leaves more than half of it, the sorted buffer is spilled to a shard on disk. The shards are
then merged block by block (a k-way merge that sums equal keys, also within `max_pairs` entries) into one file of
(i, j, X_ij) records sorted by (i, j), which training reads in chunks (`CooccurrenceBatches`).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RECORD = np.dtype([("i", "<i4"), ("j", "<i4"), ("x", "<f8")])  # one entry of the merged file
MAX_WINDOW = 20  # lcm(1..20) * 2^32 co-occurrences of one pair still fit an int64 count


def distance_scale(window: int) -> int:
    """lcm(1..window): each 1/d weight times it is an integer."""
    return math.lcm(*range(1, window + 1))


@dataclass
class CountStats:
    entries: int  # non-zero X_ij
    shards: int  # shards spilled to disk (0: the counts never left memory)
    peak_entries: int  # the most entries the buffer held


class CooccurrenceCounter:
    """Feed it sentences of word ids (`add`), then `finish(path)` writes the merged file. Shards go to
    `shard_dir` and are deleted once merged."""

    def __init__(self, vocab_size: int, window: int, shard_dir: str | os.PathLike, max_pairs: int = 10_000_000):
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be between 1 and {MAX_WINDOW}, got {window}")
        if max_pairs < 4:
            raise ValueError(f"max_pairs must be at least 4, got {max_pairs}")
        self.vocab_size, self.window, self.max_pairs = vocab_size, window, max_pairs
        self.scale = distance_scale(window)
        self.shard_dir = Path(shard_dir)
        self.shards: list[Path] = []
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._size = self.peak = 0
        self._piece: list[np.ndarray] = []  # sentences waiting to be counted together (fewer numpy calls)
        self._piece_words = 0

    def add(self, ids: np.ndarray) -> None:
        """One sentence's word ids (words outside the vocabulary already dropped)."""
        self._piece.append(np.asarray(ids, dtype=np.int64))
        self._piece_words += len(ids)
        if self._piece_words >= self.max_pairs // 4:
            self._count_piece()

    def _count_piece(self) -> None:
        if not self._piece:
            return
        ids = np.concatenate(self._piece)
        sentence = np.repeat(np.arange(len(self._piece)), [len(p) for p in self._piece])
        self._piece, self._piece_words = [], 0
        step = self.max_pairs // 4  # each push holds 2 * step entries, at most half the buffer
        for d in range(1, self.window + 1):
            for lo in range(0, len(ids) - d, step):
                left, right = ids[lo:lo + step], ids[lo + d:lo + d + step]
                left, right = left[:len(right)], right[:len(left)]
                same = sentence[lo:lo + len(left)] == sentence[lo + d:lo + d + len(left)]
                left, right = left[same], right[same]
                keys = np.concatenate([left * self.vocab_size + right, right * self.vocab_size + left])
                self._push(keys, np.full(len(keys), self.scale // d, dtype=np.int64))

    def _push(self, keys: np.ndarray, counts: np.ndarray) -> None:
        if self._size + len(keys) > self.max_pairs:
            keys_, counts_ = self._compact()
            if len(keys_) > self.max_pairs // 2:
                self._spill(keys_, counts_)
            else:
                self._keys, self._counts, self._size = [keys_], [counts_], len(keys_)
        self._keys.append(keys)
        self._counts.append(counts)
        self._size += len(keys)
        self.peak = max(self.peak, self._size)

    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        """The buffer sorted by key with equal keys summed."""
        keys = np.concatenate(self._keys) if self._keys else np.zeros(0, np.int64)
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, np.int64)
        self._keys, self._counts, self._size = [], [], 0
        return _sum_equal_keys(keys, counts)

    def _spill(self, keys: np.ndarray, counts: np.ndarray) -> None:
        path = self.shard_dir / f"cooccurrence-shard-{len(self.shards):05d}.npy"
        np.save(path, np.stack([keys, counts], 1))
        self.shards.append(path)

    def finish(self, path: str | os.PathLike) -> CountStats:
        """Write the merged (i, j, X_ij) records, sorted by (i, j), to `path` (through a temporary file, so that a
        complete file is the only kind that exists)."""
        self._count_piece()
        keys, counts = self._compact()
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "wb") as out:
            if not self.shards:
                entries = self._write(out, keys, counts)
            else:
                if len(keys):
                    self._spill(keys, counts)
                entries = self._merge(out)
        os.replace(tmp, path)
        for shard in self.shards:
            shard.unlink()
        return CountStats(entries, len(self.shards), self.peak)

    def _write(self, out, keys: np.ndarray, counts: np.ndarray) -> int:
        records = np.empty(len(keys), RECORD)
        records["i"], records["j"] = np.divmod(keys, self.vocab_size)
        records["x"] = counts / self.scale
        records.tofile(out)
        return len(records)

    def _merge(self, out) -> int:
        """k-way merge of the sorted shards, a block of each at a time: everything up to the smallest last key of
        the blocks is complete (a shard's keys are unique and sorted, so no later block holds such a key)."""
        shards = [np.load(p, mmap_mode="r") for p in self.shards]
        block = max(1, self.max_pairs // (2 * len(shards)))  # pending + new blocks stay within max_pairs
        at = [0] * len(shards)
        pending = np.zeros((0, 2), np.int64)
        entries = 0
        while True:
            parts, bound = [pending], np.iinfo(np.int64).max
            for s, shard in enumerate(shards):
                part = np.asarray(shard[at[s]:at[s] + block])
                at[s] += len(part)
                parts.append(part)
                if at[s] < len(shard):
                    bound = min(bound, int(part[-1, 0]))
            merged = np.concatenate(parts)
            done = merged[:, 0] <= bound
            pending = merged[~done]
            entries += self._write(out, *_sum_equal_keys(merged[done, 0], merged[done, 1]))
            if all(a == len(s) for a, s in zip(at, shards)) and not len(pending):
                return entries


def _sum_equal_keys(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    keys, counts = keys[order], counts[order]
    if not len(keys):
        return keys, counts
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(counts, starts)


def read_cooccurrences(path: str | os.PathLike) -> np.ndarray:
    """The merged file as a read-only memory map of RECORD entries."""
    return np.memmap(path, dtype=RECORD, mode="r")

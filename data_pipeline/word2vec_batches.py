"""word2vec's training examples: frequent-word subsampling, dynamic windows, skip-gram pairs or CBOW contexts, and
negative samples. A batch is a pure function of (seed, epoch, batch index), so a resumed run sees the same data, and
it carries its learning rate: word2vec decays it linearly with the words seen, which a batch's index fixes."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from .errors import DataError
from .vocabulary import Vocabulary

ARCHITECTURES = ("skipgram", "cbow")
SUBSAMPLING = ("word2vec", "paper")


def keep_probabilities(counts: np.ndarray, sample: float, formula: str = "word2vec") -> np.ndarray:
    """The probability of keeping each occurrence of a word of relative frequency f, with threshold t = `sample`
    (0 keeps every word). "paper" (Mikolov et al. 2013): discard with probability 1 - sqrt(t/f). "word2vec": the
    released word2vec.c and gensim keep with probability sqrt(t/f) + t/f, a little more; both keep words rarer
    than t always."""
    if formula not in SUBSAMPLING:
        raise DataError(f"subsampling must be one of {', '.join(SUBSAMPLING)}; got {formula!r}")
    if sample <= 0:
        return np.ones(len(counts))
    ratio = sample / (counts / counts.sum())
    keep = np.sqrt(ratio) + ratio if formula == "word2vec" else np.sqrt(ratio)
    return np.minimum(1.0, keep)


class NegativeSampler:
    """Draws word ids with probability proportional to count**power (0.75 in word2vec), in O(1) per draw with
    Walker's alias method (Vose's construction): bucket i holds word i with probability `accept[i]`, else
    `alias[i]`, and buckets are drawn uniformly."""

    def __init__(self, counts: np.ndarray, power: float = 0.75):
        weights = counts.astype(np.float64) ** power
        self.probabilities = weights / weights.sum()
        scaled = self.probabilities * len(counts)
        self.accept = np.ones(len(counts))
        self.alias = np.arange(len(counts))
        small = [i for i, p in enumerate(scaled) if p < 1]
        large = [i for i, p in enumerate(scaled) if p >= 1]
        while small and large:
            s, l = small.pop(), large[-1]
            self.accept[s], self.alias[s] = scaled[s], l
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1:
                small.append(large.pop())
        # What is left is 1 up to rounding: such buckets keep their own word.

    def sample(self, rng: np.random.Generator, shape) -> np.ndarray:
        bucket = rng.integers(0, len(self.accept), shape)
        return np.where(rng.random(shape) < self.accept[bucket], bucket, self.alias[bucket])


def encode_sentences(sentences: Sequence[Sequence[str]], vocab: Vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """The corpus as one id stream and the sentence of each position. Words outside the vocabulary are dropped
    before windows are formed, as word2vec does."""
    encoded = [vocab.encode(s) for s in sentences]
    ids = np.concatenate(encoded) if encoded else np.zeros(0, dtype=np.int64)
    sentence = np.repeat(np.arange(len(encoded)), [len(e) for e in encoded])
    return ids, sentence


class Word2VecBatches:
    """Batches of one epoch: batch b covers the corpus positions [b*words_per_batch, (b+1)*words_per_batch), so
    every epoch has the same number of batches and the learning rate decays with the words seen, as in word2vec.

    Per epoch each position is kept with `keep_probabilities` and given a window drawn uniformly from 1..window
    (the dynamic window, which weights near contexts more); windows stop at sentence ends. Skip-gram yields one
    example per (context, center) pair: `input_ids` (B,) holds the context word, which predicts the center word,
    the orientation of word2vec.c and gensim. CBOW yields one example per center word: `input_ids` (B, 2*window)
    its context words with `attention_mask`. `targets` (B, 1 + negatives) is the predicted word followed by its
    negative samples (just the word, (B, 1), for hierarchical softmax: negatives=0). `learning_rate` (1,) falls
    linearly from `lr` at the first batch of epoch 0 to `min_lr` after the last batch of epoch `epochs` - 1."""

    def __init__(self, ids: np.ndarray, sentence: np.ndarray, counts: np.ndarray, *, architecture: str = "skipgram",
                 window: int = 5, sample: float = 1e-3, subsampling: str = "word2vec", negatives: int = 5,
                 words_per_batch: int = 10000, epochs: int = 5, lr: float = 0.025, min_lr: float = 1e-4,
                 seed: int = 0):
        if architecture not in ARCHITECTURES:
            raise DataError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
        if window < 1 or negatives < 0 or words_per_batch < 1 or epochs < 1:
            raise DataError("window, words_per_batch and epochs must be positive and negatives non-negative")
        self.ids, self.sentence = ids, sentence
        self.keep = keep_probabilities(counts, sample, subsampling)
        self.epochs, self.lr, self.min_lr = epochs, lr, min_lr
        self.sampler = NegativeSampler(counts) if negatives else None
        self.architecture, self.window, self.negatives = architecture, window, negatives
        self.words_per_batch, self.seed = words_per_batch, seed
        self.offsets = np.concatenate([np.arange(-window, 0), np.arange(1, window + 1)])

    def __len__(self) -> int:
        return -(-len(self.ids) // self.words_per_batch)

    def learning_rate(self, epoch: int, batch: int) -> float:
        progress = min(1.0, (epoch * len(self) + batch) / (self.epochs * len(self)))
        return self.lr - (self.lr - self.min_lr) * progress

    def subsample(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The corpus positions kept in `epoch` and the window reach drawn for each."""
        rng = np.random.default_rng([self.seed, epoch])
        kept = np.flatnonzero(rng.random(len(self.ids)) < self.keep[self.ids])
        return kept, rng.integers(1, self.window + 1, len(kept))

    def __call__(self, epoch: int, start_batch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        """The batches of `epoch` from `start_batch` on; nothing once `epochs` epochs are done."""
        if epoch >= self.epochs:
            return
        kept, reach = self.subsample(epoch)
        bounds = np.searchsorted(kept, np.arange(len(self) + 1) * self.words_per_batch)
        words, sentence = self.ids[kept], self.sentence[kept]
        for b in range(start_batch, len(self)):
            batch = self._batch(words, sentence, reach, bounds[b], bounds[b + 1],
                                np.random.default_rng([self.seed, epoch, b]))
            batch["learning_rate"] = torch.tensor([self.learning_rate(epoch, b)])
            yield batch

    def _batch(self, words, sentence, reach, lo, hi, rng) -> dict[str, torch.Tensor]:
        """The examples whose center is the kept word lo..hi-1; contexts are the centers' kept neighbours."""
        center = np.arange(lo, hi)
        cand = center[:, None] + self.offsets
        inside = (cand >= 0) & (cand < len(words))
        cand = cand.clip(0, max(len(words) - 1, 0))
        valid = inside & (np.abs(self.offsets) <= reach[lo:hi, None]) & (sentence[cand] == sentence[center, None])
        if self.architecture == "skipgram":
            rows, cols = np.nonzero(valid)
            batch = {"input_ids": torch.from_numpy(words[cand[rows, cols]])}
            target = words[center[rows]]
        else:
            rows = np.flatnonzero(valid.any(1))  # a center without context gives no example
            batch = {"input_ids": torch.from_numpy(words[cand[rows]]),
                     "attention_mask": torch.from_numpy(valid[rows])}
            target = words[center[rows]]
        targets = target[:, None]
        if self.negatives:
            targets = np.concatenate([targets, self.sampler.sample(rng, (len(target), self.negatives))], 1)
        batch["targets"] = torch.from_numpy(targets)
        return batch

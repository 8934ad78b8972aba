"""A word vocabulary with counts, most frequent first: the shared vocabulary of word2vec and the language models."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .errors import DataError


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[str, ...]
    counts: np.ndarray  # int64, aligned with words
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], min_count: int = 1, source: str = "the corpus",
              reserved: Sequence[str] = ()) -> "Vocabulary":
        """Words occurring at least `min_count` times, by descending count, ties in order of first occurrence (so the
        order is deterministic); `reserved` words come first whatever their count. `source` names the corpus in the error
        raised when no word is left."""
        counts = Counter()
        for sentence in sentences:
            counts.update(sentence)
        kept = sorted((w for w, c in counts.items() if c >= min_count and w not in reserved),
                      key=lambda w: -counts[w])  # sorted() is stable: ties keep the Counter's first-seen order
        if not kept:
            top = max(counts.values(), default=0)
            raise DataError(f"{source}: the vocabulary is empty with min_count={min_count} ({len(counts)} distinct "
                            f"words, the most frequent occurs {top} times); lower min_count or use a larger corpus")
        words = tuple(reserved) + tuple(kept)
        return cls(words, np.array([counts[w] for w in words], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str], unknown: int | None = None) -> np.ndarray:
        """Ids of `tokens`; a word outside the vocabulary becomes `unknown`, or is dropped when it is None."""
        if unknown is None:
            return np.array([i for i in map(self.index.get, tokens) if i is not None], dtype=np.int64)
        return np.array([self.index.get(t, unknown) for t in tokens], dtype=np.int64)

    def to_dict(self) -> dict:
        return {"words": list(self.words), "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabulary":
        return cls(tuple(d["words"]), np.array(d["counts"], dtype=np.int64))

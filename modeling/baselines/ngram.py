"""Interpolated Kneser-Ney n-gram language model (Chen & Goodman 1999, eq. 17 with one discount per order), the
count-based baseline of the word language models.

For a history h (the previous n-1 words) and its shortening h' (first word dropped):
    P(w | h) = max(c(h w) - D, 0) / c(h .)  +  D * N1+(h .) / c(h .) * P(w | h'),
where c is the raw count at the highest order and the continuation count N1+(. g w) (distinct words seen before
g w) at every lower order; N1+(h .) is the number of distinct words that follow h with a non-zero count. A history
never seen falls through to P(w | h'). The unigram level interpolates with the uniform distribution over the
vocabulary, so every word of the vocabulary (unseen ones included) gets probability mass and each conditional
distribution sums to one over the vocabulary. D = n1 / (n1 + 2 n2) per order (Ney et al.), from the numbers of
n-grams counted once and twice at that order, unless fixed.

The text is one stream (sentences joined by their end symbol), as the recurrent models read it, so histories
cross sentence boundaries as theirs do.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Sequence


class KneserNeyLM:
    def __init__(self, stream: Sequence[str], vocabulary: Sequence[str], order: int = 3,
                 discount: float | None = None):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if discount is not None and not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        self.order, self.vocabulary = order, tuple(vocabulary)
        known = set(self.vocabulary)
        missing = sorted(set(stream) - known)
        if missing:
            raise ValueError(f"{len(missing)} training words are outside the vocabulary, e.g. {missing[:3]}")
        stream = tuple(stream)
        # counts[k]: (history of k-1 words, word) -> the count used at order k.
        raw = Counter(stream[i - order + 1:i + 1] for i in range(order - 1, len(stream)))
        self.counts: list[Counter] = [Counter() for _ in range(order + 1)]
        self.counts[order] = raw
        for k in range(order - 1, 0, -1):
            # Continuation counts N1+(. g): distinct words seen before each k-gram g.
            self.counts[k] = Counter(gram[1:] for gram in self._all_grams(stream, k + 1))
        self.context_total: list[dict] = [dict() for _ in range(order + 1)]
        self.context_types: list[dict] = [dict() for _ in range(order + 1)]
        for k in range(1, order + 1):
            totals, types = defaultdict(int), defaultdict(int)
            for gram, c in self.counts[k].items():
                if c > 0:
                    totals[gram[:-1]] += c
                    types[gram[:-1]] += 1
            self.context_total[k], self.context_types[k] = dict(totals), dict(types)
        self.discounts = [0.0] + [discount if discount is not None else self._estimate_discount(k)
                                  for k in range(1, order + 1)]

    @staticmethod
    def _all_grams(stream: tuple, n: int):
        return {stream[i:i + n] for i in range(len(stream) - n + 1)}

    def _estimate_discount(self, k: int) -> float:
        values = Counter(self.counts[k].values())
        n1, n2 = values.get(1, 0), values.get(2, 0)
        return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5  # too little text to estimate: a middle value

    def prob(self, word: str, history: Sequence[str] = ()) -> float:
        """P(word | the last order-1 words of history)."""
        history = tuple(history)[max(0, len(history) - self.order + 1):] if self.order > 1 else ()
        p = 1.0 / len(self.vocabulary)
        for k in range(1, len(history) + 2):
            h = history[len(history) - k + 1:]
            total = self.context_total[k].get(h, 0)
            if total == 0:
                continue  # an unseen history: the lower order alone
            d = self.discounts[k]
            c = self.counts[k].get(h + (word,), 0)
            p = max(c - d, 0.0) / total + d * self.context_types[k][h] / total * p
        return p

    def probabilities(self, stream: Sequence[str], start: int = 1) -> list[float]:
        """P(stream[i] | the words before it) for each i from `start` on."""
        stream = tuple(stream)
        if start >= len(stream):
            raise ValueError(f"nothing to predict: {len(stream)} words, starting at {start}")
        return [self.prob(stream[i], stream[max(0, i - self.order + 1):i]) for i in range(start, len(stream))]

    def perplexity(self, stream: Sequence[str], start: int = 1) -> float:
        """exp of the mean negative log-probability of stream[start:], each word given the words before it."""
        return perplexity(self.probabilities(stream, start))


def perplexity(probabilities: Sequence[float]) -> float:
    """exp of the mean negative log-probability."""
    return math.exp(-sum(map(math.log, probabilities)) / len(probabilities))

"""Statistics printed beside a run's results."""
from __future__ import annotations

import math
from collections import Counter
from typing import Iterable


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default); well-behaved near 0 and 1."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def most_frequent_token(token_streams: Iterable[Iterable[int]]) -> int:
    """The unigram-frequency baseline's single guess: the most frequent token id of the training data."""
    counts: Counter = Counter()
    for stream in token_streams:
        counts.update(stream)
    if not counts:
        raise ValueError("no tokens to count")
    return counts.most_common(1)[0][0]

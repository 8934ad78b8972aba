"""Dynamic MLM masking of a batch (BERT's 15% with 80/10/10): by token, by whole word, or by ALBERT's n-grams of
whole words.

Every random draw of an item is a counter-based hash of (seed, epoch, item index, position, stream) (splitmix64's
finaliser), so an item's mask is a pure function of those, whatever batch, worker or process it lands in, and the
draws of a whole batch come from a few array operations instead of one seeded generator per item."""
import numpy as np

IGNORE = -100  # the label of positions without an MLM target, ignored by PyTorch's cross-entropy
MAX_NGRAM = 3
# ALBERT: span length n in 1..3 words with p(n) proportional to 1/n, i.e. 6/11, 3/11, 2/11.
NGRAM_P = np.array([1 / n for n in range(1, MAX_NGRAM + 1)]) / sum(1 / n for n in range(1, MAX_NGRAM + 1))
# NGRAM_CDF[room]: the cumulative p(n) renormalised over n <= room, for a span start with `room` words left.
NGRAM_CDF = np.array([np.pad(np.cumsum(NGRAM_P[:r]) / NGRAM_P[:r].sum(), (0, MAX_NGRAM - r), constant_values=1.0)
                      if r else np.ones(MAX_NGRAM) for r in range(MAX_NGRAM + 1)])
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = 1 << 32  # counters of different streams never meet: positions are far fewer than 2**32
WORD_ORDER, NGRAM_LENGTH, FATE, REPLACEMENT = range(4)  # the streams


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of uint64 whose outputs pass BigCrush for consecutive inputs."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Draws:
    """Uniform draws in [0, 1) for a batch of items, each row a function of (seed, epoch, that row's index) alone."""

    def __init__(self, seed: int, epoch: int, indices: np.ndarray):
        run = _mix(_mix(np.array([seed], dtype=np.uint64) + _GOLDEN) ^ np.uint64(epoch))
        self.key = _mix(run + (np.asarray(indices, dtype=np.uint64) + np.uint64(1)) * _GOLDEN)  # splitmix64 per index

    def uniform(self, stream: int, width: int) -> np.ndarray:
        counter = np.arange(stream * _STREAM + 1, stream * _STREAM + 1 + width, dtype=np.uint64)
        return (_mix(self.key[:, None] + counter * _GOLDEN) >> np.uint64(11)) * 2.0 ** -53


def mask_batch(ids: np.ndarray, candidates: np.ndarray, mask_id: int, random_ids: tuple[int, int], mask_prob: float,
               max_predictions: int, draws: Draws, continuation: np.ndarray | None = None,
               ngram: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(masked ids, labels) for the rows of `ids` (B, T).

    Per row, round(mask_prob x its candidate positions) positions are chosen, at least 1 and at most
    `max_predictions`, only where `candidates` is true (callers exclude [CLS], [SEP] and padding). Positions are
    grouped into words: with `continuation` (true where a token continues the word before it, e.g. WordPiece `##`)
    a word is a run of a start and its continuations, without it every token is a word. Words are visited in random
    order and taken whole, skipping a word that would overshoot the count (for single-token words: a uniform random
    subset). With `ngram`, ALBERT's spans of n whole words are taken instead (see ngram_spans). Of the chosen
    positions 80% become `mask_id`, 10% a uniform id in [random_ids[0], random_ids[1]) and 10% stay; labels hold the
    original id there and IGNORE elsewhere.
    """
    rows, width = ids.shape
    n_candidates = candidates.sum(axis=1)
    count = np.where(n_candidates > 0, np.clip((mask_prob * n_candidates + 0.5).astype(np.int64), 1,
                                               max_predictions), 0)
    starts = candidates.copy()
    if continuation is not None:  # a continuation starts a word only after a non-candidate (a gap)
        starts[:, 1:] &= ~(continuation[:, 1:] & candidates[:, :-1])
    word = np.cumsum(starts, axis=1) - 1  # the word of each candidate position, numbered per row
    n_words = starts.sum(axis=1)
    slots = max(1, int(n_words.max()))  # word arrays are (B, slots); a row's words fill its first n_words slots
    present = np.arange(slots) < n_words[:, None]
    word_length = np.bincount((np.arange(rows)[:, None] * slots + word)[candidates],
                              minlength=rows * slots).reshape(rows, slots)
    word_key = np.full((rows, slots), 2.0)  # absent words sort last
    word_key[present] = draws.uniform(WORD_ORDER, width)[starts]  # each word's key is its start position's draw
    if ngram:
        taken = _ngram_words(word_key, word_length, n_words, count, draws.uniform(NGRAM_LENGTH, slots))
    else:
        taken = _greedy_words(word_key, word_length, count)
    chosen = candidates & np.take_along_axis(taken, np.maximum(word, 0), axis=1)
    fate = draws.uniform(FATE, width)
    masked = np.where(chosen & (fate < 0.8), mask_id, ids)
    replaced = chosen & (fate >= 0.8) & (fate < 0.9)
    low, high = random_ids
    replacement = low + (draws.uniform(REPLACEMENT, width) * (high - low)).astype(np.int64)
    masked = np.where(replaced, replacement, masked)
    return masked, np.where(chosen, ids, IGNORE)


def _greedy_words(word_key: np.ndarray, word_length: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Words taken in key order while they fit the count, an overshooting word skipped: the longest prefix of the
    key order that fits, then repeatedly the lowest-key word no longer than what is left (the same choice as visiting
    them one by one, since what is left only shrinks)."""
    order = np.argsort(word_key, axis=1)  # absent words tie at 2.0, last; 53-bit draws of words practically never tie
    lengths = np.take_along_axis(word_length, order, axis=1)
    fits = (np.cumsum(lengths, axis=1) <= count[:, None]) & (lengths > 0)
    taken = np.zeros(word_key.shape, dtype=bool)
    np.put_along_axis(taken, order, fits, axis=1)
    left = count - (lengths * fits).sum(axis=1)
    while left.any():
        eligible = ~taken & (word_length > 0) & (word_length <= left[:, None])
        rows = np.flatnonzero(eligible.any(axis=1))
        if not len(rows):
            break
        pick = np.where(eligible[rows], word_key[rows], np.inf).argmin(axis=1)
        taken[rows, pick] = True
        left[rows] -= word_length[rows, pick]
    return taken


def _ngram_lengths(u: np.ndarray, room: np.ndarray) -> np.ndarray:
    """n in 1..MAX_NGRAM drawn from uniforms `u` with p(n) ∝ 1/n renormalised over n <= room."""
    room = np.minimum(room, MAX_NGRAM)
    return 1 + sum((u >= NGRAM_CDF[:, k][room]).astype(np.int64) for k in range(MAX_NGRAM - 1))


def _ngram_words(word_key, word_length, n_words, count, u) -> np.ndarray:
    """Words taken by ngram_spans' placement per row, visiting words by increasing key, n drawn from `u`."""
    slots = word_key.shape[1]
    n = _ngram_lengths(u, np.maximum(n_words[:, None] - np.arange(slots), 0)).tolist()
    order, lengths, n_words = np.argsort(word_key, axis=1).tolist(), word_length.tolist(), n_words.tolist()
    words = []  # flat (row, word) indices of the taken words, scattered at once
    for row, row_count in enumerate(count.tolist()):
        if row_count:
            base = row * slots
            for start, placed, _ in _place_spans(lengths[row], row_count, order[row][:n_words[row]], n[row]):
                words.extend(range(base + start, base + start + placed))
    taken = np.zeros(word_key.size, dtype=bool)
    taken[words] = True
    return taken.reshape(word_key.shape)


def ngram_spans(word_lengths: list[int], count: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """ALBERT's n-gram masking as (first word, words placed, n drawn) spans covering at most `count` tokens.

    As in the reference code, span starts are visited in random word order and each draws n with p(n) ∝ 1/n,
    renormalised over the lengths that fit before the sequence ends. Two departures, both to keep the drawn n
    faithful: a span that would run into an already chosen word is cut short there instead of being dropped (the
    reference drops it, which under-represents long spans), and a span that would overshoot the `count` is cut to
    the whole words that fit, so only the last span of a sequence can be shorter than drawn for that reason."""
    words = len(word_lengths)
    n = _ngram_lengths(rng.random(words), words - np.arange(words))
    return _place_spans(word_lengths, count, rng.permutation(words).tolist(), n.tolist())


def _place_spans(word_lengths: list[int], count: int, visits: list[int], n: list[int]) -> list[tuple[int, int, int]]:
    """The spans of ngram_spans, given the order of visits and the n drawn for each start word."""
    taken = [False] * len(word_lengths)
    spans, total = [], 0
    for start in visits:
        if total >= count:
            break
        if taken[start]:
            continue
        placed = 0  # n[start] never reaches past the last word: it is drawn from the room left
        while placed < n[start] and not taken[start + placed] and total + word_lengths[start + placed] <= count:
            total += word_lengths[start + placed]
            taken[start + placed] = True
            placed += 1
        if placed:
            spans.append((start, placed, n[start]))
    return spans

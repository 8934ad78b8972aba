"""Dynamic MLM masking of one sequence (BERT's 15% with 80/10/10): by token, by whole word, or by ALBERT's n-grams of
whole words."""
import numpy as np

IGNORE = -100  # the label of positions without an MLM target, ignored by PyTorch's cross-entropy
MAX_NGRAM = 3
# ALBERT: span length n in 1..3 words with p(n) proportional to 1/n, i.e. 6/11, 3/11, 2/11.
NGRAM_P = np.array([1 / n for n in range(1, MAX_NGRAM + 1)]) / sum(1 / n for n in range(1, MAX_NGRAM + 1))


def mask_tokens(ids: np.ndarray, candidates: np.ndarray, mask_id: int, random_ids: tuple[int, int], mask_prob: float,
                max_predictions: int, rng: np.random.Generator, continuation: np.ndarray | None = None,
                ngram: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(masked ids, labels) for one sequence `ids`.

    round(mask_prob x number of candidate positions) positions are chosen, at least 1 and at most `max_predictions`,
    only where `candidates` is true (callers exclude [CLS], [SEP] and padding). With `continuation` (true where a
    token continues the word before it, e.g. WordPiece `##`), whole words are chosen together in random order,
    skipping a word that would overshoot the count. With `ngram` too, spans of n whole words are chosen (see
    `ngram_spans`); without `continuation` every token counts as a word. Of the chosen positions 80% become `mask_id`, 10% a uniform id
    in [random_ids[0], random_ids[1]) and 10% stay; labels hold the original id there and IGNORE elsewhere.
    """
    positions = np.flatnonzero(candidates)
    labels = np.full_like(ids, IGNORE)
    if len(positions) == 0:
        return ids.copy(), labels
    count = min(max_predictions, max(1, int(mask_prob * len(positions) + 0.5)))
    if ngram:
        words = _words(positions, continuation)
        spans = ngram_spans([len(w) for w in words], count, rng)
        chosen = np.concatenate([words[i] for start, placed, _ in spans for i in range(start, start + placed)]
                                or [positions[:0]])
    elif continuation is None:
        chosen = rng.permutation(positions)[:count]
    else:
        chosen = _whole_words(positions, continuation, count, rng)
    labels[chosen] = ids[chosen]
    masked = ids.copy()
    fate = rng.random(len(chosen))
    masked[chosen[fate < 0.8]] = mask_id
    replaced = chosen[(fate >= 0.8) & (fate < 0.9)]
    masked[replaced] = rng.integers(random_ids[0], random_ids[1], size=len(replaced))
    return masked, labels


def _words(positions: np.ndarray, continuation: np.ndarray | None) -> list[np.ndarray]:
    """The candidate positions grouped into words: a word starts at a non-continuation token or after a gap."""
    if continuation is None:
        return np.split(positions, np.arange(1, len(positions)))
    starts = ~continuation[positions] | (np.diff(positions, prepend=-2) != 1)
    return np.split(positions, np.flatnonzero(starts)[1:])


def ngram_spans(word_lengths: list[int], count: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """ALBERT's n-gram masking as (first word, words placed, n drawn) spans covering at most `count` tokens.

    As in the reference code, span starts are visited in random word order and each draws n with p(n) ∝ 1/n,
    renormalised over the lengths that fit before the sequence ends. Two departures, both to keep the drawn n
    faithful: a span that would run into an already chosen word is cut short there instead of being dropped (the
    reference drops it, which under-represents long spans), and a span that would overshoot the `count` is cut to
    the whole words that fit, so only the last span of a sequence can be shorter than drawn for that reason."""
    taken = np.zeros(len(word_lengths), dtype=bool)
    spans, total = [], 0
    for start in rng.permutation(len(word_lengths)):
        if total >= count:
            break
        if taken[start]:
            continue
        room = min(MAX_NGRAM, len(word_lengths) - start)
        n = 1 + rng.choice(room, p=NGRAM_P[:room] / NGRAM_P[:room].sum())
        placed = 0
        while placed < n and not taken[start + placed] and total + word_lengths[start + placed] <= count:
            total += word_lengths[start + placed]
            placed += 1
        if placed:
            taken[start:start + placed] = True
            spans.append((int(start), placed, int(n)))
    return spans


def _whole_words(positions: np.ndarray, continuation: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `count` positions made of whole words."""
    words = _words(positions, continuation)
    chosen, total = [], 0
    for w in rng.permutation(len(words)):
        if total + len(words[w]) <= count:
            chosen.append(words[w])
            total += len(words[w])
            if total == count:
                break
    return np.concatenate(chosen) if chosen else positions[:0]

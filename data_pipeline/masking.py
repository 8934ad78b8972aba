"""Dynamic MLM masking of one sequence (BERT's 15% with 80/10/10), by token or by whole word."""
import numpy as np

IGNORE = -100  # the label of positions without an MLM target, ignored by PyTorch's cross-entropy


def mask_tokens(ids: np.ndarray, candidates: np.ndarray, mask_id: int, random_ids: tuple[int, int], mask_prob: float,
                max_predictions: int, rng: np.random.Generator,
                continuation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(masked ids, labels) for one sequence `ids`.

    round(mask_prob x number of candidate positions) positions are chosen, at least 1 and at most `max_predictions`,
    only where `candidates` is true (callers exclude [CLS], [SEP] and padding). With `continuation` (true where a
    token continues the word before it, e.g. WordPiece `##`), whole words are chosen together in random order,
    skipping a word that would overshoot the count. Of the chosen positions 80% become `mask_id`, 10% a uniform id
    in [random_ids[0], random_ids[1]) and 10% stay; labels hold the original id there and IGNORE elsewhere.
    """
    positions = np.flatnonzero(candidates)
    labels = np.full_like(ids, IGNORE)
    if len(positions) == 0:
        return ids.copy(), labels
    count = min(max_predictions, max(1, int(mask_prob * len(positions) + 0.5)))
    if continuation is None:
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


def _whole_words(positions: np.ndarray, continuation: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `count` positions made of whole words; a word starts at a non-continuation or after a gap."""
    starts = ~continuation[positions] | (np.diff(positions, prepend=-2) != 1)
    words = np.split(positions, np.flatnonzero(starts)[1:])
    chosen, total = [], 0
    for w in rng.permutation(len(words)):
        if total + len(words[w]) <= count:
            chosen.append(words[w])
            total += len(words[w])
            if total == count:
                break
    return np.concatenate(chosen) if chosen else positions[:0]

"""ALBERT n-gram masking (spans of 1-3 whole words, p(n) = 6/11, 3/11, 2/11) and the static-mask option."""
import numpy as np
import pytest
import torch

from data_pipeline import PretrainingCollator, SpecialTokens
from data_pipeline.masking import ngram_spans

SPECIAL = SpecialTokens()
VOCAB = 2_000
CONTINUING = range(1_000, VOCAB)  # ids >= 1000 play the role of WordPiece '##' pieces


def test_span_lengths_follow_one_over_n_and_spans_are_disjoint_whole_words():
    rng = np.random.default_rng(0)
    drawn, placed_total, spans_total, tokens = [], 0, 0, 0
    while tokens < 100_000:
        lengths = rng.integers(1, 4, size=300).tolist()  # words of 1-3 tokens
        count = round(0.15 * sum(lengths))
        spans = ngram_spans(lengths, count, rng)
        covered = [w for start, placed, _ in spans for w in range(start, start + placed)]
        assert len(covered) == len(set(covered)), "spans overlap"
        chosen_tokens = sum(lengths[w] for w in covered)
        assert chosen_tokens <= count and chosen_tokens >= count - 2  # only a word too long for the rest is left out
        for start, placed, n in spans:
            assert 1 <= placed <= n <= 3 and start + placed <= len(lengths)
            if start < len(lengths) - 2:  # where all three lengths fit, the draw is unrestricted
                drawn.append(n)
            placed_total += placed == n
            spans_total += 1
        tokens += chosen_tokens
    freq = np.bincount(drawn, minlength=4)[1:] / len(drawn)
    assert np.allclose(freq, [6 / 11, 3 / 11, 2 / 11], atol=0.01), freq
    assert placed_total / spans_total > 0.85  # cutting a span short is the exception


def random_items(n, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        words = [[int(rng.integers(5, 1_000))] + rng.integers(1_000, VOCAB, size=rng.integers(0, 3)).tolist()
                 for _ in range(rng.integers(10, 60))]
        tokens = [t for w in words for t in w]
        cut = int(rng.integers(1, len(tokens)))
        items.append({"index": i, "tokens_a": tokens[:cut], "tokens_b": tokens[cut:], "label": 0})
    return items


def test_ngram_masking_statistics_through_the_collator():
    items = random_items(2_000)
    collator = PretrainingCollator(SPECIAL, VOCAB, max_predictions=512, masking="ngram", seed=3,
                                   continuation_ids=CONTINUING)
    batch = collator(items)
    ids, labels = batch["input_ids"], batch["mlm_labels"]
    chosen = labels >= 0
    candidates = sum(len(it["tokens_a"]) + len(it["tokens_b"]) for it in items)
    assert candidates >= 100_000
    assert abs(chosen.sum().item() / candidates - 0.15) < 0.005
    assert not chosen[ids == SPECIAL.cls].any() and not chosen[batch["attention_mask"] == 0].any()
    original = torch.where(chosen, labels, ids)
    assert not chosen[original == SPECIAL.sep].any()
    masked = (ids[chosen] == SPECIAL.mask).float().mean().item()
    kept = (ids[chosen] == labels[chosen]).float().mean().item()
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1) < 0.01 and abs(1 - masked - kept - 0.1) < 0.01
    # Whole words: a chosen continuation piece always has its word's previous piece chosen too.
    continuing = original >= 1_000
    prev_chosen = torch.nn.functional.pad(chosen[:, :-1], (1, 0))
    prev_is_sep = torch.nn.functional.pad(original[:, :-1] == SPECIAL.sep, (1, 0))
    assert (prev_chosen | prev_is_sep)[chosen & continuing].all()


@pytest.mark.parametrize("masking", ["token", "wwm", "ngram"])
def test_static_masks_repeat_every_epoch_and_dynamic_ones_do_not(masking):
    items = random_items(64, seed=1)
    kwargs = dict(masking=masking, seed=7, continuation_ids=CONTINUING)
    static = PretrainingCollator(SPECIAL, VOCAB, static=True, **kwargs)
    dynamic = PretrainingCollator(SPECIAL, VOCAB, **kwargs)
    epochs = []
    for epoch in (0, 1):
        static.set_epoch(epoch)
        dynamic.set_epoch(epoch)
        epochs.append((static(items)["mlm_labels"], dynamic(items)["mlm_labels"]))
    assert torch.equal(epochs[0][0], epochs[1][0])
    assert torch.equal(epochs[0][0], epochs[0][1])  # static = the epoch-0 mask
    assert not torch.equal(epochs[0][1], epochs[1][1])

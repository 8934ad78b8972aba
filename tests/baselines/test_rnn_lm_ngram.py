"""Interpolated Kneser-Ney on a corpus small enough to work out by hand, and its normalisation."""
import itertools
import math

import numpy as np
import pytest

from modeling.baselines.ngram import KneserNeyLM

VOCAB = ("<unk>", "a", "b", "c")
STREAM = "a b a b c".split()


def test_bigram_probabilities_worked_out_by_hand():
    # D = 1/2. Continuation counts N1+(. w) over the bigram types {ab, ba, bc}: a, b, c once each, 3 in all, so
    # P1(w) = (1 - 1/2)/3 + (1/2)(3/3)(1/4) = 7/24 for a, b, c and (1/2)(1/4) = 1/8 for <unk>.
    lm = KneserNeyLM(STREAM, VOCAB, order=2, discount=0.5)
    assert lm.prob("a") == pytest.approx(7 / 24)
    assert lm.prob("<unk>") == pytest.approx(1 / 8)
    # c(a b) = 2, c(a .) = 2, N1+(a .) = 1: P(b|a) = 1.5/2 + (1/2)(1/2)(7/24) = 79/96; P(a|a) = (1/4)(7/24).
    assert lm.prob("b", ["a"]) == pytest.approx(79 / 96)
    assert lm.prob("a", ["a"]) == pytest.approx(7 / 96)
    assert lm.prob("<unk>", ["a"]) == pytest.approx(3 / 96)
    # b is followed by a and c once each: P(a|b) = 0.5/2 + (1/2)(2/2)(7/24) = 19/48.
    assert lm.prob("a", ["b"]) == pytest.approx(19 / 48)
    # c and <unk> are never followed by anything: their histories fall through to the unigram level.
    assert lm.prob("b", ["c"]) == pytest.approx(7 / 24)
    assert lm.prob("b", ["<unk>"]) == pytest.approx(7 / 24)


def test_trigram_uses_continuation_counts_below_the_top_order():
    lm = KneserNeyLM(STREAM, VOCAB, order=3, discount=0.5)
    # Bigram level from continuation counts: (b,a) and (b,c) each preceded by one distinct word, so
    # P2(c|b) = 0.5/2 + (1/2)(2/2)(7/24) = 19/48; trigram (a,b) is followed by a and c once each:
    # P3(c|a b) = 0.5/2 + (1/2)(2/2)(19/48) = 43/96.
    assert lm.prob("c", ["a", "b"]) == pytest.approx(43 / 96)
    assert lm.prob("c", ["x", "a", "b"]) == pytest.approx(43 / 96)  # only the last order-1 words count


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_history_gives_a_distribution_over_the_vocabulary(order):
    rng = np.random.default_rng(0)
    vocab = ["<unk>", "<eos>"] + [f"w{i}" for i in range(6)]
    stream = list(rng.choice(vocab[1:7], size=300, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05]))  # w5 never occurs
    lm = KneserNeyLM(stream, vocab, order=order)
    assert all(0 < d < 1 for d in lm.discounts[1:])
    for history in itertools.chain([()], itertools.product(vocab, repeat=min(order - 1, 2))):
        probs = [lm.prob(w, history) for w in vocab]
        assert min(probs) > 0
        assert sum(probs) == pytest.approx(1.0, abs=1e-12), history


def test_perplexity_is_exp_of_the_mean_negative_log_probability():
    lm = KneserNeyLM(STREAM, VOCAB, order=2, discount=0.5)
    held_out = "a b c a".split()
    expected = math.exp(-(math.log(79 / 96) + math.log(lm.prob("c", ["b"])) + math.log(7 / 24)) / 3)
    assert lm.perplexity(held_out) == pytest.approx(expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        KneserNeyLM(["a", "z"], VOCAB)
    with pytest.raises(ValueError, match="discount must be in"):
        KneserNeyLM(STREAM, VOCAB, discount=1.5)

"""Greedy and beam search against their definitions: beam 1 is greedy, and on a toy model whose probabilities are
known, beam search finds what greedy misses and, wide enough, the best sequence of an exhaustive search. Also
the Noam schedule and BLEU against their formulas."""
import itertools
import math

import pytest
import torch

from baselines.seq2seq import Seq2SeqRunConfig, bleu, lr_factor
from modeling.baselines.decoding import beam_search, greedy_decode, length_penalty
from modeling.baselines.seq2seq import BOS, EOS, PAD, Seq2SeqConfig, Seq2SeqModel
from test_seq2seq_transformer import SRC, tiny

A, B = 4, 5  # the toy's two words


def toy_probabilities(prefix: tuple[int, ...]) -> dict[int, float]:
    """Greedy takes A (0.6), but B then ends at once (0.9): "B" (0.36) beats every sentence starting with A,
    unless a strong length penalty favours long ones."""
    if not prefix:
        return {A: 0.6, B: 0.4}
    if prefix == (B,):
        return {EOS: 0.9, A: 0.05, B: 0.05}
    if prefix == (A,):  # beam 1 must not end here: <eos> is only the second best (0.45)
        return {A: 0.55, EOS: 0.45}
    if prefix[-1] == B:
        return {EOS: 0.6, A: 0.2, B: 0.2}
    return {A: 0.45, B: 0.35, EOS: 0.2}


class Toy(Seq2SeqModel):
    """Its next-token distribution depends on the target prefix alone (the source is ignored)."""

    def encode(self, src_ids, src_mask):
        return (src_ids.float(),)

    def decode(self, memory, src_mask, tgt_in):
        logits = torch.full((*tgt_in.shape, 6), -math.inf)
        for b, row in enumerate(tgt_in.tolist()):
            for t in range(len(row)):
                for token, p in toy_probabilities(tuple(row[1:t + 1])).items():
                    logits[b, t, token] = math.log(p)
        return logits


def toy() -> Toy:
    return Toy(Seq2SeqConfig(vocab_size=6))


def exhaustive_best(max_len: int, alpha: float) -> list[int]:
    """Score every sentence of up to max_len tokens as beam search does: finished ones by log P / lp(words + 1),
    ones cut at the length limit by log P / lp(max_len)."""
    best, best_score = None, -math.inf
    for n in range(max_len + 1):
        for words in itertools.product((A, B), repeat=n):
            if any(w not in toy_probabilities(words[:i]) for i, w in enumerate(words)):
                continue  # impossible
            logp = sum(math.log(toy_probabilities(words[:i])[w]) for i, w in enumerate(words))
            if n < max_len:
                if EOS not in toy_probabilities(words):
                    continue  # it cannot end here
                score = (logp + math.log(toy_probabilities(words)[EOS])) / length_penalty(n + 1, alpha)
            else:
                score = logp / length_penalty(n, alpha)
            if score > best_score:
                best, best_score = list(words), score
    return best


SOURCES = torch.tensor([[7, EOS], [8, EOS]])


def test_greedy_misses_what_beam_search_finds_on_the_toy():
    assert greedy_decode(toy(), SOURCES, max_len=5)[0] == [A] * 5
    assert beam_search(toy(), SOURCES, beam=2, alpha=0.0, max_len=5) == [[B], [B]]
    assert beam_search(toy(), SOURCES, beam=1, alpha=0.0, max_len=5) == [[A] * 5] * 2


@pytest.mark.parametrize("alpha", [0.0, 0.6, 4.0])
def test_a_wide_beam_finds_the_exhaustive_best(alpha):
    best = exhaustive_best(5, alpha)
    assert beam_search(toy(), SOURCES, beam=64, alpha=alpha, max_len=5) == [best, best]


def test_the_length_penalty_can_change_the_best():
    assert exhaustive_best(5, 0.0) == [B] and len(exhaustive_best(5, 4.0)) > 1


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_one_is_greedy_on_a_real_model(alpha):
    model = tiny()
    sources = torch.cat([SRC, torch.tensor([[12, 13, 14, 15, EOS]])])
    assert beam_search(model, sources, beam=1, alpha=alpha, max_len=9) == greedy_decode(model, sources, max_len=9)


def test_decoded_rows_hold_no_special_tokens_and_each_row_is_its_own():
    model = tiny()
    together = beam_search(model, SRC, beam=3, max_len=9)
    alone = [beam_search(model, SRC[i:i + 1, :int((SRC[i] != PAD).sum())], beam=3, max_len=9)[0] for i in range(2)]
    assert together == alone  # padding and the other rows change nothing
    assert not {BOS, EOS, PAD} & {t for row in together for t in row}


def test_noam_schedule_follows_its_formula():
    cfg = Seq2SeqRunConfig(data_dir="x", warmup=400)
    factor = lr_factor(cfg, tiny().config, steps_per_epoch=100)
    for step in (1, 10, 399, 400, 401, 1000, 5000):
        expected = 16 ** -0.5 * min(step ** -0.5, step * 400 ** -1.5)
        assert factor(step - 1) == pytest.approx(expected, rel=1e-12)
    assert max(range(2000), key=factor) == 399  # the peak is at the warmup's end


def test_halving_schedule():
    cfg = Seq2SeqRunConfig(data_dir="x", arch="sutskever", optimizer="sgd", schedule="halving", lr=0.7, halve_after=2, halve_every=0.5)
    factor = lr_factor(cfg, None, steps_per_epoch=10)
    assert [factor(s) for s in (0, 19, 20, 24, 25, 30)] == [1, 1, 0.5, 0.5, 0.25, 0.125]


def test_bleu_against_its_definition():
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100)
    # n-gram precisions 4/5, 3/4, 2/3, 1/2; no brevity penalty.
    assert bleu(["a b c d e"], ["a b c d f"]) == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    # Shorter than the reference (5 words for 6): brevity penalty exp(1 - 6/5); 13a splits the final period.
    hyp, ref = "a b c d.", "a b c d e."
    precision = (5 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    assert bleu([hyp], [ref]) == pytest.approx(100 * math.exp(1 - 6 / 5) * precision)

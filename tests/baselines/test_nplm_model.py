"""The neural probabilistic LM (Bengio et al. 2003): y = b + W x + U tanh(d + H x) over the n-1 previous words,
the direct connections, the windows and the perplexity over a stream."""
import math

import pytest
import torch
import torch.nn.functional as F

from modeling.baselines.nplm import NeuralProbabilisticLM, NplmConfig, contexts, window_perplexity

V, N, M, H = 13, 4, 3, 5


def tiny_model(direct=True, **kw):
    torch.manual_seed(0)
    model = NeuralProbabilisticLM(NplmConfig(V, order=N, embedding_size=M, hidden_size=H, direct=direct, **kw))
    with torch.no_grad():  # biases start at 0: give them values, so a missing bias would show
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-1, 1)
    return model


def by_the_formula(model, context, scales=None):
    """y = b + W x + U tanh(d + H x), x the concatenated features of the context's words, oldest first (each
    multiplied by its scale, when given)."""
    C = model.C.weight
    x = torch.cat([C[w] * (1.0 if scales is None else scales[i]) for i, w in enumerate(context)])
    y = model.U.bias + model.U.weight @ torch.tanh(model.H.bias + model.H.weight @ x)
    return y + model.W.weight @ x if model.W is not None else y


@pytest.mark.parametrize("direct", [True, False])
def test_logits_and_loss_follow_the_formula(direct):
    model = tiny_model(direct).eval()
    rows = torch.tensor([[1, 2, 3], [3, 2, 1], [0, 0, 12]])
    labels = torch.tensor([4, 5, 6])
    out = model(rows, labels)
    expected = torch.stack([by_the_formula(model, r) for r in rows])
    torch.testing.assert_close(out.logits, expected)
    torch.testing.assert_close(out.loss, F.cross_entropy(expected, labels))
    assert int(out.token_total) == 3
    assert (model.W is not None) == direct
    inputs = (N - 1) * M
    assert model.num_parameters() == V * M + inputs * H + H + H * V + V + (V * inputs if direct else 0)


def test_direct_connections_add_exactly_the_W_term():
    with_w, without = tiny_model(direct=True).eval(), tiny_model(direct=False).eval()
    without.load_state_dict({k: v for k, v in with_w.state_dict().items() if not k.startswith("W.")})
    rows = torch.randint(0, V, (6, N - 1))
    x = with_w.C(rows).flatten(1)
    torch.testing.assert_close(with_w(rows).logits - without(rows).logits, x @ with_w.W.weight.T)


def test_contexts_are_the_previous_words_padded_at_the_start():
    ids = torch.tensor([7, 8, 9, 10, 11])
    rows = contexts(ids, order=N, pad=0)
    # Row j predicts ids[j + 1] from the 3 ids before it.
    assert rows.tolist() == [[0, 0, 7], [0, 7, 8], [7, 8, 9], [8, 9, 10]]
    assert contexts(ids, order=2, pad=0).tolist() == [[7], [8], [9], [10]]


def test_a_prediction_sees_its_window_and_nothing_else():
    model = tiny_model().eval()
    ids = torch.randint(1, V, (12,))
    t = 8  # the target ids[t] is predicted from ids[t-3:t]
    logits = lambda stream: model(contexts(stream, N, 0)).logits[t - 1]  # noqa: E731
    before = logits(ids)
    for position in (t, t + 1, t - N, 0):  # the target, a later word, the words before the window
        changed = ids.clone()
        changed[position] = (changed[position] + 1) % V
        torch.testing.assert_close(logits(changed), before, rtol=0, atol=0)
    for position in range(t - N + 1, t):  # each word of the window matters
        changed = ids.clone()
        changed[position] = (changed[position] + 1) % V
        assert not torch.allclose(logits(changed), before), position


@pytest.mark.parametrize("batch", [1, 5, 100])
def test_window_perplexity_is_exp_mean_nll_of_every_id_after_the_first(batch):
    model = tiny_model(dropout=0.5)
    ids = torch.randint(0, V, (30,))
    with torch.no_grad():
        nll = [-F.log_softmax(by_the_formula(model, ([2] * N + ids[:j].tolist())[-(N - 1):]), -1)[ids[j]]
               for j in range(1, 30)]
    assert window_perplexity(model, ids, pad=2, batch=batch) == pytest.approx(math.exp(sum(nll) / 29), rel=1e-5)
    assert model.training  # dropout was off for the evaluation only


def test_dropout_acts_in_training_only_and_save_load_round_trips(tmp_path):
    model = tiny_model(dropout=0.5)
    rows = torch.randint(0, V, (4, N - 1))
    assert not torch.allclose(model(rows).logits, model(rows).logits)
    model.eval()
    model.save_pretrained(tmp_path)
    loaded = NeuralProbabilisticLM.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(loaded(rows).logits, model(rows).logits)
    with pytest.raises(ValueError, match="order-1 = 3 words"):
        model(torch.zeros(2, N, dtype=torch.long))


def test_word_dropout_drops_whole_context_words_in_training_only():
    model = tiny_model(word_dropout=0.5)  # dropout 0: only whole words are dropped
    context = torch.tensor([1, 2, 3])
    masks = [tuple(bool(m >> i & 1) for i in range(N - 1)) for m in range(2 ** (N - 1))]
    # The formula with the dropped words' features zeroed, the kept ones scaled by 1/(1-p).
    expected = {mask: by_the_formula(model, context, [2.0 if k else 0.0 for k in mask]).detach() for mask in masks}
    torch.manual_seed(1)
    with torch.no_grad():
        rows = model(context.repeat(800, 1)).logits
    seen = []
    for row in rows:
        (mask,) = [m for m, e in expected.items() if torch.allclose(row, e, atol=1e-5)]
        seen.append(mask)
    for mask in masks:  # each word kept or dropped alone, p = 0.5: every mask about 1/8 of the rows
        assert 60 < seen.count(mask) < 140, (mask, seen.count(mask))
    model.eval()
    torch.testing.assert_close(model(context[None]).logits[0], by_the_formula(model, context))

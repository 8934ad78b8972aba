"""The self-attentive sentence embedding (Lin et al. 2017): A against the paper's formula sentence by sentence, its
rows summing to 1 with no weight on padding, M = AH feeding the MLP, and the penalty ||AA^T - I||_F^2 by hand and in
the loss and its gradient."""
import pytest
import torch
import torch.nn.functional as F

from modeling.baselines.self_attentive import SelfAttentiveClassifier, SelfAttentiveConfig, frobenius_penalty


def small(**kw):
    torch.manual_seed(0)
    config = SelfAttentiveConfig(vocab_size=12, num_labels=3, embedding_size=5, hidden_size=4, attention_size=6,
                                 attention_rows=3, mlp_size=7, **{"dropout": 0.0, **kw})
    return SelfAttentiveClassifier(config).double()


def batch():
    ids = torch.tensor([[3, 4, 5, 6, 7], [2, 11, 0, 0, 0], [5, 0, 0, 0, 0]])
    return ids, (ids != 0).long()


def test_attention_is_the_formula_on_each_sentence_alone():
    """A = softmax(W_s2 tanh(W_s1 H^T)) over the n positions of the sentence by itself, H its BiLSTM states; the
    padded batch gives the same rows and zero weight beyond each sentence."""
    model = small().eval()
    ids, mask = batch()
    with torch.no_grad():
        _, attention = model.encode(ids, mask)
        for b, n in enumerate(mask.sum(1).tolist()):
            alone = ids[b:b + 1, :n]
            h, _ = model.lstm(model.embedding(alone))
            h = h[0]  # [n, 2u]
            expected = torch.softmax(model.ws2.weight @ torch.tanh(model.ws1.weight @ h.T), dim=1)  # [r, n]
            torch.testing.assert_close(attention[b, :, :n], expected, rtol=1e-10, atol=1e-12)
            assert torch.all(attention[b, :, n:] == 0)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3, 3, dtype=torch.double))


def test_m_equals_a_times_h_and_feeds_the_mlp():
    model = small().eval()
    ids, mask = batch()
    seen = []
    model.hidden.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    with torch.no_grad():
        out = model(ids, mask)
        states, attention = model.encode(ids, mask)
    for b in range(len(ids)):
        m = torch.stack([sum(attention[b, i, t] * states[b, t] for t in range(ids.shape[1]))
                         for i in range(3)])  # row i: sum_t a_it h_t
        torch.testing.assert_close(seen[0][b], m.flatten(), rtol=1e-10, atol=1e-12)
    expected = model.classifier(F.relu(model.hidden(seen[0])))
    torch.testing.assert_close(out.logits, expected)


def test_padding_of_the_batch_does_not_change_a_prediction():
    model = small().eval()
    ids, mask = batch()
    with torch.no_grad():
        together = model(ids, mask).logits
        for b, n in enumerate(mask.sum(1).tolist()):
            alone = model(ids[b:b + 1, :n], mask[b:b + 1, :n]).logits
            torch.testing.assert_close(together[b:b + 1], alone, rtol=1e-10, atol=1e-12)


def test_penalty_by_hand():
    one_hot = torch.tensor([[[1.0, 0, 0], [0, 0, 1.0]]])  # rows on different words: AA^T = I
    assert frobenius_penalty(one_hot).item() == 0
    same_word = torch.tensor([[[1.0, 0, 0], [1.0, 0, 0]]])  # AA^T = [[1, 1], [1, 1]]: off-diagonal 1s
    assert frobenius_penalty(same_word).item() == pytest.approx(2.0)
    spread = torch.tensor([[[0.5, 0.5, 0], [0.5, 0.5, 0]]])  # AA^T all 0.5: (0.5 - 1)^2 * 2 + 0.5^2 * 2
    assert frobenius_penalty(spread).item() == pytest.approx(1.0)
    rows = torch.tensor([[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]])  # AA^T = [[0.54, 0.19], [0.19, 0.46]]
    expected = (0.54 - 1) ** 2 + (0.46 - 1) ** 2 + 2 * 0.19 ** 2
    assert frobenius_penalty(rows).item() == pytest.approx(expected)
    assert frobenius_penalty(torch.cat([one_hot, same_word])).tolist() == pytest.approx([0.0, 2.0])


def test_the_loss_adds_the_penalty_times_its_coefficient_and_it_moves_the_gradient():
    ids, mask = batch()
    labels = torch.tensor([0, 1, 2])
    grads, losses = {}, {}
    for c in (0.0, 1.0, 2.0):
        model = small(penalty=c)
        out = model(ids, mask, labels)
        _, attention = model.encode(ids, mask)
        penalty = frobenius_penalty(attention).mean()
        torch.testing.assert_close(out.penalty_loss, penalty.detach())
        torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, labels) + c * penalty)
        out.loss.backward()
        grads[c], losses[c] = model.ws1.weight.grad.clone(), out.loss.item()
    assert losses[1.0] > losses[0.0] and not torch.allclose(grads[1.0], grads[0.0])
    torch.testing.assert_close(grads[2.0] - grads[0.0], 2 * (grads[1.0] - grads[0.0]))  # linear in c

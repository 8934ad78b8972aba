"""The recurrent sequence classifier: padding does not change a prediction, and it learns an order-dependent task
that a bag of words cannot solve."""
import pytest
import torch

from modeling.baselines.rnn_classifier import RecurrentClassifier, RecurrentClassifierConfig


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padding_does_not_change_the_logits(cell):
    torch.manual_seed(0)
    model = RecurrentClassifier(RecurrentClassifierConfig(9, 3, cell, 8, 6, num_layers=2)).eval()
    ids = torch.tensor([[3, 4, 5]])
    padded = torch.tensor([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6]])
    alone = model(ids, torch.ones_like(ids)).logits
    batch = model(padded, (padded != 0).long()).logits
    torch.testing.assert_close(batch[:1], alone, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_learns_which_of_two_tokens_comes_first(cell):
    """Label 1 when token 1 precedes token 2: both always occur, so word counts carry no signal, only order."""
    gen = torch.Generator().manual_seed(0)

    def make(n):
        ids = torch.randint(3, 10, (n, 8), generator=gen)
        lengths = torch.randint(4, 9, (n,), generator=gen)
        labels = torch.zeros(n, dtype=torch.long)
        for i in range(n):
            a, b = torch.randperm(int(lengths[i]), generator=gen)[:2].tolist()
            ids[i, a], ids[i, b] = 1, 2
            labels[i] = int(a < b)
            ids[i, lengths[i]:] = 0
        return ids, (ids != 0).long(), labels

    torch.manual_seed(0)
    model = RecurrentClassifier(RecurrentClassifierConfig(10, 2, cell, 16, 24, dropout=0.0))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(100):
        ids, mask, labels = make(32)
        loss = model(ids, mask, labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    ids, mask, labels = make(500)
    out = model.eval()(ids, mask, labels)
    assert out.label_correct.item() / 500 > 0.95

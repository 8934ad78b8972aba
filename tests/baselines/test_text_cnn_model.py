"""Kim's text CNN: shapes, the pooled features against a plain loop over windows, padding invariance, the max-norm
constraint after Adadelta steps, the frozen static channel and the two channels of multichannel."""
import numpy as np
import pytest
import torch

from modeling.baselines.text_cnn import TextCNN, TextCNNConfig, adadelta_with_max_norm, starting_vectors
from modeling.baselines.word_vectors import WordVectors


def small(mode="rand", **kw):
    torch.manual_seed(0)
    cfg = TextCNNConfig(vocab_size=12, num_labels=3, mode=mode, embedding_size=6, num_filters=4, **kw)
    vectors = None if mode == "rand" else np.random.default_rng(0).normal(size=(12, 6)).astype(np.float32)
    return TextCNN(cfg, vectors)


def batch():
    ids = torch.tensor([[3, 4, 5, 6, 7, 8, 9], [2, 11, 0, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0, 0]])
    return ids, (ids != 0).long()


@pytest.mark.parametrize("mode", ["rand", "static", "non-static", "multichannel"])
def test_shapes_and_engine_outputs(mode):
    model = small(mode)
    ids, mask = batch()
    out = model(ids, mask, torch.tensor([0, 1, 2]))
    assert out.logits.shape == (3, 3)
    assert model.features(ids, mask).shape == (3, 3 * 4)
    assert out.loss.ndim == 0 and out.label_total.item() == 3 and 0 <= out.label_correct.item() <= 3
    assert model(ids, mask).loss is None


@pytest.mark.parametrize("mode", ["rand", "multichannel"])
def test_max_over_time_pooling_equals_a_loop_over_windows(mode):
    """For each sentence alone: zero-pad it by max_width - 1 on both sides, slide each filter over every window,
    take ReLU(w . window + b) and keep the largest; the batched features must equal that."""
    model = small(mode).eval().requires_grad_(False)
    ids, mask = batch()
    got = model.features(ids, mask)
    pad = max(model.config.filter_widths) - 1
    for b in range(len(ids)):
        words = ids[b, :int(mask[b].sum())]
        channels = torch.stack([emb.weight[words] for emb in model.embeddings])  # [C, n, d]
        zeros = torch.zeros(channels.shape[0], pad, channels.shape[2])
        padded = torch.cat([zeros, channels, zeros], 1)
        expected = []
        for conv, width in zip(model.convs, model.config.filter_widths):
            for f in range(conv.out_channels):
                best = -float("inf")
                for t in range(padded.shape[1] - width + 1):
                    kernel = conv.weight[f].view(len(channels), -1, width).transpose(1, 2)  # [C, width, d]
                    value = float((kernel * padded[:, t:t + width]).sum() + conv.bias[f])
                    best = max(best, max(value, 0.0))
                expected.append(best)
        torch.testing.assert_close(got[b], torch.tensor(expected), atol=1e-5, rtol=1e-5)


def window_values(model, words) -> list[list[float]]:
    """Per filter (widths in order), w . window + b over every window of the sentence zero-padded by max_width - 1."""
    pad = max(model.config.filter_widths) - 1
    channels = torch.stack([emb.weight[words] for emb in model.embeddings])
    zeros = torch.zeros(channels.shape[0], pad, channels.shape[2])
    padded = torch.cat([zeros, channels, zeros], 1)
    return [[float((conv.weight[f].view(len(channels), -1, width).transpose(1, 2) * padded[:, t:t + width]).sum()
                   + conv.bias[f]) for t in range(padded.shape[1] - width + 1)]
            for conv, width in zip(model.convs, model.config.filter_widths) for f in range(conv.out_channels)]


FUNCTIONS = {"relu": lambda x: max(x, 0.0), "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
             "softplus": lambda x: np.log1p(np.exp(x)), "cube": lambda x: x ** 3, "tanh_cube": lambda x: np.tanh(x ** 3),
             "identity": lambda x: x}
POOLS = {"max": lambda v: [max(v)], "mean": lambda v: [sum(v) / len(v)],
         "kmax3": lambda v: (sorted(v, reverse=True) + [0.0] * 3)[:3]}


@pytest.mark.parametrize("pooling", list(POOLS))
@pytest.mark.parametrize("activation", list(FUNCTIONS))
def test_zhang_wallace_activations_and_poolings_equal_a_loop_over_windows(activation, pooling):
    """The sensitivity analysis' alternatives, per sentence alone: the activation of every window, then the pooling
    over that sentence's windows only (k-max: the K largest in decreasing order, zeros where there are fewer)."""
    model = small(activation=activation, pooling=pooling).eval().requires_grad_(False)
    ids, mask = batch()
    got = model.features(ids, mask)
    assert got.shape == (3, 3 * 4 * (3 if pooling == "kmax3" else 1))
    for b in range(len(ids)):
        per_filter = window_values(model, ids[b, :int(mask[b].sum())])
        expected = [p for v in per_filter for p in POOLS[pooling]([FUNCTIONS[activation](x) for x in v])]
        torch.testing.assert_close(got[b], torch.tensor(expected, dtype=torch.float32), atol=1e-4, rtol=1e-4)


def test_k_max_pooling_of_more_than_the_batch_has_windows():
    model = small(pooling="kmax20", filter_widths=(2,), activation="identity").eval().requires_grad_(False)
    ids, mask = batch()
    got = model.features(ids, mask).view(3, 4, 20)
    assert (got[2, :, 2:] == 0).all() and (got[0, :, :8] != 0).all()  # 1 word: 2 windows; 7 words: 8


def test_padding_of_the_batch_does_not_change_a_prediction():
    model = small().eval()
    alone = torch.tensor([[2, 11]])
    ids, mask = batch()
    torch.testing.assert_close(model(ids, mask).logits[1:2], model(alone, torch.ones_like(alone)).logits)


def test_max_norm_rescales_only_the_rows_above_it_after_each_step():
    model = small(max_norm=3.0)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.randn(3, 12))
        model.classifier.weight[0] *= 10 / model.classifier.weight[0].norm()  # far above 3
        model.classifier.weight[1] *= 1 / model.classifier.weight[1].norm()  # below 3
    optimizer = adadelta_with_max_norm(model)
    ids, mask = batch()
    before = model.classifier.weight.detach().clone()
    model(ids, mask, torch.tensor([0, 1, 2])).loss.backward()
    grad = model.classifier.weight.grad.clone()
    # Adadelta's first step (rho 0.95, eps 1e-6) for the output weights, computed by hand, then the constraint.
    square = 0.05 * grad ** 2
    update = (1e-6) ** 0.5 / (square + 1e-6).sqrt() * grad
    stepped = before - update
    norms = stepped.norm(dim=1, keepdim=True)
    expected = torch.where(norms > 3, stepped * 3 / norms, stepped)
    optimizer.step()
    torch.testing.assert_close(model.classifier.weight.detach(), expected, atol=1e-6, rtol=1e-5)
    assert model.classifier.weight[0].norm().item() == pytest.approx(3.0, rel=1e-5)
    assert model.classifier.weight[1].norm().item() < 3


def test_static_channel_is_frozen_and_multichannel_has_two_channels():
    static, multi = small("static"), small("multichannel")
    assert len(static.embeddings) == 1 and len(multi.embeddings) == 2
    assert [c.in_channels for c in multi.convs] == [2 * 6] * 3  # both channels' dimensions
    torch.testing.assert_close(multi.embeddings[0].weight, multi.embeddings[1].weight)  # both start pretrained
    frozen_static = static.embeddings[0].weight.detach().clone()
    frozen_multi = multi.embeddings[0].weight.detach().clone()
    ids, mask = batch()
    for model in (static, multi):
        optimizer = adadelta_with_max_norm(model)
        for _ in range(3):
            optimizer.zero_grad()
            model(ids, mask, torch.tensor([0, 1, 2])).loss.backward()
            optimizer.step()
    assert static.embeddings[0].weight.grad is None and multi.embeddings[0].weight.grad is None
    torch.testing.assert_close(static.embeddings[0].weight, frozen_static, rtol=0, atol=0)
    torch.testing.assert_close(multi.embeddings[0].weight, frozen_multi, rtol=0, atol=0)
    assert not torch.equal(multi.embeddings[1].weight[3], frozen_multi[3])  # the non-static channel moved
    assert torch.count_nonzero(multi.embeddings[1].weight[0]) == 0  # the padding vector stays zero


def test_starting_vectors_take_pretrained_rows_and_fill_the_rest_uniformly():
    pretrained = WordVectors(["good", "bad"], np.array([[1, 2], [3, 4]], np.float32))
    rows, found = starting_vectors(["<pad>", "bad", "meh", "good"], pretrained, 0.25, np.random.default_rng(0))
    assert found == 2
    np.testing.assert_array_equal(rows[1], [3, 4])
    np.testing.assert_array_equal(rows[3], [1, 2])
    assert np.all(np.abs(rows[2]) <= 0.25)


def test_save_and_load_round_trip(tmp_path):
    model = small("multichannel").eval()
    model.save_pretrained(tmp_path)
    loaded = TextCNN.from_pretrained(tmp_path).eval()
    ids, mask = batch()
    torch.testing.assert_close(loaded(ids, mask).logits, model(ids, mask).logits, rtol=0, atol=0)
    assert not loaded.embeddings[0].weight.requires_grad


def test_pretrained_modes_need_vectors():
    with pytest.raises(ValueError, match="needs pretrained vectors"):
        TextCNN(TextCNNConfig(vocab_size=5, mode="static"))

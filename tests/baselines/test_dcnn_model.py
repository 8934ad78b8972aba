"""The DCNN's defining operations against direct references: wide convolution (length s + m - 1, each row with its
own filter, checked by hand), folding, dynamic k-max pooling (the k largest in their original order, k per layer
with the k_top floor, padding never chosen), and a whole network whose predictions do not depend on its batch."""
import math

import pytest
import torch

from modeling.baselines.dcnn import DCNN, DCNNConfig, dynamic_k, fold, k_max_pool, wide_convolution


def test_wide_convolution_is_each_rows_full_convolution():
    # One sentence, d = 2 rows, one map in and out, s = 3, m = 2: output length s + m - 1 = 4.
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).reshape(1, 2, 1, 3)
    weight = torch.tensor([[[10.0, 1.0]], [[2.0, -1.0]]])  # [d * n_out, n_in, m]: row 0's filter, row 1's
    out = wide_convolution(x, weight)
    assert out.shape == (1, 2, 1, 4)
    # c_j = sum_k w_k x_{j-k} (the paper's convolution, x zero outside 1..s): row 0 [10, 21, 32, 3]
    assert out[0, 0, 0].tolist() == [10.0, 21.0, 32.0, 3.0]
    assert out[0, 1, 0].tolist() == [8.0, 6.0, 7.0, -6.0]


def test_wide_convolution_sums_every_input_map_and_matches_numpy():
    import numpy as np

    g = torch.Generator().manual_seed(0)
    b, d, n_in, n_out, s, m = 2, 4, 3, 5, 6, 3
    x, weight = torch.randn(b, d, n_in, s, generator=g), torch.randn(d * n_out, n_in, m, generator=g)
    out = wide_convolution(x, weight)
    assert out.shape == (b, d, n_out, s + m - 1)
    w = weight.reshape(d, n_out, n_in, m)
    for i in range(b):
        for r in range(d):
            for j in range(n_out):
                expected = sum(np.convolve(x[i, r, k].numpy(), w[r, j, k].numpy(), mode="full") for k in range(n_in))
                np.testing.assert_allclose(out[i, r, j].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_folding_sums_adjacent_rows():
    x = torch.arange(2 * 6 * 3 * 5, dtype=torch.float32).reshape(2, 6, 3, 5)
    folded = fold(x)
    assert folded.shape == (2, 3, 3, 5)
    for r in range(3):
        torch.testing.assert_close(folded[:, r], x[:, 2 * r] + x[:, 2 * r + 1])


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_dynamic_k_follows_the_formula_with_the_k_top_floor(layers):
    lengths = torch.arange(1, 40)
    for layer in range(1, layers + 1):
        k = dynamic_k(layer, layers, lengths, 4)
        assert k.tolist() == [max(4, math.ceil((layers - layer) / layers * s)) for s in range(1, 40)]
    assert dynamic_k(layers, layers, lengths, 4).eq(4).all()  # the top layer keeps k_top
    # The paper's example (section 3.3): L = 3, k_top = 3, s = 18 give k_1 = 12, k_2 = 6, k_3 = 3.
    assert [dynamic_k(l, 3, torch.tensor([18]), 3).item() for l in (1, 2, 3)] == [12, 6, 3]


def reference_k_max(row, length, k):
    """The k largest of row[:length] (all of them if fewer) in their original order, padded with zeros to width."""
    values = row[:length].tolist()
    keep = sorted(sorted(range(length), key=lambda i: -values[i])[:k])
    return [values[i] for i in keep]


def test_k_max_pooling_keeps_the_largest_in_their_order_and_never_padding():
    g = torch.Generator().manual_seed(1)
    b, d, n, t = 5, 3, 2, 9
    x = torch.randn(b, d, n, t, generator=g)
    lengths = torch.tensor([9, 6, 2, 4, 7])
    x[1, :, :, 6:] = 100.0  # padding larger than everything: must never be chosen
    x[3, :, :, 4:] = 50.0
    k = torch.tensor([3, 5, 4, 4, 1])
    pooled, kept = k_max_pool(x, lengths, k)
    assert kept.tolist() == [3, 5, 2, 4, 1]  # a sentence shorter than k keeps all it has
    assert pooled.shape == (b, d, n, 5)
    for i in range(b):
        for r in range(d):
            for j in range(n):
                expected = reference_k_max(x[i, r, j], int(lengths[i]), int(k[i]))
                assert pooled[i, r, j, :len(expected)].tolist() == expected
                assert pooled[i, r, j, len(expected):].eq(0).all()
    assert pooled.max() < 50


def test_k_max_pooling_order_is_by_position_not_by_value():
    x = torch.tensor([1.0, 9.0, 3.0, 7.0, 8.0, 2.0]).reshape(1, 1, 1, 6)
    pooled, _ = k_max_pool(x, torch.tensor([6]), torch.tensor([3]))
    assert pooled.flatten().tolist() == [9.0, 7.0, 8.0]


def test_layer_shapes_follow_the_paper():
    model = DCNN(DCNNConfig(vocab_size=50))  # d 48, widths 7 and 5, maps 6 and 14, k_top 4, folding at the top
    assert [tuple(f.shape) for f in model.filters] == [(48 * 6, 1, 7), (48 * 14, 6, 5)]
    assert model.classifier.in_features == 24 * 14 * 4
    ids = torch.randint(2, 50, (3, 11))
    assert model.features(ids, torch.ones_like(ids)).shape == (3, 24 * 14 * 4)


@pytest.mark.parametrize("k_top, widths", [(4, (7, 5)), (6, (3, 2))])  # the second: sentences shorter than k_top
def test_predictions_do_not_depend_on_the_batch(k_top, widths):
    torch.manual_seed(0)
    model = DCNN(DCNNConfig(vocab_size=30, embedding_size=8, filter_widths=widths, feature_maps=(3, 4),
                            k_top=k_top)).eval()
    for bias in model.biases:  # biases start at zero; tanh(bias) under the padding would leak into the next layer
        torch.nn.init.uniform_(bias, -1, 1)
    sentences = [[5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], [3], [4, 9], [20, 21, 22, 23, 24]]
    width = max(map(len, sentences))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in sentences])
    mask = (ids > 0).long()
    ids = ids.masked_fill(mask == 0, 7)  # whatever sits under the padding must not matter
    together = model(ids, mask).logits
    for i, s in enumerate(sentences):
        alone = model(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.long)).logits
        torch.testing.assert_close(together[i], alone[0], rtol=1e-5, atol=1e-6)
    assert torch.isfinite(together).all()

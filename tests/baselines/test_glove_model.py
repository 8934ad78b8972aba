"""GloVe's model against its formulas: the weighting f, the weighted least-squares loss, the AdaGrad step, and the
exported vectors W + W~."""
import math

import numpy as np
import pytest
import torch

from modeling.baselines.glove import Glove, GloveConfig, glove_adagrad, weighting


def test_weighting_function():
    x = torch.tensor([1.0, 10.0, 50.0, 99.0, 100.0, 400.0], dtype=torch.float64)
    expected = [0.01 ** 0.75, 0.1 ** 0.75, 0.5 ** 0.75, 0.99 ** 0.75, 1.0, 1.0]
    assert weighting(x).tolist() == pytest.approx(expected, rel=1e-12)
    assert weighting(x, x_max=10.0, alpha=1.0).tolist() == pytest.approx([0.1, 1, 1, 1, 1, 1], rel=1e-12)


def small_model():
    model = Glove(GloveConfig(vocab_size=3, dim=2))
    with torch.no_grad():
        model.vectors.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0], [2.0, 1.0]]))
        model.context_vectors.copy_(torch.tensor([[0.0, 1.0], [0.5, 2.0], [-1.0, 0.25]]))
        model.biases.copy_(torch.tensor([0.1, -0.3, 0.2]))
        model.context_biases.copy_(torch.tensor([0.4, -0.2, 0.0]))
    return model


def test_loss_is_half_the_weighted_least_squares_of_the_log_counts():
    model = small_model()
    # Entry (0, 1, X=10): w.w~ = [1,0].[0.5,2] = 0.5; b + b~ = 0.1 - 0.2; f = (10/100)^0.75.
    # Entry (2, 0, X=200): [2,1].[0,1] = 1; b + b~ = 0.2 + 0.4; f = 1 above x_max.
    d1, d2 = 0.5 + 0.1 - 0.2 - math.log(10), 1 + 0.2 + 0.4 - math.log(200)
    expected = 0.5 * (0.1 ** 0.75 * d1 ** 2 + 1.0 * d2 ** 2)
    out = model(torch.tensor([0, 2]), torch.tensor([1, 0]), torch.tensor([10.0, 200.0]))
    assert out.loss.item() == pytest.approx(expected, rel=1e-6)
    assert out.pair_loss.item() == pytest.approx(expected / 2, rel=1e-6) and out.pair_total.item() == 2


def test_adagrad_steps_follow_the_reference_rule():
    """'glove': lr*g / sqrt(1 + lr^2 * sum of g^2 so far, this step's included); 'torch': lr*g / sqrt(1 + sum g^2)."""
    lr = 0.05
    for rule, step in (("glove", lambda g, s: lr * g / np.sqrt(1 + lr ** 2 * s)),
                       ("torch", lambda g, s: lr * g / np.sqrt(1 + s))):
        model = small_model()
        optimizer = glove_adagrad(model.parameters(), lr, rule)
        w = model.vectors.detach().numpy().copy()
        squares = np.zeros_like(w)
        for _ in range(3):
            loss = model(torch.tensor([0, 2]), torch.tensor([1, 0]), torch.tensor([10.0, 3.0])).loss
            loss.backward()
            g = model.vectors.grad.numpy().copy()
            squares += g ** 2
            w -= step(g, squares)
            optimizer.step()
            optimizer.zero_grad()
        assert np.allclose(model.vectors.detach().numpy(), w, rtol=1e-5, atol=1e-7), rule


def test_exported_vectors_are_word_plus_context_vectors():
    model = small_model()
    vectors = model.word_vectors(["a", "b", "c"])
    assert np.array_equal(vectors.vectors, (model.vectors + model.context_vectors).detach().numpy())
    assert vectors["c"].tolist() == [1.0, 1.25]


def test_initialisation_is_uniform_in_half_over_dim_and_seeded():
    a, b = Glove(GloveConfig(50, dim=8), seed=1), Glove(GloveConfig(50, dim=8), seed=1)
    for name, p in a.named_parameters():
        assert p.abs().max() <= 0.5 / 8 and torch.equal(p, dict(b.named_parameters())[name])

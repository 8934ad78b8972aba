"""GloVe (Pennington, Socher & Manning 2014): word vectors w_i, context vectors w~_j and biases b_i, b~_j fitted by
weighted least squares to the logarithm of the co-occurrence counts X_ij (equation 8),

    J = sum_{i,j: X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = (x / x_max)^alpha if x < x_max else 1    (x_max = 100, alpha = 3/4),

trained with AdaGrad; the exported vector of a word is w + w~ (section 4.2)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .word_vectors import WordVectors

ADAGRAD_RULES = ("glove", "torch")


@dataclass
class GloveConfig(SavedConfig):
    vocab_size: int
    dim: int = 100
    x_max: float = 100.0
    alpha: float = 0.75

    def __post_init__(self):
        if self.vocab_size < 1 or self.dim < 1 or self.x_max <= 0 or self.alpha < 0:
            raise ValueError("vocab_size, dim and x_max must be positive and alpha non-negative")


@dataclass
class GloveOutput:
    loss: torch.Tensor  # J / 2 over the batch's entries (the reference's cost, whose gradient it steps along)
    pair_loss: torch.Tensor | None = None  # the mean per entry, for logs
    pair_total: torch.Tensor | None = None


def weighting(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """f(x) = (x / x_max)^alpha below x_max, 1 from there on (equation 9)."""
    return torch.where(x < x_max, (x / x_max) ** alpha, torch.ones_like(x))


class Glove(AlbaPreTrainedModel):
    config_class = GloveConfig

    def __init__(self, config: GloveConfig, seed: int = 0):
        super().__init__(config)
        v, d = config.vocab_size, config.dim
        # The reference's initialisation (glove.c): every vector component and bias uniform in +-0.5/dim.
        g = torch.Generator().manual_seed(seed)
        init = lambda *shape: nn.Parameter((torch.rand(*shape, generator=g) - 0.5) / d)
        self.vectors, self.context_vectors = init(v, d), init(v, d)
        self.biases, self.context_biases = init(v), init(v)

    def forward(self, word_ids: torch.Tensor, context_ids: torch.Tensor, cooccurrences: torch.Tensor) -> GloveOutput:
        """Half of J over the batch's entries (i, j, X_ij): the gradient of f * diff^2 / 2 is f * diff * (the
        other vector), the step of GloVe's reference implementation."""
        w = self.vectors.index_select(0, word_ids)
        c = self.context_vectors.index_select(0, context_ids)
        diff = ((w * c).sum(1) + self.biases.index_select(0, word_ids)
                + self.context_biases.index_select(0, context_ids) - torch.log(cooccurrences))
        loss = 0.5 * (weighting(cooccurrences, self.config.x_max, self.config.alpha) * diff * diff).sum()
        n = torch.tensor(len(word_ids), device=loss.device)
        return GloveOutput(loss=loss, pair_loss=loss.detach() / n.clamp(min=1), pair_total=n)

    def word_vectors(self, words) -> WordVectors:
        """w + w~ of `words`, the vocabulary: the vectors GloVe exports."""
        return WordVectors(words, (self.vectors + self.context_vectors).detach().float().cpu().numpy())


def glove_adagrad(params, lr: float = 0.05, rule: str = "glove") -> torch.optim.Adagrad:
    """AdaGrad at initial learning rate `lr`, two readings of "sums started at 1":

    'glove': the reference implementation's (glove.c), whose squared-gradient sums start at 1 and add the squares
    of lr * g: step lr * g / sqrt(1 + lr^2 * sum g^2). That is torch's Adagrad at learning rate 1 with its sums
    started at 1 / lr^2 (so the log shows lr 1); torch counts this step's g^2 in the sum, glove.c only the earlier
    ones. 'torch': torch's Adagrad at `lr` with its sums started at 1, step lr * g / sqrt(1 + sum g^2), which is
    up to 1/lr = 20 times smaller once sum g^2 is large. Both start as plain SGD at `lr`."""
    if rule not in ADAGRAD_RULES:
        raise ValueError(f"rule must be one of {ADAGRAD_RULES}, got {rule!r}")
    if rule == "glove":
        return torch.optim.Adagrad(params, lr=1.0, initial_accumulator_value=1.0 / lr ** 2, eps=0.0)
    return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=1.0, eps=0.0)

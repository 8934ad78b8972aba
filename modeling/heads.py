"""Pretraining heads: the [CLS] pooler and the masked-LM head with its decoder tied to the word embeddings."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .activations import ACTIVATION_FUNCTIONS
from .config import ModelConfig


class Pooler(nn.Module):
    """dense + tanh on the first ([CLS]) position, or on the given [CLS] positions of packed rows: the input of the
    sentence-level heads."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, sequence: torch.Tensor, cls_positions: torch.Tensor | None = None) -> torch.Tensor:
        """(B, H), or (B, P, H) for `cls_positions` (B, P)."""
        if cls_positions is None:
            return torch.tanh(self.dense(sequence[:, 0]))
        picked = sequence.gather(1, cls_positions[..., None].expand(-1, -1, sequence.shape[-1]))
        return torch.tanh(self.dense(picked))


class MaskedLMHead(nn.Module):
    """dense H -> E + activation + LayerNorm(E), then the tied V x E embedding matrix plus an output bias."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)
        self.activation = ACTIVATION_FUNCTIONS[config.hidden_act]
        self.layer_norm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        # The decoder weight is passed in rather than owned, so the tie holds under any wrapping or loading.
        return F.linear(self.layer_norm(self.activation(self.dense(hidden))), word_embeddings, self.bias)

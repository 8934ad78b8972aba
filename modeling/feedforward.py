"""Position-wise feed-forward sub-layer (Post-LN): H -> I -> activation -> H -> dropout -> residual -> LayerNorm."""
from __future__ import annotations

import torch
from torch import nn

from .activations import ACTIVATION_FUNCTIONS
from .config import ModelConfig


class FeedForward(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.intermediate = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACTIVATION_FUNCTIONS[config.hidden_act]
        self.output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(hidden + self.dropout(self.output(self.activation(self.intermediate(hidden)))))

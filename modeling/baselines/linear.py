"""A linear classifier on fixed features (logistic regression: softmax over `features @ W + b`), the model of the
TF-IDF baseline."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from ..task_heads import ClassificationOutput


@dataclass
class LinearClassifierConfig(SavedConfig):
    num_features: int
    num_labels: int = 2


class LinearClassifier(AlbaPreTrainedModel):
    config_class = LinearClassifierConfig

    def __init__(self, config: LinearClassifierConfig):
        super().__init__(config)
        self.linear = nn.Linear(config.num_features, config.num_labels)
        nn.init.zeros_(self.linear.weight)  # a convex problem: start from the uniform prediction
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> ClassificationOutput:
        logits = self.linear(features.to(self.linear.weight.dtype))
        if labels is None:
            return ClassificationOutput(None, logits, None, None, None)
        loss = F.cross_entropy(logits, labels)
        return ClassificationOutput(loss, logits, loss.detach(), (logits.argmax(-1) == labels).sum(),
                                    torch.tensor(labels.numel()))

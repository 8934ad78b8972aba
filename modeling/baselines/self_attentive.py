"""Structured self-attentive sentence embedding (Lin et al. 2017): word embeddings -> BiLSTM H (n x 2u) ->
A = softmax(W_s2 tanh(W_s1 H^T)) (r x n, softmax over the positions, padding masked out) -> M = A H (r x 2u) ->
flattened -> MLP with one ReLU hidden layer (dropout on its input and hidden layer) -> logits. The loss adds the
penalty P = ||A A^T - I||_F^2, averaged over the batch, times `penalty`. W_s1 and W_s2 have no bias (§2.1: "a 2
layer MLP without bias")."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .rnn import RecurrentNetwork


@dataclass
class SelfAttentiveConfig(SavedConfig):
    vocab_size: int
    num_labels: int = 2
    embedding_size: int = 100
    hidden_size: int = 300  # u, per direction
    attention_size: int = 350  # d_a
    attention_rows: int = 30  # r
    mlp_size: int = 3000
    dropout: float = 0.5
    penalty: float = 1.0  # coefficient of ||AA^T - I||_F^2 in the loss


@dataclass
class SelfAttentiveOutput:
    loss: torch.Tensor | None
    label_correct: torch.Tensor | None
    label_total: torch.Tensor | None
    penalty_loss: torch.Tensor | None  # the batch's mean P, before the coefficient (logged)
    logits: torch.Tensor
    attention: torch.Tensor  # A, [B, r, n]


def frobenius_penalty(attention: torch.Tensor) -> torch.Tensor:
    """||A A^T - I||_F^2 for each A of the batch [B, r, n] -> [B]."""
    gram = attention @ attention.transpose(1, 2)
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype, device=gram.device)
    return ((gram - eye) ** 2).sum((1, 2))


class SelfAttentiveClassifier(AlbaPreTrainedModel):
    config_class = SelfAttentiveConfig

    def __init__(self, config: SelfAttentiveConfig):
        super().__init__(config)
        c = config
        self.embedding = nn.Embedding(c.vocab_size, c.embedding_size, padding_idx=0)
        self.lstm = RecurrentNetwork("lstm", c.embedding_size, c.hidden_size, bidirectional=True)
        self.ws1 = nn.Linear(2 * c.hidden_size, c.attention_size, bias=False)
        self.ws2 = nn.Linear(c.attention_size, c.attention_rows, bias=False)
        self.dropout = nn.Dropout(c.dropout)
        self.hidden = nn.Linear(c.attention_rows * 2 * c.hidden_size, c.mlp_size)
        self.classifier = nn.Linear(c.mlp_size, c.num_labels)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """H [B, n, 2u] and A [B, r, n]; a padded position gets weight 0 (right padding leaves the real tokens'
        states as they are alone, see RecurrentNetwork)."""
        mask = attention_mask.bool()
        states, _ = self.lstm(self.embedding(input_ids), mask=mask)
        scores = self.ws2(torch.tanh(self.ws1(states))).transpose(1, 2)  # [B, r, n]
        attention = scores.masked_fill(~mask[:, None, :], float("-inf")).softmax(-1)
        return states, attention

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor | None = None) -> SelfAttentiveOutput:
        states, attention = self.encode(input_ids, attention_mask)
        embedding = (attention @ states).flatten(1)  # M = AH, [B, r * 2u]
        logits = self.classifier(self.dropout(F.relu(self.hidden(self.dropout(embedding)))))
        if labels is None:
            return SelfAttentiveOutput(None, None, None, None, logits, attention)
        penalty = frobenius_penalty(attention).mean()
        return SelfAttentiveOutput(F.cross_entropy(logits, labels) + self.config.penalty * penalty,
                                   (logits.argmax(-1) == labels).sum(), labels.new_tensor(len(labels)),
                                   penalty.detach(), logits, attention)

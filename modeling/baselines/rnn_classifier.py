"""A recurrent sequence classifier: embeddings -> (bidirectional) stacked RNN/LSTM/GRU -> the final state of the
last layer (both directions concatenated) -> dropout -> linear logits. Padding (id 0, at the end) is masked, so
the final state is that of each sequence's last real token whatever the padded length."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .rnn import RecurrentNetwork


@dataclass
class RecurrentClassifierConfig:
    vocab_size: int
    num_labels: int
    cell: str = "lstm"
    embedding_size: int = 100
    hidden_size: int = 100
    num_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RecurrentClassifierOutput:
    loss: torch.Tensor | None
    label_correct: torch.Tensor | None
    label_total: torch.Tensor | None
    logits: torch.Tensor


class RecurrentClassifier(nn.Module):
    def __init__(self, config: RecurrentClassifierConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=0)
        self.rnn = RecurrentNetwork(config.cell, config.embedding_size, config.hidden_size, config.num_layers,
                                    config.bidirectional, config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.hidden_size * self.rnn.directions, config.num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor | None = None) -> RecurrentClassifierOutput:
        mask = attention_mask.bool()
        _, state = self.rnn(self.dropout(self.embedding(input_ids)), mask=mask)
        last_layer = state[0][-self.rnn.directions:]  # (directions, B, H)
        logits = self.classifier(self.dropout(torch.cat(list(last_layer), -1)))
        if labels is None:
            return RecurrentClassifierOutput(None, None, None, logits)
        return RecurrentClassifierOutput(F.cross_entropy(logits, labels), (logits.argmax(-1) == labels).sum(),
                                         labels.new_tensor(len(labels)), logits)

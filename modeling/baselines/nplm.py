"""The neural probabilistic language model of Bengio, Ducharme, Vincent & Jauvin (2003).

Word t is predicted from the n-1 words before it alone: each is looked up in one shared table C (|V| x m), the
lookups are concatenated into x ((n-1)m values, the oldest word first), and
    y = b + W x + U tanh(d + H x),    P(w_t = i | context) = softmax(y)_i,
with H (h x (n-1)m) and d the hidden layer, U (|V| x h) and b the output layer, and W (|V| x (n-1)m) the optional
direct connections from the words to the output (W = 0 without them).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .ngram import perplexity


@dataclass
class NplmConfig(SavedConfig):
    vocab_size: int
    order: int = 5  # n: the n-1 previous words are the context
    embedding_size: int = 60  # m, the columns of C
    hidden_size: int = 50  # h, the tanh units
    direct: bool = True  # the direct connections W
    dropout: float = 0.0  # on x and on the tanh units (not in the paper)
    word_dropout: float = 0.0  # drops whole context words, so the network also learns from shorter contexts
    init_range: float = 0.05  # weights start uniform in ±init_range, biases at 0


@dataclass
class NplmOutput:
    loss: torch.Tensor  # mean NLL per predicted word; exp of it is the perplexity
    token_loss: torch.Tensor
    token_total: torch.Tensor
    logits: torch.Tensor | None = None


class NeuralProbabilisticLM(AlbaPreTrainedModel):
    config_class = NplmConfig

    def __init__(self, config: NplmConfig):
        super().__init__(config)
        inputs = (config.order - 1) * config.embedding_size
        self.C = nn.Embedding(config.vocab_size, config.embedding_size)
        self.H = nn.Linear(inputs, config.hidden_size)  # its bias is d
        self.U = nn.Linear(config.hidden_size, config.vocab_size)  # its bias is b
        self.W = nn.Linear(inputs, config.vocab_size, bias=False) if config.direct else None
        self.dropout = nn.Dropout(config.dropout)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            else:
                nn.init.uniform_(p, -config.init_range, config.init_range)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None) -> NplmOutput:
        """input_ids (B, n-1): each row a context, oldest word first; labels (B,): the word that follows it."""
        if input_ids.shape[-1] != self.config.order - 1:
            raise ValueError(f"a context holds order-1 = {self.config.order - 1} words, got {input_ids.shape[-1]}")
        features = self.C(input_ids)
        p = self.config.word_dropout
        if self.training and p > 0:  # a word's m features zeroed together, the rest scaled as dropout does
            keep = torch.rand(features.shape[:-1] + (1,), device=features.device) >= p
            features = features * keep / (1 - p)
        x = self.dropout(features.flatten(-2))
        logits = self.U(self.dropout(torch.tanh(self.H(x))))
        if self.W is not None:
            logits = logits + self.W(x)
        if labels is None:
            return NplmOutput(loss=None, token_loss=None, token_total=None, logits=logits)
        loss = F.cross_entropy(logits, labels)
        return NplmOutput(loss=loss, token_loss=loss.detach(), token_total=torch.tensor(labels.numel()),
                          logits=logits)


def contexts(ids, order: int, pad: int) -> torch.Tensor:
    """(len(ids) - 1, order - 1): row j holds the order-1 ids before ids[j + 1], the ones before the stream's start
    being `pad`, so every id after the first is a target, as in the recurrent models' perplexity."""
    ids = torch.as_tensor(ids)
    padded = torch.cat([torch.full((order - 2,), pad, dtype=ids.dtype), ids[:-1]])
    return padded.unfold(0, order - 1, 1)


@torch.no_grad()
def window_probabilities(model: NeuralProbabilisticLM, ids, pad: int, batch: int = 2048) -> torch.Tensor:
    """The model's probability of every id after the first of one stream, each given its window (see `contexts`),
    in float64 on the CPU."""
    ids = torch.as_tensor(ids)
    if ids.numel() < 2:
        raise ValueError(f"perplexity needs at least 2 ids, got {ids.numel()}")
    was_training = model.training
    model.eval()
    device = model.C.weight.device
    rows, targets, found = contexts(ids, model.config.order, pad).to(device), ids[1:].to(device), []
    for lo in range(0, len(targets), batch):
        logits = model(rows[lo:lo + batch]).logits.double()
        found.append(logits.log_softmax(-1).gather(1, targets[lo:lo + batch, None])[:, 0].exp().cpu())
    model.train(was_training)
    return torch.cat(found)


def window_perplexity(model: NeuralProbabilisticLM, ids, pad: int, batch: int = 2048) -> float:
    return perplexity(window_probabilities(model, ids, pad, batch).tolist())

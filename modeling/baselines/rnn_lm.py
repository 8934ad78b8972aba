"""Recurrent language models over words or characters (Zaremba et al. 2014), trained with stateful truncated
backpropagation through time, and sampling from them with a temperature."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .rnn import RecurrentNetwork


@dataclass
class LanguageModelConfig(SavedConfig):
    vocab_size: int
    cell: str = "lstm"
    hidden_size: int = 200  # also the embedding size, as in Zaremba et al.
    num_layers: int = 2
    dropout: float = 0.0  # on the non-recurrent connections: embeddings, between layers, before the softmax
    init_range: float = 0.1  # every parameter starts uniform in ±init_range
    streams: int = 20  # parallel text streams whose state is carried from one batch to the next
    tie_weights: bool = False  # the softmax reuses the embedding matrix (Press & Wolf 2017; not in Zaremba et al.)



@dataclass
class LanguageModelOutput:
    loss: torch.Tensor  # Zaremba's cost: negative log-likelihood summed over time steps, averaged over streams
    token_loss: torch.Tensor  # mean NLL per predicted token; exp of it is the perplexity
    token_total: torch.Tensor
    logits: torch.Tensor | None = None
    state: tuple[torch.Tensor, ...] | None = None


class RecurrentLanguageModel(AlbaPreTrainedModel):
    """Embedding -> stacked recurrent network -> softmax over the vocabulary.

    Training is stateful: the final state of a batch is the initial state of the next, detached (truncated
    BPTT), for each of `streams` parallel streams. That state is a persistent buffer, so every checkpoint holds
    it and a resumed run continues from exactly where it stopped; a batch marks with `reset` the streams whose
    state starts from zero (the data pipeline sets it on the first batch of every epoch)."""
    config_class = LanguageModelConfig

    def __init__(self, config: LanguageModelConfig):
        super().__init__(config)
        self.embedding = nn.Embedding(config.vocab_size, config.hidden_size)
        self.rnn = RecurrentNetwork(config.cell, config.hidden_size, config.hidden_size, config.num_layers,
                                    dropout=config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        # Tied: the logits use the embedding matrix itself (no second name for it, which safetensors refuses).
        self.decoder = None if config.tie_weights else nn.Linear(config.hidden_size, config.vocab_size)
        self.decoder_bias = nn.Parameter(torch.empty(config.vocab_size)) if config.tie_weights else None
        for p in self.parameters():
            nn.init.uniform_(p, -config.init_range, config.init_range)
        initial = self.rnn.initial_state(config.streams, self.embedding.weight)
        self._carried_names = [f"carried_state_{i}" for i in range(len(initial))]
        for name, s in zip(self._carried_names, initial):
            self.register_buffer(name, s)

    def forward(self, input_ids: torch.Tensor, labels: torch.Tensor | None = None,
                reset: torch.Tensor | None = None,
                state: tuple[torch.Tensor, ...] | None = None) -> LanguageModelOutput:
        """input_ids, labels (B, T). Without `state` the carried state is used and replaced (B must be
        `streams`); with it, that state is used and the new one returned, and nothing is carried."""
        carried = state is None
        if carried:
            state = tuple(getattr(self, name) for name in self._carried_names)
            if reset is not None:
                keep = (~reset.bool()).to(state[0].dtype)[None, :, None]
                state = tuple(s * keep for s in state)
        x = self.dropout(self.embedding(input_ids))
        hidden, new_state = self.rnn(x, state)
        hidden = self.dropout(hidden)
        logits = (self.decoder(hidden) if self.decoder is not None
                  else F.linear(hidden, self.embedding.weight, self.decoder_bias))
        if carried:
            for name, s in zip(self._carried_names, new_state):
                setattr(self, name, s.detach())  # a new tensor: the old one is saved for backward
        if labels is None:
            return LanguageModelOutput(loss=None, token_loss=None, token_total=None, logits=logits,
                                       state=new_state)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="sum")
        n = torch.tensor(labels.numel(), device=nll.device)
        return LanguageModelOutput(loss=nll / labels.shape[0], token_loss=nll.detach() / n, token_total=n,
                                   logits=logits, state=new_state)



@torch.no_grad()
def sample(model: RecurrentLanguageModel, prefix: list[int], length: int, temperature: float = 1.0,
           generator: torch.Generator | None = None) -> list[int]:
    """Continue `prefix` (at least one id) by `length` ids drawn from softmax(logits / temperature): below 1
    sharpens towards the most likely ids, above 1 flattens towards uniform."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    was_training = model.training
    model.eval()
    device = model.embedding.weight.device
    out = model(torch.tensor([prefix], device=device), state=model.rnn.initial_state(1, model.embedding.weight))
    ids = []
    for _ in range(length):
        probs = torch.softmax(out.logits[0, -1] / temperature, -1)
        ids.append(int(torch.multinomial(probs, 1, generator=generator)))
        out = model(torch.tensor([[ids[-1]]], device=device), state=out.state)
    model.train(was_training)
    return ids


@torch.no_grad()
def stream_perplexity(model: RecurrentLanguageModel, ids, chunk: int = 200) -> float:
    """exp(mean NLL) of every id after the first of one text stream, read as a single stream (batch 1) in
    chunks whose final state starts the next, so each prediction sees all of the text before it."""
    ids = torch.as_tensor(ids)
    if ids.numel() < 2:
        raise ValueError(f"perplexity needs at least 2 ids, got {ids.numel()}")
    was_training = model.training
    model.eval()
    device = model.embedding.weight.device
    stream = ids.to(device)[None]
    state, nll = model.rnn.initial_state(1, model.embedding.weight), 0.0
    for lo in range(0, stream.shape[1] - 1, chunk):
        labels = stream[:, lo + 1:lo + chunk + 1]
        out = model(stream[:, lo:lo + labels.shape[1]], labels, state=state)
        state, nll = out.state, nll + float(out.token_loss) * labels.numel()
    model.train(was_training)
    return math.exp(nll / (stream.shape[1] - 1))

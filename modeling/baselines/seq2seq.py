"""What every encoder-decoder baseline shares (Cho, Sutskever, Bahdanau, Transformer, ConvS2S): the special ids,
the training loss, and the two ways a decoder runs.

- Teacher forcing, `decode(memory, src_mask, tgt_in)`: the logits at every target position at once; position t
  sees target tokens 0..t only (tgt_in starts with <bos>, so position t predicts label t).
- One token at a time for search, `start(memory, src_mask)` then `step(state, tokens)`: a state is a tuple of
  tensors whose first dimension is the batch (so a beam reorders it with `reorder_state`). The default keeps the
  prefix and re-runs `decode` over it; the recurrent models carry their hidden state, the Transformer
  its keys and values, ConvS2S each decoder layer's last k-1 inputs.

Source and target share one vocabulary (a joint subword tokenizer), so embeddings can be tied across them.
Sources end with <eos>; target inputs start with <bos> and labels end with <eos>; padding is `pad_id` anywhere
after the real tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel

# The ids of alba's tokenizers (data_pipeline.tokenizer.SpecialTokens): [PAD], [UNK], and [CLS] / [SEP] serving
# as <bos> / <eos>.
PAD, UNK, BOS, EOS = 0, 1, 2, 3


@dataclass
class Seq2SeqConfig(SavedConfig):
    """The fields every architecture has; each adds its own."""
    vocab_size: int
    arch: str = ""  # which model class reads this config back (see baselines/seq2seq.py)
    reverse_source: bool = False  # feed the source's real tokens last to first (Sutskever et al.)
    label_smoothing: float = 0.0  # epsilon of the training loss (Szegedy et al.; the Transformer uses 0.1)
    dropout: float = 0.0


@dataclass
class Seq2SeqOutput:
    loss: torch.Tensor | None  # the training objective (label-smoothed when configured), mean per target token
    token_loss: torch.Tensor | None  # the plain NLL per target token: exp of it is the perplexity
    token_total: torch.Tensor | None
    logits: torch.Tensor | None = None


def smoothed_loss(logits: torch.Tensor, labels: torch.Tensor, epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(label-smoothed loss, NLL), each the mean over the non-pad labels. The smoothed target puts 1 - epsilon on the
    label and spreads epsilon uniformly over the whole vocabulary (the label included), as in Szegedy et al. and
    torch's `label_smoothing`: loss = (1 - eps) * NLL + eps * mean over classes of -log p."""
    logp = F.log_softmax(logits.float(), dim=-1)
    real = labels != PAD
    nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    count = real.sum().clamp(min=1)
    nll_mean = (nll * real).sum() / count
    if not epsilon:
        return nll_mean, nll_mean
    uniform = -logp.mean(-1)
    return ((1 - epsilon) * nll_mean + epsilon * (uniform * real).sum() / count), nll_mean


def reorder_state(state: tuple, index: torch.Tensor) -> tuple:
    """The state of the rows `index` (a beam's surviving hypotheses), every tensor picked along its first dim."""
    return tuple(reorder_state(s, index) if isinstance(s, tuple) else s.index_select(0, index) for s in state)


class Seq2SeqModel(AlbaPreTrainedModel):
    """Base of the encoder-decoders. A subclass names its config class and implements `encode` and `decode`
    (and, if it does not re-run the prefix, `start` and `step`)."""
    config_class = Seq2SeqConfig

    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> tuple:
        """The encoder's outputs for the decoder (a tuple of batch-first tensors). src_mask: True at real tokens."""
        raise NotImplementedError

    def decode(self, memory: tuple, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """(B, T, vocab) logits: position t from target inputs 0..t and the source."""
        raise NotImplementedError

    def encode_source(self, src_ids: torch.Tensor) -> tuple[tuple, torch.Tensor]:
        """(memory, src_mask) of a padded batch of source ids, reversed first when the config says so."""
        src_mask = src_ids != PAD
        if self.config.reverse_source:
            src_ids = reverse_real(src_ids, src_mask)
        return self.encode(src_ids, src_mask), src_mask

    def start(self, memory: tuple, src_mask: torch.Tensor) -> tuple:
        """The decoding state before any target token: here the memory, the mask and an empty prefix."""
        return (memory, src_mask, torch.empty(src_mask.shape[0], 0, dtype=torch.long, device=src_mask.device))

    def step(self, state: tuple, tokens: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Feed `tokens` (B,), the last target token of each row (<bos> first): (B, vocab) logits of the next one
        and the new state."""
        memory, src_mask, prefix = state
        prefix = torch.cat([prefix, tokens[:, None]], dim=1)
        return self.decode(memory, src_mask, prefix)[:, -1], (memory, src_mask, prefix)

    def forward(self, src_ids: torch.Tensor, tgt_in: torch.Tensor, labels: torch.Tensor | None = None
                ) -> Seq2SeqOutput:
        memory, src_mask = self.encode_source(src_ids)
        logits = self.decode(memory, src_mask, tgt_in)
        if labels is None:
            return Seq2SeqOutput(None, None, None, logits)
        loss, nll = smoothed_loss(logits, labels, self.config.label_smoothing if self.training else 0.0)
        return Seq2SeqOutput(loss, nll.detach(), (labels != PAD).sum(), logits)


def reverse_real(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each row's real tokens in reverse order, its padding left at the end. The source's closing <eos> stays last
    (it marks the end; Sutskever et al. reverse the words)."""
    lengths = mask.sum(1, keepdim=True)
    positions = torch.arange(ids.shape[1], device=ids.device).expand_as(ids)
    last = lengths - 2  # the last word, before <eos>
    source = torch.where(positions <= last, last - positions, positions)
    return ids.gather(1, source.clamp(min=0))

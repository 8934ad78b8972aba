"""Multi-head self-attention sub-layer (Post-LN): attention -> dense -> dropout -> residual -> LayerNorm.

Padded batches can run unpadded (`Unpadded`, built by the encoder): hidden states are then the (N, H) real tokens
alone, so every projection skips the padding, and only the attention core sees the rows' layout again: on CUDA as
jagged nested tensors (SDPA's variable-length kernels), elsewhere scattered back into the padded layout for one
masked SDPA call, which is faster on CPU than the nested path.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


class Unpadded(NamedTuple):
    """Where the real tokens of a (B, T) batch are: hidden states are rows `index` of the flattened (B*T, H)."""
    index: torch.Tensor  # (N,) flat positions of the real tokens, in row order
    rows: int  # B
    length: int  # T
    keep: torch.Tensor  # the padded path's mask, for the padded attention core
    offsets: torch.Tensor | None  # (S+1,) where each attended sequence starts among the N tokens: the jagged core


class SelfAttention(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        H = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.output = nn.Linear(H, H)
        self.attention_dropout = config.attention_probs_dropout_prob
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.layer_norm = nn.LayerNorm(H, eps=config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, keep: torch.Tensor | None = None,
                unpadded: Unpadded | None = None) -> torch.Tensor:
        """`hidden`: (B, T, H), or (N, H) real tokens with `unpadded`. `keep`: boolean, True where a query may
        attend a key: (B, 1, 1, T) for padding, (B, 1, T, T) for packed rows, or None when nothing is padded."""
        heads = self.num_heads
        q, k, v = (proj(hidden).unflatten(-1, (heads, -1)) for proj in (self.query, self.key, self.value))
        dropout = self.attention_dropout if self.training else 0.0
        if unpadded is None:  # (B, T, heads, d) -> (B, heads, T, d)
            context = _attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), keep, dropout).transpose(1, 2)
        elif unpadded.offsets is not None:
            context = _attend_jagged(q, k, v, unpadded.offsets, dropout)
        else:
            context = _attend_repadded(q, k, v, unpadded, dropout)
        return self.layer_norm(hidden + self.dropout(self.output(context.flatten(-2))))

    def extend(self, hidden: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor]
               ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Decoding one position at a time: `hidden` (B, 1, H) is the newest position, `past` the keys and values
        (B, heads, t, d) of the ones before it, which it attends with itself (its row of a causal mask). Returns the
        sub-layer's output and the keys and values grown by one."""
        q, k, v = (proj(hidden).unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))
        k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        context = _attend(q, k, v, None, self.attention_dropout if self.training else 0.0).transpose(1, 2)
        return self.layer_norm(hidden + self.dropout(self.output(context.flatten(-2)))), (k, v)


class CrossAttention(SelfAttention):
    """Encoder-decoder attention (Vaswani et al.): the same sub-layer, its queries from the decoder's states and its
    keys and values from the encoder's output `memory` (B, S, H); `keep` (B, 1, 1, S) hides the source padding.
    Step-by-step decoding computes the keys and values once (`keys_values`) and passes them instead of memory."""

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(proj(memory).unflatten(-1, (self.num_heads, -1)).transpose(1, 2) for proj in (self.key, self.value))

    def forward(self, hidden: torch.Tensor, memory: torch.Tensor | None = None, keep: torch.Tensor | None = None,
                keys_values: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        k, v = keys_values if keys_values is not None else self.keys_values(memory)
        q = self.query(hidden).unflatten(-1, (self.num_heads, -1)).transpose(1, 2)
        context = _attend(q, k, v, keep, self.attention_dropout if self.training else 0.0).transpose(1, 2)
        return self.layer_norm(hidden + self.dropout(self.output(context.flatten(-2))))


def _attend(q, k, v, keep: torch.Tensor | None, dropout: float) -> torch.Tensor:
    mask = None
    if keep is not None:
        # Additive mask in the query's dtype (which autocast may have changed): a finite minimum instead of -inf
        # keeps an all-padding row finite instead of NaN.
        mask = torch.zeros(keep.shape, dtype=q.dtype, device=q.device).masked_fill_(~keep, torch.finfo(q.dtype).min)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)


def _attend_jagged(q, k, v, offsets: torch.Tensor, dropout: float) -> torch.Tensor:
    """(N, heads, d) tokens of S sequences -> nested (S, heads, j, d): no mask, no padding anywhere."""
    q, k, v = (torch.nested.nested_tensor_from_jagged(x, offsets).transpose(1, 2) for x in (q, k, v))
    return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout).transpose(1, 2).values()


def _attend_repadded(q, k, v, unpadded: Unpadded, dropout: float) -> torch.Tensor:
    B, T, index = unpadded.rows, unpadded.length, unpadded.index

    def padded(x):  # (N, heads, d) -> (B, heads, T, d), zeros at padding
        return x.new_zeros(B * T, *x.shape[1:]).index_copy(0, index, x).unflatten(0, (B, T)).transpose(1, 2)

    context = _attend(padded(q), padded(k), padded(v), unpadded.keep, dropout)
    return context.transpose(1, 2).flatten(0, 1)[index]

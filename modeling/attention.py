"""Multi-head self-attention sub-layer (Post-LN): attention -> dense -> dropout -> residual -> LayerNorm."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


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

    def forward(self, hidden: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """`keep`: boolean, True where a query may attend a key: (B, 1, 1, T) for padding, (B, 1, T, T) for packed
        rows, or None when nothing is padded."""
        B, T, H = hidden.shape
        q, k, v = (proj(hidden).view(B, T, self.num_heads, -1).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))
        mask = None
        if keep is not None:
            # Additive mask in the query's dtype (which autocast may have changed): a finite minimum instead of -inf
            # keeps an all-padding row finite instead of NaN.
            mask = torch.zeros(keep.shape, dtype=q.dtype, device=q.device).masked_fill_(~keep,
                                                                                         torch.finfo(q.dtype).min)
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                 dropout_p=self.attention_dropout if self.training else 0.0)
        context = context.transpose(1, 2).reshape(B, T, H)
        return self.layer_norm(hidden + self.dropout(self.output(context)))

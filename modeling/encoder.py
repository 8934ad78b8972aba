"""The layer stack, with ALBERT's cross-layer parameter sharing.

Each layer is a self-attention sub-layer followed by a feed-forward one. The encoder owns one list of distinct
attention blocks and one of distinct feed-forward blocks; layer i uses one entry of each. A shared kind of sub-layer
has `num_hidden_groups` entries (layer i uses entry i*N//L, ALBERT's grouping), an unshared kind has one per layer:

    sharing      attention blocks   feed-forward blocks
    "none"       L                  L
    "all"        N                  N        (N = 1: every layer is the same layer, exactly ALBERT)
    "attention"  N                  L
    "ffn"        L                  N

ALBERT's `inner_group_num` K > 1 (sharing "all"): each group holds K different layers, run in order wherever the
group is used, so the stack runs L x K layers from N x K blocks.

A padded batch runs unpadded (see attention.py) when `unpad` says so; "auto" does in training, where padding is a
large enough share of the positions for the saved work to outweigh the gathering (measured in
benchmarks/RESULTS.md). The output is the same at real tokens and zero at padding, so evaluation and inference stay
padded under "auto": their outputs at padding equal transformers' too.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .attention import SelfAttention, Unpadded
from .config import ModelConfig
from .feedforward import FeedForward

# "auto" unpads a batch whose real tokens are less than this share of its positions.
UNPAD_BELOW = 0.9


class Encoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        L, N, K = config.num_hidden_layers, config.num_hidden_groups, config.inner_group_num
        grouped = tuple((i * N // L) * K + j for i in range(L) for j in range(K))
        per_layer = tuple(range(L))
        self.attention_index = grouped if config.sharing in ("all", "attention") else per_layer
        self.ffn_index = grouped if config.sharing in ("all", "ffn") else per_layer
        self.attention = nn.ModuleList(SelfAttention(config) for _ in range(max(self.attention_index) + 1))
        self.ffn = nn.ModuleList(FeedForward(config) for _ in range(max(self.ffn_index) + 1))
        self.gradient_checkpointing = config.gradient_checkpointing
        # Compiled blocks would recompile for every count of real tokens.
        self.unpad = "never" if config.unpad == "auto" and config.compile_layers else config.unpad
        if config.compile_layers:
            # Module.compile works in place, so parameter names, sharing and checkpoints stay as they are.
            for block in (*self.attention, *self.ffn):
                block.compile()

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor | None = None,
                pack_ids: torch.Tensor | None = None) -> torch.Tensor:
        """`attention_mask`: (B, T), 1 at real tokens and 0 at padding; None when nothing is padded. `pack_ids`:
        (B, T), which packed pair of its row a token belongs to (0 at padding); a token then attends only to its
        own pair, the block-diagonal mask of packed rows."""
        keep = attention_mask[:, None, None, :].bool() if attention_mask is not None else None
        if pack_ids is not None:
            same_pair = pack_ids[:, None, :, None] == pack_ids[:, None, None, :]
            keep = same_pair & (pack_ids != 0)[:, None, None, :] & (keep if keep is not None else True)
        unpadded = self._unpadded(hidden, attention_mask, pack_ids, keep)
        if unpadded is not None:
            hidden = hidden.flatten(0, 1)[unpadded.index]
        for a, f in zip(self.attention_index, self.ffn_index):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                # Keeps only each layer's input; the saved RNG state gives the recomputation the same dropout.
                # (Its check of the recomputed tensors' shapes cannot size the jagged core's nested tensors.)
                check = "none" if unpadded is not None and unpadded.offsets is not None else "default"
                hidden = checkpoint(self._layer, a, f, hidden, keep, unpadded, use_reentrant=False,
                                    determinism_check=check)
            else:
                hidden = self._layer(a, f, hidden, keep, unpadded)
        if unpadded is not None:
            B, T = unpadded.rows, unpadded.length
            flat = hidden.new_zeros(B * T, hidden.shape[-1]).index_copy(0, unpadded.index, hidden)
            hidden = flat.unflatten(0, (B, T))
        return hidden

    def _layer(self, a: int, f: int, hidden: torch.Tensor, keep: torch.Tensor | None,
               unpadded: Unpadded | None) -> torch.Tensor:
        return self.ffn[f](self.attention[a](hidden, keep, unpadded))

    def _unpadded(self, hidden, attention_mask, pack_ids, keep) -> Unpadded | None:
        if self.unpad == "never" or (attention_mask is None and pack_ids is None) or (
                # Evaluation stays padded; under compile a data-dependent shape would split the graph.
                self.unpad == "auto" and (not self.training or torch.compiler.is_compiling())):
            return None
        real = torch.ones_like(hidden[..., 0], dtype=torch.bool)
        for mask in (attention_mask, pack_ids):
            if mask is not None:
                real &= mask != 0
        index = real.flatten().nonzero().squeeze(1)
        B, T = real.shape
        if self.unpad == "auto" and len(index) >= UNPAD_BELOW * B * T:
            return None
        offsets = None
        if self.unpad == "jagged" or hidden.is_cuda:
            # Each attended sequence is a row's real tokens, or one packed pair (contiguous in its row).
            rows = index // T
            sequence = rows * (int(pack_ids.max()) + 1) + pack_ids.flatten()[index] if pack_ids is not None else rows
            counts = torch.unique_consecutive(sequence, return_counts=True)[1]
            offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        return Unpadded(index, B, T, keep, offsets)

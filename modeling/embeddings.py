"""Token + learned position + segment embeddings, with ALBERT's factorized E -> H projection."""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig


class Embeddings(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        E, H = config.embedding_size, config.hidden_size
        # padding_idx keeps the pad row out of the lookup's gradient, as in Hugging Face's models.
        self.word_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, E)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, E)
        self.layer_norm = nn.LayerNorm(E, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # ALBERT factorizes the V x H table into V x E and E x H; BERT has E == H and no projection (an ALBERT
        # checkpoint with E == H keeps its own).
        self.projection = nn.Linear(E, H) if config.projects_embeddings else None
        self.debug_checks = config.debug_checks

    def check_inputs(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None,
                     position_ids: torch.Tensor | None = None) -> None:
        """Shapes and the length are always checked (free). Id ranges are checked on CPU tensors always, and on
        accelerators only with `debug_checks`: reading the min/max back waits for the device, every step. Without
        the check an out-of-range id is an opaque index error on CPU and a device-side assert on CUDA. A compiled
        model skips it: reading values back would split its graph."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must be (batch, length); got shape {tuple(input_ids.shape)}")
        for name, ids in (("token_type_ids", token_type_ids), ("position_ids", position_ids)):
            if ids is not None and ids.shape != input_ids.shape:
                raise ValueError(f"{name} shape {tuple(ids.shape)} differs from input_ids shape "
                                 f"{tuple(input_ids.shape)}")
        if input_ids.shape[1] > self.position_embeddings.num_embeddings:
            raise ValueError(f"sequence length {input_ids.shape[1]} exceeds max_position_embeddings="
                             f"{self.position_embeddings.num_embeddings}")
        if input_ids.numel() and (self.debug_checks or input_ids.device.type == "cpu") and \
                not torch.compiler.is_compiling():
            for name, ids, size, field in (("input_ids", input_ids, self.word_embeddings.num_embeddings, "vocab_size"),
                                           ("token_type_ids", token_type_ids,
                                            self.token_type_embeddings.num_embeddings, "type_vocab_size"),
                                           ("position_ids", position_ids, self.position_embeddings.num_embeddings,
                                            "max_position_embeddings")):
                if ids is not None:
                    low, high = int(ids.min()), int(ids.max())
                    if low < 0 or high >= size:
                        raise ValueError(f"{name} range from {low} to {high}, outside [0, {field}={size})")

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None) -> torch.Tensor:
        """`position_ids` (B, T) default to 0..T-1 in every row; packed rows restart them at each pair."""
        self.check_inputs(input_ids, token_type_ids, position_ids)
        positions = position_ids if position_ids is not None else torch.arange(input_ids.shape[1],
                                                                               device=input_ids.device)
        # Without segment ids every token is in segment 0.
        segments = (self.token_type_embeddings(token_type_ids) if token_type_ids is not None
                    else self.token_type_embeddings.weight[0])
        x = self.word_embeddings(input_ids) + segments + self.position_embeddings(positions)
        x = self.dropout(self.layer_norm(x))
        return self.projection(x) if self.projection is not None else x

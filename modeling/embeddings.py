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
        # ALBERT factorizes the V x H table into V x E and E x H; BERT has E == H and no projection.
        self.projection = nn.Linear(E, H) if E != H else None

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        length = input_ids.shape[1]
        if length > self.position_embeddings.num_embeddings:
            raise ValueError(f"sequence length {length} exceeds max_position_embeddings="
                             f"{self.position_embeddings.num_embeddings}")
        positions = torch.arange(length, device=input_ids.device)
        # Without segment ids every token is in segment 0.
        segments = (self.token_type_embeddings(token_type_ids) if token_type_ids is not None
                    else self.token_type_embeddings.weight[0])
        x = self.word_embeddings(input_ids) + segments + self.position_embeddings(positions)
        x = self.dropout(self.layer_norm(x))
        return self.projection(x) if self.projection is not None else x

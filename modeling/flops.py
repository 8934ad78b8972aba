"""Training FLOPs actually spent by a BERT/ALBERT pretraining step, for throughput and MFU reporting.

Counted: every matrix multiply (2 FLOPs per multiply-add) of the encoder at the padded length it runs at; shared
ALBERT layers once per use (stored once, computed L times); attention scores and their weighted sum; the E -> H
projection; the MLM head only at the positions it is computed at (the sparse head); pooler and sentence classifier.
Backward costs twice the forward. Embedding lookups, softmax, LayerNorm and activations are left out, as usual, and
so is the forward recomputed under `gradient_checkpointing` (MFU counts the model's FLOPs, not the hardware's).
"""
from __future__ import annotations

from .config import ModelConfig


def pretraining_flops(config: ModelConfig, batch_size: int, seq_len: int, mlm_positions: int) -> float:
    """Forward + backward FLOPs of one batch of `batch_size` sequences padded to `seq_len`, with the MLM head
    evaluated at `mlm_positions` positions in total."""
    H, E, I, L, V = (config.hidden_size, config.embedding_size, config.intermediate_size,
                     config.num_hidden_layers, config.vocab_size)
    tokens = batch_size * seq_len
    per_layer = tokens * (2 * 4 * H * H + 2 * 2 * H * I) + batch_size * 2 * 2 * seq_len * seq_len * H
    forward = L * config.inner_group_num * per_layer
    if config.projects_embeddings:
        forward += tokens * 2 * E * H
    forward += mlm_positions * (2 * H * E + 2 * E * V)
    if config.sentence_head != "none":
        forward += batch_size * (2 * H * H + 2 * H * 2)
    return 3.0 * forward

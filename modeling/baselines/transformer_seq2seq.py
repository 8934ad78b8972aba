"""The Transformer encoder-decoder of Vaswani et al. (2017), built from alba's own Post-LN sub-layers.

- Embeddings: one table for source tokens, target tokens and the softmax (three-way tying, shared subword
  vocabulary), multiplied by sqrt(d_model), plus sinusoidal positions PE(pos, 2i) = sin(pos / 10000^(2i/d)),
  PE(pos, 2i+1) = cos(pos / 10000^(2i/d)), then dropout.
- Encoder layer: self-attention (source padding hidden), feed-forward (ReLU); each sub-layer
  LayerNorm(x + Dropout(Sublayer(x))), alba's `SelfAttention` and `FeedForward`.
- Decoder layer: masked self-attention (position i sees targets <= i), encoder-decoder attention, feed-forward.
- Output: logits = h E^T with the shared table E.
Step-by-step decoding keeps each decoder layer's self-attention keys and values, and computes the encoder-decoder
attention's once, so a step costs one position, not the whole prefix.
The label-smoothed loss (epsilon 0.1) is the base's; the Noam schedule is the training job's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..attention import CrossAttention, SelfAttention
from ..config import ModelConfig
from ..feedforward import FeedForward
from .seq2seq import PAD, Seq2SeqConfig, Seq2SeqModel


@dataclass
class TransformerSeq2SeqConfig(Seq2SeqConfig):
    """Defaults: a small Transformer for a 30-minute CPU budget on Multi30k (the paper's base model is d_model 512,
    8 heads, d_ff 2048, 6 + 6 layers, dropout 0.1)."""
    arch: str = "transformer"
    label_smoothing: float = 0.1
    dropout: float = 0.1
    d_model: int = 256
    num_heads: int = 4
    d_ff: int = 1024
    encoder_layers: int = 3
    decoder_layers: int = 3

    def blocks(self) -> ModelConfig:
        """The sub-layers' settings in the shape alba's blocks read them."""
        return ModelConfig(vocab_size=self.vocab_size, hidden_size=self.d_model, num_attention_heads=self.num_heads,
                           intermediate_size=self.d_ff, hidden_act="relu", hidden_dropout_prob=self.dropout,
                           attention_probs_dropout_prob=self.dropout, layer_norm_eps=1e-6)


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """(length, d_model): sin at even channels, cos at odd ones, wavelengths 2pi .. 10000 * 2pi."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[:d_model // 2])
    return table


class _EncoderLayer(nn.Module):
    def __init__(self, blocks: ModelConfig):
        super().__init__()
        self.attention = SelfAttention(blocks)
        self.feed_forward = FeedForward(blocks)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.feed_forward(self.attention(x, keep))


class _DecoderLayer(nn.Module):
    def __init__(self, blocks: ModelConfig):
        super().__init__()
        self.attention = SelfAttention(blocks)
        self.cross_attention = CrossAttention(blocks)
        self.feed_forward = FeedForward(blocks)

    def forward(self, y: torch.Tensor, causal: torch.Tensor, memory: torch.Tensor, keep: torch.Tensor):
        return self.feed_forward(self.cross_attention(self.attention(y, causal), memory, keep))


class TransformerSeq2Seq(Seq2SeqModel):
    config_class = TransformerSeq2SeqConfig

    def __init__(self, config: TransformerSeq2SeqConfig):
        super().__init__(config)
        blocks = config.blocks()
        self.embeddings = nn.Embedding(config.vocab_size, config.d_model, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = nn.ModuleList(_EncoderLayer(blocks) for _ in range(config.encoder_layers))
        self.decoder = nn.ModuleList(_DecoderLayer(blocks) for _ in range(config.decoder_layers))
        # Xavier-uniform projections (as the reference implementation), embeddings N(0, d^-1/2): scaled by sqrt(d)
        # they enter at unit size, and as the softmax's weights they give logits of unit size.
        for name, p in self.named_parameters():
            if p.dim() == 2 and name != "embeddings.weight":
                nn.init.xavier_uniform_(p)
        nn.init.normal_(self.embeddings.weight, std=config.d_model ** -0.5)
        with torch.no_grad():
            self.embeddings.weight[PAD].zero_()

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        positions = sinusoidal_positions(ids.shape[1], self.config.d_model).to(ids.device)
        return self.dropout(self.embeddings(ids) * math.sqrt(self.config.d_model) + positions)

    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> tuple:
        keep = src_mask[:, None, None, :]
        x = self._embed(src_ids)
        for layer in self.encoder:
            x = layer(x, keep)
        return (x,)

    def decode(self, memory: tuple, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        T = tgt_in.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt_in.device).tril()[None, None]
        keep = src_mask[:, None, None, :]
        y = self._embed(tgt_in)
        for layer in self.decoder:
            y = layer(y, causal, memory[0], keep)
        return y @ self.embeddings.weight.T

    def start(self, memory: tuple, src_mask: torch.Tensor) -> tuple:
        """(source mask, positions decoded, each layer's cross-attention keys and values, computed once, and its
        self-attention keys and values so far): each step then runs the newest position alone."""
        B, heads = src_mask.shape[0], self.config.num_heads
        empty = memory[0].new_zeros(B, heads, 0, self.config.d_model // heads)
        return (src_mask, torch.zeros(B, dtype=torch.long, device=src_mask.device),
                tuple(layer.cross_attention.keys_values(memory[0]) for layer in self.decoder),
                tuple((empty, empty) for _ in self.decoder))

    def step(self, state: tuple, tokens: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        src_mask, position, cross, past = state
        t = int(position[0])
        y = self.dropout(self.embeddings(tokens[:, None]) * math.sqrt(self.config.d_model)
                         + sinusoidal_positions(t + 1, self.config.d_model)[t].to(tokens.device))
        keep, grown = src_mask[:, None, None, :], []
        for layer, keys_values, kv in zip(self.decoder, cross, past):
            y, kv = layer.attention.extend(y, kv)
            y = layer.feed_forward(layer.cross_attention(y, keep=keep, keys_values=keys_values))
            grown.append(kv)
        return (y @ self.embeddings.weight.T)[:, 0], (src_mask, position + 1, cross, tuple(grown))

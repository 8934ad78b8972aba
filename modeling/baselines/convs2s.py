"""Convolutional sequence to sequence learning (Gehring, Auli, Grangier, Yarats & Dauphin 2017).

Source and target tokens are embedded with a learned absolute position added (e = w + p, g likewise), mapped
linearly to the convolutions' C channels, and run through blocks of
    h = (GLU(conv_k(x)) + x) * sqrt(0.5),    GLU(A, B) = A * sigmoid(B),
each convolution producing 2C channels (A and B). The encoder's convolutions are centred (k-1)/2 left, k/2 right
of a position, and the source's padding is zeroed before each of them, so a real token sees exactly what it would
see without the padding. The decoder's are causal (k-1 on the left only). The encoder's output, mapped back to
the embedding size, is z; every decoder layer l attends to it (multi-step attention):
    d_i = W_d h_i + b_d + g_i,    a_ij = softmax_j(d_i . z_j) over the real source positions,
    c_i = sqrt(m) * sum_j a_ij (z_j + e_j),    h_i <- (h_i + W_c c_i + b_c) * sqrt(0.5),
with m the row's real source length: the paper's m * sqrt(1/m), m undoing the averaging of uniform attention and
sqrt(1/m) the variance growth of a sum of m values. The block's residual follows as above. The top layer is
mapped to the embedding size, dropped out and projected on the vocabulary.

Every convolution and linear layer is weight-normalised (w = g v / |v|, per output unit) and starts from a normal
of std sqrt(4p / n) when it feeds a GLU and sqrt(p / n) otherwise, n its fan-in and p the retain probability of the
dropout on its input (p = 1 where there is none); embeddings start N(0, 0.1). The encoder's gradient is scaled by
1 / (2 * attention layers), as the decoder's attention layers all send gradient into it; the source embeddings'
direct path into the attention values is not scaled.

The authors' code (fairseq's `fconv`) fills in what the paper leaves open: the sqrt(0.5) on h_i + W_c c_i (the
paper only says c_i is added to h_i), dropout placement, which layers count as fed by dropout. Where it departs from
the paper's equations we follow the paper: the query adds g_i unscaled and the values are z_j + e_j (fairseq
multiplies both sums by sqrt(0.5)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ..config import ConfigError
from .seq2seq import PAD, Seq2SeqConfig, Seq2SeqModel

SQRT_HALF = math.sqrt(0.5)


@dataclass
class ConvS2SConfig(Seq2SeqConfig):
    arch: str = "convs2s"
    dropout: float = 0.1  # on the embeddings, before every convolution and before the output projection
    embedding_size: int = 256
    channels: int = 256  # C of every convolution block
    encoder_layers: int = 4
    decoder_layers: int = 4  # each with its own attention
    kernel_size: int = 3
    max_positions: int = 256  # rows of each position embedding: the longest source and target
    scale_encoder_gradient: bool = True  # the encoder's gradient times 1 / (2 * decoder_layers)

    def __post_init__(self):
        for name in ("vocab_size", "embedding_size", "channels", "encoder_layers", "decoder_layers", "kernel_size",
                     "max_positions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout!r} must be in [0, 1)")


class _ScaleGradient(torch.autograd.Function):
    """The identity forward; the gradient times `scale` backward."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def _normed(module: nn.Module, std: float) -> nn.Module:
    """`module` started N(0, std) with zero bias, then weight-normalised (so g starts at |v|: the same weight)."""
    nn.init.normal_(module.weight, std=std)
    nn.init.zeros_(module.bias)
    return weight_norm(module)


def linear(inputs: int, outputs: int, retain: float = 1.0) -> nn.Linear:
    return _normed(nn.Linear(inputs, outputs), math.sqrt(retain / inputs))


def glu_conv(channels: int, kernel: int, retain: float) -> nn.Conv1d:
    """C -> 2C channels (A and B of the GLU), unpadded: the caller pads."""
    return _normed(nn.Conv1d(channels, 2 * channels, kernel), math.sqrt(4 * retain / (kernel * channels)))


def convolve(conv: nn.Conv1d, x: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """(B, T, C) -> (B, T', 2C): `conv` over x with `left` and `right` zero positions added."""
    return conv(F.pad(x.transpose(1, 2), (left, right))).transpose(1, 2)


class EncoderLayer(nn.Module):
    """x <- (GLU(conv(x)) + x) * sqrt(0.5), the convolution centred and blind to the padding."""

    def __init__(self, config: ConvS2SConfig):
        super().__init__()
        self.conv = glu_conv(config.channels, config.kernel_size, 1 - config.dropout)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        k = self.conv.kernel_size[0]
        h = convolve(self.conv, self.dropout(x) * src_mask[..., None], (k - 1) // 2, k // 2)
        return (F.glu(h, dim=-1) + x) * SQRT_HALF


class DecoderLayer(nn.Module):
    """A causal GLU block with its own attention on the encoder (see the module docstring)."""

    def __init__(self, config: ConvS2SConfig):
        super().__init__()
        self.conv = glu_conv(config.channels, config.kernel_size, 1 - config.dropout)
        self.attention_in = linear(config.channels, config.embedding_size)  # W_d, b_d
        self.attention_out = linear(config.embedding_size, config.channels)  # W_c, b_c
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, target_embedding: torch.Tensor, memory: tuple, src_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, C), target_embedding g (B, T, E), memory (z, z + e) each (B, S, E): the new x and the
        attention weights (B, T, S)."""
        h = F.glu(convolve(self.conv, self.dropout(x), self.conv.kernel_size[0] - 1, 0), dim=-1)
        return self.attend(h, x, target_embedding, memory, src_mask)

    def step(self, window: torch.Tensor, target_embedding: torch.Tensor, memory: tuple, src_mask: torch.Tensor
             ) -> torch.Tensor:
        """One new position: `window` (B, k, C) holds this layer's inputs at the k positions its convolution
        reads (the k-1 before, zeros before the start, and the new one); the new position's output (B, 1, C)."""
        h = F.glu(convolve(self.conv, self.dropout(window), 0, 0), dim=-1)
        return self.attend(h, window[:, -1:], target_embedding, memory, src_mask)[0]

    def attend(self, h: torch.Tensor, x: torch.Tensor, target_embedding: torch.Tensor, memory: tuple,
               src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block after its convolution: multi-step attention from h, then the residual with the input x."""
        keys, values = memory
        d = self.attention_in(h) + target_embedding
        scores = (d @ keys.transpose(1, 2)).masked_fill(~src_mask[:, None, :], float("-inf"))
        weights = scores.softmax(-1)
        m = src_mask.sum(1).to(values.dtype)
        c = (weights @ values) * m.sqrt()[:, None, None]
        h = (h + self.attention_out(c)) * SQRT_HALF
        return (h + x) * SQRT_HALF, weights


class ConvS2S(Seq2SeqModel):
    config_class = ConvS2SConfig

    def __init__(self, config: ConvS2SConfig):
        super().__init__(config)
        E, C, retain = config.embedding_size, config.channels, 1 - config.dropout
        self.src_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=PAD)
        self.src_positions = nn.Embedding(config.max_positions, E)
        self.tgt_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=PAD)
        self.tgt_positions = nn.Embedding(config.max_positions, E)
        for table in (self.src_embeddings, self.src_positions, self.tgt_embeddings, self.tgt_positions):
            nn.init.normal_(table.weight, std=0.1)
        with torch.no_grad():
            self.src_embeddings.weight[PAD] = 0
            self.tgt_embeddings.weight[PAD] = 0
        self.encoder_in = linear(E, C, retain)
        self.encoder_layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.encoder_layers))
        self.encoder_out = linear(C, E)
        self.decoder_in = linear(E, C, retain)
        self.decoder_layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.decoder_layers))
        self.decoder_out = linear(C, E)
        self.output = linear(E, config.vocab_size, retain)
        self.dropout = nn.Dropout(config.dropout)

    def embed(self, tokens: nn.Embedding, positions: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        """w + p of every position, dropped out: (B, T, E)."""
        if ids.shape[1] > self.config.max_positions:
            raise ValueError(f"a sequence of {ids.shape[1]} tokens is longer than max_positions="
                             f"{self.config.max_positions}")
        return self.dropout(tokens(ids) + positions(torch.arange(ids.shape[1], device=ids.device)))

    def encode(self, src_ids: torch.Tensor, src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z, z + e): the attention's keys and values, each (B, S, E)."""
        e = self.embed(self.src_embeddings, self.src_positions, src_ids)
        x = self.encoder_in(e)
        for layer in self.encoder_layers:
            x = layer(x, src_mask)
        z = self.encoder_out(x)
        if self.config.scale_encoder_gradient:
            z = _ScaleGradient.apply(z, 1 / (2 * self.config.decoder_layers))
        return z, z + e

    def decode(self, memory: tuple, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decode_with_attention(memory, src_mask, tgt_in)[0]

    def decode_with_attention(self, memory: tuple, src_mask: torch.Tensor, tgt_in: torch.Tensor
                              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, vocab) logits and the last layer's attention weights (B, T, S)."""
        g = self.embed(self.tgt_embeddings, self.tgt_positions, tgt_in)
        x = self.decoder_in(g)
        for layer in self.decoder_layers:
            x, weights = layer(x, g, memory, src_mask)
        return self.output(self.dropout(self.decoder_out(x))), weights

    def start(self, memory: tuple, src_mask: torch.Tensor) -> tuple:
        """(memory, source mask, positions decoded, each decoder layer's last k-1 inputs): a step then runs the
        newest position alone, exactly as the causal convolutions see it in `decode`."""
        B, k = src_mask.shape[0], self.config.kernel_size
        empty = memory[0].new_zeros(B, k - 1, self.config.channels)  # the causal padding
        return (memory, src_mask, torch.zeros(B, dtype=torch.long, device=src_mask.device),
                tuple(empty for _ in self.decoder_layers))

    def step(self, state: tuple, tokens: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        memory, src_mask, position, windows = state
        t = int(position[0])
        if t >= self.config.max_positions:
            raise ValueError(f"position {t} is beyond max_positions={self.config.max_positions}")
        g = self.dropout(self.tgt_embeddings(tokens[:, None]) + self.tgt_positions(position[:, None]))
        x, kept = self.decoder_in(g), []
        for layer, window in zip(self.decoder_layers, windows):
            window = torch.cat([window, x], dim=1)
            x = layer.step(window, g, memory, src_mask)
            kept.append(window[:, 1:])
        return self.output(self.dropout(self.decoder_out(x)))[:, 0], (memory, src_mask, position + 1, tuple(kept))

    def attention_weights(self, src_ids: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """The last decoder layer's attention (B, T, S) under teacher forcing; over the reversed source when the
        config reverses it."""
        memory, src_mask = self.encode_source(src_ids)
        return self.decode_with_attention(memory, src_mask, tgt_in)[1]

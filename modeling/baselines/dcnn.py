"""Dynamic convolutional neural network (Kalchbrenner, Grefenstette & Blunsom 2014): word vectors (d rows) -> per
layer l of L: wide one-dimensional convolution of each row (output length s + m - 1; every feature map sums its
convolutions of all maps below) -> folding (adjacent rows summed, d halved; in the last layer, as in the paper's
Figure 3) -> dynamic k-max pooling, k_l = max(k_top, ceil((L - l) / L * s)) -> bias and tanh; then dropout and a
linear softmax classifier on the k_top columns of the top layer.

Sentences of a batch are right-padded: every layer zeroes the positions past a sentence's own length (so the next
wide convolution sees the zeros it would see alone) and masks them out of the k-max, so a prediction does not depend
on the other sentences of its batch. Where a layer holds fewer than k values (possible only when k_top exceeds the
first filter width), it keeps all of them and the missing columns are zeros.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .text_cnn import TextCNN


@dataclass
class DCNNConfig(SavedConfig):
    vocab_size: int
    num_labels: int = 2
    embedding_size: int = 48  # d, the rows the convolutions run along
    filter_widths: tuple[int, ...] = (7, 5)  # m of each layer
    feature_maps: tuple[int, ...] = (6, 14)  # of each layer
    k_top: int = 4
    dropout: float = 0.5
    init_range: float = 0.25  # word vectors uniform in +-init_range (filters: +-1/sqrt(fan in))

    def __post_init__(self):
        self.filter_widths = tuple(int(w) for w in self.filter_widths)
        self.feature_maps = tuple(int(n) for n in self.feature_maps)
        if not self.filter_widths or len(self.filter_widths) != len(self.feature_maps):
            raise ValueError(f"one filter width per layer and one feature-map count per layer, got "
                             f"{self.filter_widths} and {self.feature_maps}")
        if min(self.filter_widths + self.feature_maps) < 1 or self.k_top < 1:
            raise ValueError("filter widths, feature maps and k_top must be positive")
        if self.embedding_size % 2:
            raise ValueError(f"folding halves the embedding size, which must be even, got {self.embedding_size}")


def dynamic_k(layer: int, layers: int, lengths: torch.Tensor, k_top: int) -> torch.Tensor:
    """k_l = max(k_top, ceil((L - l) / L * s)) for layer l of L (1-based) and sentence lengths s."""
    return torch.clamp(-((layer - layers) * lengths // layers), min=k_top)  # ceil(a / b) = -(-a // b)


def wide_convolution(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x [B, d, n_in, T], weight [d * n_out, n_in, m] -> [B, d, n_out, T + m - 1]: row r of output map j is the sum
    over input maps i of the full (zero-padded) convolution of row r of map i with the row's own filter m_{j,i,r}."""
    b, d, n_in, t = x.shape
    m = weight.shape[-1]
    # Conv1d cross-correlates; flipping the filter makes it the paper's convolution (the same up to learned weights).
    out = F.conv1d(x.reshape(b, d * n_in, t), weight.flip(-1), padding=m - 1, groups=d)
    return out.reshape(b, d, -1, t + m - 1)


def fold(x: torch.Tensor) -> torch.Tensor:
    """[B, d, n, T] -> [B, d/2, n, T]: rows 2i and 2i + 1 summed."""
    b, d, n, t = x.shape
    return x.reshape(b, d // 2, 2, n, t).sum(2)


def k_max_pool(x: torch.Tensor, lengths: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x [B, d, n, T] with valid lengths [B]: the k[b] largest values of each row among its first lengths[b], in
    their original order, as [B, d, n, max k]; columns past a sentence's own k (or its length, if shorter) are zero.
    Returns them and the new lengths min(k, length)."""
    k = torch.minimum(k, lengths)
    width = int(k.max())
    positions = torch.arange(x.shape[-1], device=x.device)
    padded = (positions[None, :] >= lengths[:, None])[:, None, None, :]
    top = x.masked_fill(padded, float("-inf")).topk(width, -1).indices  # by value, largest first
    beyond = (torch.arange(width, device=x.device)[None, :] >= k[:, None])[:, None, None, :]
    order = top.masked_fill(beyond, x.shape[-1]).sort(-1).values  # the kept positions ascending, then the rest
    pooled = x.gather(-1, order.clamp(max=x.shape[-1] - 1))
    return pooled.masked_fill(beyond, 0.0), k


class DCNN(AlbaPreTrainedModel):
    config_class = DCNNConfig

    def __init__(self, config: DCNNConfig):
        super().__init__(config)
        d, r = config.embedding_size, config.init_range
        self.embeddings = nn.Embedding(config.vocab_size, d, padding_idx=0)
        nn.init.uniform_(self.embeddings.weight, -r, r)
        with torch.no_grad():
            self.embeddings.weight[0] = 0
        self.filters, self.biases = nn.ParameterList(), nn.ParameterList()
        rows, maps = d, 1
        for i, (m, n) in enumerate(zip(config.filter_widths, config.feature_maps)):
            fan_in = maps * m
            self.filters.append(nn.Parameter(torch.empty(rows * n, maps, m).uniform_(-1, 1) / fan_in ** 0.5))
            rows //= 2 if i == len(config.filter_widths) - 1 else 1
            self.biases.append(nn.Parameter(torch.zeros(rows, n, 1)))  # one per row of each map
            maps = n
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(rows * maps * config.k_top, config.num_labels)

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The top layer's k_top-max pooled maps, flattened: [B, d/2 * n_L * k_top]."""
        sentence = attention_mask.sum(-1)  # s; ids are right-padded
        x = (self.embeddings(input_ids) * attention_mask[..., None]).transpose(1, 2)[:, :, None, :]  # [B, d, 1, T]
        lengths, layers = sentence, len(self.filters)
        for l, (weight, bias) in enumerate(zip(self.filters, self.biases), 1):
            x = wide_convolution(x, weight)
            lengths = lengths + weight.shape[-1] - 1
            if l == layers:
                x = fold(x)
            x, lengths = k_max_pool(x, lengths, dynamic_k(l, layers, sentence, self.config.k_top))
            inside = torch.arange(x.shape[-1], device=x.device)[None, :] < lengths[:, None]
            x = torch.tanh(x + bias) * inside[:, None, None, :]  # padding stays zero for the next convolution
        if x.shape[-1] < self.config.k_top:  # every sentence of the batch shorter than k_top
            x = F.pad(x, (0, self.config.k_top - x.shape[-1]))
        return x.flatten(1)

    forward = TextCNN.forward  # dropout and the classifier on `features`, loss and counts as in the text CNN

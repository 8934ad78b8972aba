"""Convolutional sentence classifier (Kim 2014): word vectors -> convolutions of widths 3/4/5 with 100 maps each ->
ReLU -> max over time -> dropout -> linear logits, with a max-norm constraint on the output weights.

Embedding modes: 'rand' (every vector uniform in +-init_range and trained), 'static' (pretrained vectors, frozen),
'non-static' (pretrained vectors, trained) and 'multichannel' (a frozen and a trained copy of the pretrained vectors;
each filter spans both channels, i.e. its responses on the two are added).

Every sentence is padded with max_width - 1 zero vectors on both sides (the paper's code pads by the widest
filter), and only the windows inside a sentence's own padded span are pooled, so a prediction does not depend on how
long the other sentences of its batch are.

The activation and the pooling are Kim's (ReLU, 1-max) by default; the others are the alternatives of Zhang &
Wallace's (2015) sensitivity analysis: tanh, sigmoid, softplus, cube, tanh(x^3) and the identity; average pooling
over the windows, and k-max pooling ("kmaxK": each map's K largest values, in decreasing order; zeros where a
sentence has fewer than K windows).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel

MODES = ("rand", "static", "non-static", "multichannel")
ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": F.softplus,
               "cube": lambda x: x ** 3, "tanh_cube": lambda x: torch.tanh(x ** 3), "identity": lambda x: x}


@dataclass
class TextCNNConfig(SavedConfig):
    vocab_size: int
    num_labels: int = 2
    mode: str = "rand"
    embedding_size: int = 300
    filter_widths: tuple[int, ...] = (3, 4, 5)
    num_filters: int = 100  # feature maps per width
    dropout: float = 0.5
    max_norm: float = 3.0  # on each row (class) of the output weights; 0 disables
    init_range: float = 0.25  # rand vectors and words without a pretrained vector: uniform in +-init_range
    activation: str = "relu"  # a key of ACTIVATIONS
    pooling: str = "max"  # "max" (1-max), "mean", or "kmaxK" (the K largest)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.pooling not in ("max", "mean") and not (self.pooling.startswith("kmax") and
                                                        self.pooling[4:].isdigit() and int(self.pooling[4:]) > 0):
            raise ValueError(f"pooling must be 'max', 'mean' or 'kmaxK' with K a positive integer, got "
                             f"{self.pooling!r}")

    @property
    def pooled_per_map(self) -> int:
        return int(self.pooling[4:]) if self.pooling.startswith("kmax") else 1
        self.filter_widths = tuple(int(w) for w in self.filter_widths)
        if not self.filter_widths or min(self.filter_widths) < 1:
            raise ValueError(f"filter widths must be positive, got {self.filter_widths}")



@dataclass
class TextCNNOutput:
    loss: torch.Tensor | None
    label_correct: torch.Tensor | None
    label_total: torch.Tensor | None
    logits: torch.Tensor


class TextCNN(AlbaPreTrainedModel):
    config_class = TextCNNConfig

    def __init__(self, config: TextCNNConfig, vectors: np.ndarray | torch.Tensor | None = None):
        """`vectors` [vocab_size, embedding_size]: the starting vectors of the pretrained modes (row 0, the padding,
        is zeroed); required unless the mode is 'rand'."""
        super().__init__(config)
        v, d = config.vocab_size, config.embedding_size
        if config.mode == "rand":
            initial = torch.empty(v, d).uniform_(-config.init_range, config.init_range)
        elif vectors is None:
            raise ValueError(f"mode {config.mode!r} needs pretrained vectors")
        else:
            initial = torch.as_tensor(np.asarray(vectors), dtype=torch.float32).clone()
            if tuple(initial.shape) != (v, d):
                raise ValueError(f"vectors have shape {tuple(initial.shape)}, expected {(v, d)}")
        initial[0] = 0
        self.embeddings = nn.ModuleList()
        for frozen in {"rand": [False], "static": [True], "non-static": [False],
                       "multichannel": [True, False]}[config.mode]:
            emb = nn.Embedding(v, d, padding_idx=0)
            emb.weight.data.copy_(initial)
            emb.weight.requires_grad_(not frozen)
            self.embeddings.append(emb)
        # A filter spans all channels: input feature c*d + k is dimension k of channel c. (Conv1d over C*d inputs
        # computes the same as the paper's Conv2d with a full-width kernel, several times faster on CPU.)
        self.convs = nn.ModuleList(nn.Conv1d(len(self.embeddings) * d, config.num_filters, w)
                                   for w in config.filter_widths)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.num_filters * len(config.filter_widths) * config.pooled_per_map,
                                    config.num_labels)

    @classmethod
    def for_loading(cls, config: TextCNNConfig) -> "TextCNN":
        """The pretrained modes need starting vectors; the loaded weights replace these zeros."""
        return cls(config, None if config.mode == "rand" else np.zeros((config.vocab_size, config.embedding_size)))

    @property
    def pad(self) -> int:
        return max(self.config.filter_widths) - 1

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The pooled features [B, num_filters * len(filter_widths) * K]: per width, the activation of the
        convolution pooled over the sentence's windows."""
        lengths = attention_mask.sum(-1)  # [B]; ids are right-padded
        ids = input_ids * attention_mask.to(input_ids.dtype)  # padding is id 0 whatever the caller put there
        x = torch.cat([emb(ids) for emb in self.embeddings], -1).transpose(1, 2)  # [B, C*d, L]
        x = F.pad(x, (self.pad, self.pad))  # zero vectors on both sides of the time axis
        pooled = []
        activation, pooling = ACTIVATIONS[self.config.activation], self.config.pooling
        for conv, width in zip(self.convs, self.config.filter_widths):
            h = activation(conv(x))  # [B, F, T], window t covers padded positions t .. t+width-1
            t = torch.arange(h.shape[-1], device=h.device)
            inside = (t[None, :] + width <= (lengths + 2 * self.pad)[:, None])[:, None, :]  # [B, 1, T]
            if pooling == "mean":
                pooled.append((h * inside).sum(-1) / inside.sum(-1))
            elif pooling == "max":
                pooled.append(h.masked_fill(~inside, float("-inf")).amax(-1))
            else:
                k = self.config.pooled_per_map
                if h.shape[-1] < k:  # fewer windows than K in the whole batch
                    h, inside = F.pad(h, (0, k - h.shape[-1])), F.pad(inside, (0, k - inside.shape[-1]))
                top = h.masked_fill(~inside, float("-inf")).topk(k, dim=-1).values  # [B, F, K]
                pooled.append(top.masked_fill(top == float("-inf"), 0.0).flatten(1))
        return torch.cat(pooled, -1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor | None = None) -> TextCNNOutput:
        logits = self.classifier(self.dropout(self.features(input_ids, attention_mask)))
        if labels is None:
            return TextCNNOutput(None, None, None, logits)
        return TextCNNOutput(F.cross_entropy(logits, labels), (logits.argmax(-1) == labels).sum(),
                             labels.new_tensor(len(labels)), logits)

    @torch.no_grad()
    def apply_max_norm(self) -> None:
        """Rescale each output weight row (one per class) whose L2 norm exceeds max_norm down to max_norm."""
        if self.config.max_norm > 0:
            w = self.classifier.weight
            w.mul_((self.config.max_norm / w.norm(dim=1, keepdim=True).clamp(min=1e-12)).clamp(max=1.0))



def adadelta_with_max_norm(model: TextCNN, rho: float = 0.95, eps: float = 1e-6, lr: float = 1.0):
    """The paper's optimizer: Adadelta over the trainable parameters, the max-norm rescaling after every step
    (an optimizer hook, so that any training loop that steps it applies the constraint)."""
    optimizer = torch.optim.Adadelta([p for p in model.parameters() if p.requires_grad], lr=lr, rho=rho, eps=eps)
    optimizer.register_step_post_hook(lambda *_: model.apply_max_norm())
    return optimizer


def starting_vectors(words, pretrained, init_range: float, generator: np.random.Generator) -> tuple[np.ndarray, int]:
    """Rows for `words` from `pretrained` (a WordVectors); words it lacks get uniform +-init_range vectors, as in the
    paper. Returns the matrix and how many words had a pretrained vector."""
    dim = pretrained.vectors.shape[1]
    rows = generator.uniform(-init_range, init_range, (len(words), dim)).astype(np.float32)
    found = 0
    for i, w in enumerate(words):
        j = pretrained.index.get(w)
        if j is not None:
            rows[i] = pretrained.vectors[j]
            found += 1
    return rows, found

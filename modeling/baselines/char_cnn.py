"""Character-level convolutional classifier (Zhang, Zhao & LeCun 2015), the "small" variant.

Text is lower-cased and quantized backwards (the last character first, so the fully connected layers always see the
end of a long text at the same place) into `length` one-hot vectors over a 70-character alphabet; characters outside
it, blanks included, and positions past the text are all-zero vectors. Six temporal convolutions (kernel 7, 7, 3, 3,
3, 3; max-pooling 3 after the 1st, 2nd and 6th; ReLU) of `frames` feature maps, then two fully connected layers with
dropout and the output layer. Weights start N(0, 0.05) (the small model's initialisation), biases at zero.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel

# The paper's alphabet: 26 letters, 10 digits, 33 other characters and the newline.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{}\n"
# (kernel, pool) of the six convolutions; pool 0: none.
LAYERS = ((7, 3), (7, 3), (3, 0), (3, 0), (3, 0), (3, 3))


@dataclass
class CharCNNConfig(SavedConfig):
    num_labels: int
    length: int = 1014  # l0: characters kept per text
    frames: int = 256  # feature maps of every convolution (large model: 1024)
    hidden_size: int = 1024  # units of the two fully connected layers (large model: 2048)
    dropout: float = 0.5
    init_std: float = 0.05
    alphabet: str = ALPHABET

    def __post_init__(self):
        if self.output_frames() < 1:
            raise ValueError(f"length {self.length} is too short for the six convolutions (at least 123)")

    def output_frames(self) -> int:
        """Time steps left after the convolutions and poolings: (l0 - 96) / 27 for the paper's layers."""
        n = self.length
        for kernel, pool in LAYERS:
            n = n - kernel + 1
            n = n // pool if pool else n
        return n



def quantize(texts: Sequence[str], length: int, alphabet: str = ALPHABET) -> np.ndarray:
    """[len(texts), length] int64: 1 + the alphabet index of each character in backward order, 0 for a character
    outside the alphabet and past the text's end. The first `length` characters are kept."""
    index = {c: i + 1 for i, c in enumerate(dict.fromkeys(alphabet))}  # '-' appears twice in the paper's list
    out = np.zeros((len(texts), length), dtype=np.int64)
    for row, text in enumerate(texts):
        kept = text[:length].lower()
        out[row, :len(kept)] = [index.get(c, 0) for c in reversed(kept)]
    return out


@dataclass
class CharCNNOutput:
    loss: torch.Tensor | None
    label_correct: torch.Tensor | None
    label_total: torch.Tensor | None
    logits: torch.Tensor


class CharCNN(AlbaPreTrainedModel):
    config_class = CharCNNConfig

    def __init__(self, config: CharCNNConfig):
        super().__init__(config)
        self.alphabet_size = len(dict.fromkeys(config.alphabet))
        widths = [self.alphabet_size] + [config.frames] * len(LAYERS)
        self.convs = nn.ModuleList(nn.Conv1d(widths[i], widths[i + 1], kernel) for i, (kernel, _) in enumerate(LAYERS))
        self.fc1 = nn.Linear(config.frames * config.output_frames(), config.hidden_size)
        self.fc2 = nn.Linear(config.hidden_size, config.hidden_size)
        self.output = nn.Linear(config.hidden_size, config.num_labels)
        self.dropout = nn.Dropout(config.dropout)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.normal_(module.weight, std=config.init_std)
                nn.init.zeros_(module.bias)

    def one_hot(self, input_ids: torch.Tensor) -> torch.Tensor:
        """[B, L] quantized ids -> [B, alphabet, L]; id 0 (unknown, padding) is the zero vector."""
        return F.one_hot(input_ids, self.alphabet_size + 1)[..., 1:].transpose(1, 2).float()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> CharCNNOutput:
        """`input_ids` [B, length] from `quantize`; `attention_mask` is accepted for the engine and unused (the
        zero vectors already mark what is not text)."""
        x = self.one_hot(input_ids)
        for conv, (_, pool) in zip(self.convs, LAYERS):
            x = F.relu(conv(x))
            if pool:
                x = F.max_pool1d(x, pool)
        x = self.dropout(F.relu(self.fc1(x.flatten(1))))
        x = self.dropout(F.relu(self.fc2(x)))
        logits = self.output(x)
        if labels is None:
            return CharCNNOutput(None, None, None, logits)
        return CharCNNOutput(F.cross_entropy(logits, labels), (logits.argmax(-1) == labels).sum(),
                             labels.new_tensor(len(labels)), logits)


"""The activations of the papers, chosen by name: the two GELU forms and the Transformer's ReLU."""
from __future__ import annotations

import functools

import torch.nn.functional as F

# "gelu" is the exact erf form of BERT; "gelu_new" the tanh approximation of ALBERT (and of Hugging Face's name).
ACTIVATION_FUNCTIONS = {
    "gelu": F.gelu,
    "gelu_new": functools.partial(F.gelu, approximate="tanh"),
    "relu": F.relu,  # Vaswani et al.'s feed-forward sub-layer
}

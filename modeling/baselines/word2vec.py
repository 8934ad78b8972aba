"""word2vec (Mikolov et al. 2013): skip-gram and CBOW, trained with negative sampling or hierarchical softmax.

Both objectives are binary logistic losses of dot products between an input vector h (a context word's, or the
mean of a window's for CBOW) and output vectors (the target word and its negative samples, or the inner nodes on
the target's Huffman path). Training is word2vec's own plain SGD, made inside the forward pass by `_SequentialSGD`
(see there why it cannot be one optimizer step per batch); every batch carries the learning rate of its place in
the linear decay, so any loop that calls `model(**batch)` (the shared engine included) trains it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel
from .huffman import huffman_tree
from .word_vectors import WordVectors

ARCHITECTURES = ("skipgram", "cbow")
OBJECTIVES = ("negative", "hierarchical")
# Examples per sequential SGD step, by (objective, architecture). Every example of a hierarchical-softmax chunk
# updates the root node, so its chunks must be small. Measured against gensim on WordSim-353 (head500, 5 epochs):
# at 512, CBOW diverged and skip-gram lost 0.1-0.2 Spearman; CBOW at 64 still lost 0.3 on one seed in two, at 32
# it stays within about 0.03-0.05.
DEFAULT_CHUNK = {("negative", "skipgram"): 512, ("negative", "cbow"): 512,
                 ("hierarchical", "skipgram"): 64, ("hierarchical", "cbow"): 32}


@dataclass
class Word2VecConfig(SavedConfig):
    vocab_size: int
    dim: int = 100
    architecture: str = "skipgram"
    objective: str = "negative"
    code_depth: int = 0  # hierarchical softmax: the longest Huffman code (fixes the shape of the path tables)
    chunk_size: int = 0  # examples per sequential SGD step; 0 takes DEFAULT_CHUNK
    compile: bool = False  # torch.compile the chunk step: about twice as fast on CPU, after ~10 s of compiling

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES or self.objective not in OBJECTIVES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES} and objective one of {OBJECTIVES}; "
                             f"got {self.architecture!r}, {self.objective!r}")
        if self.vocab_size < 1 or self.dim < 1 or self.chunk_size < 0:
            raise ValueError("vocab_size and dim must be positive and chunk_size non-negative")
        self.chunk_size = self.chunk_size or DEFAULT_CHUNK[self.objective, self.architecture]



@dataclass
class Word2VecOutput:
    loss: torch.Tensor  # summed over the batch's examples
    example_loss: torch.Tensor | None = None  # the mean per example, for logs
    example_total: torch.Tensor | None = None


def _chunk_step(w_in, w_out, inputs, input_mask, nodes, labels, weights, lr):
    """The summed loss of one chunk of examples and, unless `lr` is None, word2vec's SGD step on its rows.

    Example b's loss is sum_t weights_bt * BCE(sigmoid(h_b . w_out[nodes_bt]), labels_bt), h_b its input row, or
    the mean of its masked input rows (CBOW). As in word2vec.c and gensim, every context word of a CBOW example
    receives the whole gradient of h, not 1/n of it (the true gradient of a mean): this is the update whose
    learning rates the literature reports."""
    # index_select and a broadcast product: on CPU several times faster than advanced indexing and a bmm of
    # thousands of (T, D) x (D, 1) matrices.
    dim = w_in.shape[1]
    out = w_out.index_select(0, nodes.reshape(-1)).view(*nodes.shape, dim)  # (b, T, D)
    if input_mask is None:
        h = w_in.index_select(0, inputs)
    else:
        m = input_mask.to(w_in.dtype)
        rows = w_in.index_select(0, inputs.reshape(-1)).view(*inputs.shape, dim)
        h = (m.unsqueeze(2) * rows).sum(1) / m.sum(1, keepdim=True).clamp(min=1)
    scores = (out * h.unsqueeze(1)).sum(2)
    loss = F.binary_cross_entropy_with_logits(scores, labels, weight=weights, reduction="sum")
    if lr is not None:
        g = (labels - torch.sigmoid(scores)) * weights * lr  # minus the step size times d loss / d score
        grad_h = torch.bmm(g.unsqueeze(1), out).squeeze(1)
        # index_add_ sums the steps of a row that occurs several times in the chunk, as consecutive SGD steps would.
        w_out.index_add_(0, nodes.reshape(-1), (g.unsqueeze(2) * h.unsqueeze(1)).reshape(-1, dim))
        if input_mask is None:
            w_in.index_add_(0, inputs, grad_h)
        else:
            w_in.index_add_(0, inputs.reshape(-1), (m.unsqueeze(2) * grad_h.unsqueeze(1)).reshape(-1, dim))
    return loss


class _SequentialSGD(torch.autograd.Function):
    """The loss summed over a batch, with word2vec's SGD update made chunk by chunk while it is computed: each
    chunk's scores are taken after the previous chunk's update, close to word2vec's example-by-example loop.
    Summing a whole batch's gradients into one optimizer step instead diverges at word2vec's learning rates (a
    frequent word is a negative sample thousands of times in a batch). Backward has nothing left to do: the
    parameters get no .grad, so an optimizer step leaves them be."""

    @staticmethod
    def forward(ctx, w_in, w_out, inputs, input_mask, nodes, labels, weights, lr, chunk, step):
        total = w_in.new_zeros(())
        n = len(inputs)
        if n % chunk:  # pad to whole chunks (weight 0: no loss, no update) so that a compiled step has one shape
            pad = chunk - n % chunk
            grow = lambda t: None if t is None else torch.cat([t, t.new_zeros((pad,) + t.shape[1:])])
            inputs, input_mask, nodes, labels, weights = map(grow, (inputs, input_mask, nodes, labels, weights))
        for lo in range(0, n, chunk):
            part = lambda t: None if t is None else t[lo:lo + chunk]
            total += step(w_in, w_out, part(inputs), part(input_mask), part(nodes), part(labels), part(weights), lr)
        return total

    @staticmethod
    def backward(ctx, upstream):
        return (None,) * 10


class Word2Vec(AlbaPreTrainedModel):
    """Saved and counted as every alba model (`save_pretrained`, `num_parameters`)."""
    config_class = Word2VecConfig

    def __init__(self, config: Word2VecConfig, counts: np.ndarray | None = None, seed: int = 0):
        """`counts` (word frequencies, aligned with the vocabulary) build the Huffman tree of hierarchical
        softmax; a model loaded from a checkpoint gets the tree from its weights instead."""
        super().__init__(config)
        self._step = torch.compile(_chunk_step, dynamic=False) if config.compile else _chunk_step
        v, d = config.vocab_size, config.dim
        # word2vec's initialisation: input vectors uniform in ±0.5/dim, output vectors zero.
        rand = torch.rand(v, d, generator=torch.Generator().manual_seed(seed))
        self.input_vectors = nn.Parameter((rand - 0.5) / d)
        hierarchical = config.objective == "hierarchical"
        self.output_vectors = nn.Parameter(torch.zeros(max(v - 1, 1) if hierarchical else v, d))
        if hierarchical:
            if counts is not None:
                points, codes, mask = huffman_tree(counts).padded()
                config.code_depth = points.shape[1]
            else:
                shape = (v, max(config.code_depth, 1))
                points, codes, mask = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, bool)
            self.register_buffer("path_nodes", torch.from_numpy(points))
            # word2vec's convention: a node's label is 1 - code, the probability of taking branch 0.
            self.register_buffer("path_labels", torch.from_numpy(1.0 - codes).float())
            self.register_buffer("path_mask", torch.from_numpy(mask).float())

    def forward(self, input_ids: torch.Tensor, targets: torch.Tensor, attention_mask: torch.Tensor | None = None,
                learning_rate: torch.Tensor | None = None) -> Word2VecOutput:
        """`input_ids`: (B,) skip-gram context words or (B, C) CBOW windows with `attention_mask`; `targets`:
        (B, 1 + negatives) the predicted word then its negative samples, or (B, 1) for hierarchical softmax.
        With `learning_rate` (a one-element tensor), in training mode, the SGD update is made as the loss is
        computed; the loss is summed over the examples."""
        if self.config.objective == "negative":
            nodes = targets
            labels = torch.zeros(targets.shape, dtype=self.input_vectors.dtype, device=targets.device)
            labels[:, 0] = 1
            # word2vec skips a negative sample that is the target itself.
            weights = torch.ones_like(labels)
            weights[:, 1:] = (targets[:, 1:] != targets[:, :1]).to(labels.dtype)
        else:
            word = targets[:, 0]
            nodes, labels, weights = self.path_nodes[word], self.path_labels[word], self.path_mask[word]
        lr = learning_rate.reshape(-1)[0] if learning_rate is not None and self.training else None
        loss = _SequentialSGD.apply(self.input_vectors, self.output_vectors, input_ids, attention_mask, nodes,
                                    labels, weights, lr, self.config.chunk_size, self._step)
        n = torch.tensor(len(input_ids), device=loss.device)
        return Word2VecOutput(loss=loss, example_loss=loss.detach() / n.clamp(min=1), example_total=n)

    def word_vectors(self, words) -> WordVectors:
        """The trained input vectors (word2vec's and gensim's exported vectors) of `words`, the vocabulary."""
        return WordVectors(words, self.input_vectors.detach().float().cpu().numpy())

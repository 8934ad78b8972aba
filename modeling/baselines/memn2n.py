"""End-to-end memory network (Sukhbaatar et al., 2015) for bAbI-style question answering.

A question u and memories x_1..x_n (sentences, slot 0 the most recent) go through K hops:
    m_i = enc(A^k, x_i) + T_A^k(i),  c_i = enc(C^k, x_i) + T_C^k(i),  p = softmax(u·m),  o = Σ p_i c_i,
    u ← u + o (adjacent tying) or u ← H u + o (layer-wise tying),
and the answer is softmax(W u). `enc` sums word embeddings, weighted by the position encoding
l_kj = (1 − j/J) − (k/d)(1 − 2j/J) (word j of J, dimension k of d) or unweighted (bag of words).

Linear start: the model begins without the softmax over memories (p = u·m) and `enable_softmax` puts it back.
That switch and the best validation loss seen during linear start are buffers, so checkpoints carry them and a
resumed run continues in the same mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel

ENCODINGS = ("position", "bow")
TYINGS = ("adjacent", "layerwise")


@dataclass
class MemN2NConfig(SavedConfig):
    vocab_size: int
    embedding_size: int = 20
    hops: int = 3
    memory_size: int = 50  # memory slots: the most recent sentences, and the rows of the temporal encodings
    encoding: str = "position"
    temporal: bool = True
    tying: str = "adjacent"
    init_std: float = 0.1  # N(0, 0.1), not N(0, 1)
    linear_start: bool = True

    def __post_init__(self):
        if self.encoding not in ENCODINGS or self.tying not in TYINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS} and tying one of {TYINGS}")



@dataclass
class MemN2NOutput:
    loss: torch.Tensor  # cross-entropy summed over the batch: the reference code's loss, for which lr 0.01 and
    # the gradient clip at 40 are set (a mean would make every step 1/batch as large)
    answer_loss: torch.Tensor  # mean cross-entropy per question
    answer_correct: torch.Tensor
    answer_total: torch.Tensor
    logits: torch.Tensor
    attention: torch.Tensor  # hop x batch x slot: the memory weights p of each hop


def position_encoding(ids: torch.Tensor, dim: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The weights l_kj for word ids [..., J] (NIL-padded on the right): [..., J, dim], zero on padding. J is each
    sentence's own length, as in the paper."""
    present = (ids != 0).to(dtype)
    length = present.sum(-1, keepdim=True).clamp(min=1)  # [..., 1]
    j = torch.arange(1, ids.shape[-1] + 1, device=ids.device, dtype=dtype) / length  # j/J: [..., J]
    k = torch.arange(1, dim + 1, device=ids.device, dtype=dtype) / dim  # k/d
    weights = (1 - j).unsqueeze(-1) - k * (1 - 2 * j).unsqueeze(-1)
    return weights * present.unsqueeze(-1)


class MemN2N(AlbaPreTrainedModel):
    config_class = MemN2NConfig

    def __init__(self, config: MemN2NConfig):
        super().__init__(config)
        v, d, k = config.vocab_size, config.embedding_size, config.hops
        # Adjacent tying: E_0 = B = A^1, E_k = C^k = A^(k+1), W^T = E_K; likewise for the temporal encodings.
        # Layer-wise: one A and one C for all hops, separate B and W, and the hop map H.
        n = k + 1 if config.tying == "adjacent" else 2
        self.embeddings = nn.ModuleList(nn.Embedding(v, d) for _ in range(n))
        self.temporal = nn.ParameterList(nn.Parameter(torch.empty(config.memory_size, d)) for _ in range(n)) \
            if config.temporal else None
        if config.tying == "layerwise":
            self.question_embedding = nn.Embedding(v, d)
            self.hop_map = nn.Linear(d, d, bias=False)
            self.output = nn.Linear(d, v, bias=False)
        for p in self.parameters():
            nn.init.normal_(p, std=config.init_std)
        self.register_buffer("softmax_on", torch.tensor(not config.linear_start))
        self.register_buffer("best_linear_loss", torch.tensor(float("inf")))

    def enable_softmax(self) -> None:
        self.softmax_on.fill_(True)

    def _encode(self, embedding: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        vectors = embedding(ids)  # [..., J, d]
        if self.config.encoding == "position":
            weights = position_encoding(ids, self.config.embedding_size, vectors.dtype)
        else:
            weights = (ids != 0).to(vectors.dtype).unsqueeze(-1)
        return (vectors * weights).sum(-2)

    def _memory(self, index: int, memory: torch.Tensor) -> torch.Tensor:
        out = self._encode(self.embeddings[index], memory)
        if self.temporal is not None:
            out = out + self.temporal[index][:memory.shape[1]]
        return out

    def forward(self, input_ids: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor,
                answers: torch.Tensor | None = None) -> MemN2NOutput:
        """`input_ids` [B, Jq] question words, `memory` [B, M, J] sentence words (slot 0 the most recent),
        `memory_mask` [B, M] (1 where a slot holds a memory), `answers` [B] the answer word ids."""
        adjacent = self.config.tying == "adjacent"
        u = self._encode(self.embeddings[0] if adjacent else self.question_embedding, input_ids)
        filled = memory_mask > 0
        attention = []
        for hop in range(self.config.hops):
            a, c = (hop, hop + 1) if adjacent else (0, 1)
            m, out_memory = self._memory(a, memory), self._memory(c, memory)
            scores = torch.einsum("bmd,bd->bm", m, u)
            if bool(self.softmax_on):
                p = scores.masked_fill(~filled, float("-inf")).softmax(-1)
            else:
                p = scores * filled
            o = torch.einsum("bm,bmd->bd", p, out_memory)
            u = u + o if adjacent else self.hop_map(u) + o
            attention.append(p)
        logits = u @ self.embeddings[-1].weight.T if adjacent else self.output(u)
        if answers is None:
            zero = logits.new_zeros(())
            return MemN2NOutput(zero, zero, zero, zero, logits, torch.stack(attention))
        loss = F.cross_entropy(logits, answers, reduction="sum")
        correct = (logits.argmax(-1) == answers).sum()
        return MemN2NOutput(loss, loss.detach() / len(answers), correct, answers.new_tensor(len(answers)), logits,
                            torch.stack(attention))


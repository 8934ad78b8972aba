"""Memory network (Weston, Chopra & Bordes 2015) for bAbI-style question answering, strongly supervised.

I: a sentence is its bag of words. G: each fact goes to the next memory slot (slot 0 the most recent here).
O: k hops of hard choices, o_1 = argmax_i s_O(x, m_i), o_h = argmax_i s_O([x, m_o1 .. m_o(h-1)], m_i).
R: the answer word r = argmax_w s_R([x, m_o1 .. m_ok], w).
Both scores are s(x, y) = Φx(x)ᵀ Uᵀ U Φy(y) with their own U (U_O, U_R) of n x D; Φx has one block of word
features for the question's words and one for the chosen memories' words, Φy a third (§3.1: D = 3|W|).

Write time (§3.4): s_O becomes the pairwise s_Ot(x, y, y') = Φx(x)ᵀ U_Oᵀ U_O (Φy(y) − Φy(y') + Φt(x, y, y')), with
three 0/1 features: x older than y, x older than y', y older than y'. The time of x is the question's at hop 1 (newer
than every memory) and that of the last chosen memory after it. s_Ot > 0 prefers y, so the argmax becomes a loop
over the memories from the oldest, keeping the winner y and challenging it with the next memory y'.

A question may need fewer facts than there are hops (bAbI task 1 needs one), which the paper leaves open: here,
from hop 2 on, a null memory m_∅ (a word of its own, no time) is a candidate, and it is the target of every hop past
the question's last supporting fact (the adaptive MemNN of the bAbI paper, Weston et al. 2015b, likewise learns a
special memory that ends the hops). It is slot M, after the M memories of a batch.

Training (§3.1, eq. 6-8, strong supervision): the supporting facts give the true m_o1, m_o2; each hop's query is
built from the true earlier facts, and the loss sums the margin ranking terms over every wrong memory f̄ and word r̄:
max(0, γ − s_O(q, m_oh) + s_O(q, f̄)), or with time max(0, γ − s_Ot(q, m_oh, f̄)) + max(0, γ + s_Ot(q, f̄, m_oh)),
and max(0, γ − s_R(q_R, r) + s_R(q_R, r̄)). At hop 1 the question is newer than every memory, so s_Ot(x, newer fact,
older fact) has no time feature: for two facts about the same person its term cannot reach 0 in both orders, and the
loss stays above 0 when every choice is right (0.12 per question on task 1). Only s_Ot(x, older, newer) is
compared by the loop over memories, and that one has the feature.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..config import SavedConfig
from ..model import AlbaPreTrainedModel

@dataclass
class MemNNConfig(SavedConfig):
    vocab_size: int  # the bAbI vocabulary; the model adds one word, the null memory's
    embedding_size: int = 100  # n
    hops: int = 2  # k
    margin: float = 0.1  # γ
    time_features: bool = True
    init_std: float = 0.1


@dataclass
class MemNNOutput:
    loss: torch.Tensor  # all margin ranking terms summed over the batch (the paper's SGD sums them per question)
    support_loss: torch.Tensor  # O's terms, mean per question
    answer_loss: torch.Tensor  # R's terms, mean per question
    support_correct: torch.Tensor  # questions whose k hard choices all equal the supporting facts
    support_total: torch.Tensor
    answer_correct: torch.Tensor
    answer_total: torch.Tensor
    logits: torch.Tensor  # s_R of every word after the model's own hops
    chosen: torch.Tensor  # [batch, hops]: the memory slot of each hop, -1 for the null memory


class Scorer(nn.Module):
    """One U of s(x, y) = (U Φx(x))ᵀ (U Φy(y)), as its blocks of columns: the question's words and the chosen
    memories' words in x, the words of y, and optionally the time features."""

    def __init__(self, words: int, size: int, time: bool):
        super().__init__()
        self.question_words = nn.Embedding(words, size)
        self.memory_words = nn.Embedding(words, size)
        self.y_words = nn.Embedding(words, size)
        self.time = nn.Parameter(torch.empty(3, size)) if time else None

    @staticmethod
    def _bag(embedding: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        """U times the bag of words of ids [..., J] (0 pads): [..., n]."""
        return (embedding(ids) * (ids != 0).unsqueeze(-1)).sum(-2)

    def x(self, question: torch.Tensor, memories: torch.Tensor) -> torch.Tensor:
        """U Φx([x, memories]): question [B, J], memories [B, H, J] (H may be 0): [B, n]."""
        return self._bag(self.question_words, question) + self._bag(self.memory_words, memories).sum(1)

    def y(self, ids: torch.Tensor) -> torch.Tensor:
        """U Φy(y) of sentences ids [..., J]: [..., n]."""
        return self._bag(self.y_words, ids)


class MemNN(AlbaPreTrainedModel):
    config_class = MemNNConfig

    def __init__(self, config: MemNNConfig):
        super().__init__(config)
        self.null_word = config.vocab_size
        self.output_scorer = Scorer(config.vocab_size + 1, config.embedding_size, config.time_features)  # U_O
        self.response_scorer = Scorer(config.vocab_size + 1, config.embedding_size, False)  # U_R
        for p in self.parameters():
            nn.init.normal_(p, std=config.init_std)

    def pair_scores(self, q: torch.Tensor, y: torch.Tensor, query_slot: torch.Tensor) -> torch.Tensor:
        """S[b, i, j] = s_Ot(x, y_i, y_j) (or s_O(x, y_i) − s_O(x, y_j) without time) for the query q = U_O Φx(x)
        [B, n], the candidates' U_O Φy [B, M+1, n] (slot M the null memory) and the slot whose time the query has
        [B] (-1: the question, newer than every memory)."""
        s = torch.einsum("bn,bmn->bm", q, y)
        scores = s.unsqueeze(2) - s.unsqueeze(1)
        if self.output_scorer.time is None:
            return scores
        m = y.shape[1] - 1
        slot = torch.arange(m + 1, device=q.device)
        timed = slot < m  # the null memory has no time: its features stay 0
        # A larger slot is an older memory.
        x_older = ((query_slot.unsqueeze(1) > slot) & timed & (query_slot < m).unsqueeze(1)).to(q.dtype)  # [B, M+1]
        y_older = ((slot.unsqueeze(1) > slot) & timed.unsqueeze(1) & timed).to(q.dtype)  # [M+1, M+1]
        c = q @ self.output_scorer.time.T  # [B, 3]: the query's weight on each time feature
        return (scores + c[:, 0, None, None] * x_older.unsqueeze(2) + c[:, 1, None, None] * x_older.unsqueeze(1)
                + c[:, 2, None, None] * y_older)

    @staticmethod
    def tournament(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """The winning slot of each row: the candidates from the oldest (slot M-1) to the newest (0), then the null
        memory (M); the next candidate y' replaces the winner y unless s(x, y, y') > 0."""
        batch, n = allowed.shape
        rows = torch.arange(batch, device=allowed.device)
        winner = torch.full((batch,), -1, dtype=torch.long, device=allowed.device)
        for j in [*range(n - 2, -1, -1), n - 1]:
            beaten = (winner < 0) | (scores[rows, winner.clamp(min=0), j] <= 0)
            winner = torch.where(allowed[:, j] & beaten, j, winner)
        return winner

    @staticmethod
    def _pick(memory: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        """The words of the chosen slots [B, h] of memory [B, M+1, J]: [B, h, J]."""
        return memory[torch.arange(len(memory), device=memory.device).unsqueeze(1), chosen]

    def hop_scores(self, question, memory, y, chosen) -> torch.Tensor:
        """The pair scores of the hop after the `chosen` slots [B, h]: its query is U_O Φx([x, m_chosen..]) and
        has the time of the last chosen memory (the question's at hop 1)."""
        last = chosen[:, -1] if chosen.shape[1] else torch.full_like(question[:, 0], -1)
        return self.pair_scores(self.output_scorer.x(question, self._pick(memory, chosen)), y, last)

    def answer_scores(self, question, memory, chosen) -> tuple[torch.Tensor, torch.Tensor]:
        """s_R([x, m_chosen..], w) for every word w [B, V+1], and which words may be answers [V+1]: all but the
        padding and the null memory's."""
        scores = self.response_scorer.x(question, self._pick(memory, chosen)) @ self.response_scorer.y_words.weight.T
        words = torch.arange(scores.shape[1], device=scores.device)
        return scores, (words != 0) & (words != self.null_word)

    def forward(self, input_ids: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor,
                answers: torch.Tensor | None = None, supporting: torch.Tensor | None = None) -> MemNNOutput:
        """`input_ids` [B, Jq] question words, `memory` [B, M, J] fact words (slot 0 the most recent),
        `memory_mask` [B, M], `answers` [B] and `supporting` [B, hops] (slots, -1 for none) for the loss."""
        batch = len(input_ids)
        null = torch.zeros_like(memory[:, :1])
        null[:, 0, 0] = self.null_word
        memory = torch.cat([memory, null], 1)  # slot M: the null memory
        facts = torch.cat([memory_mask > 0, memory_mask.new_zeros(batch, 1, dtype=torch.bool)], 1)
        candidates = [facts] + [facts | (torch.arange(facts.shape[1], device=facts.device) == facts.shape[1] - 1)
                                ] * (self.config.hops - 1)  # the null memory from hop 2 on
        y = self.output_scorer.y(memory)
        chosen = memory.new_zeros(batch, 0)
        with torch.no_grad():  # inference: the model's own hard choices
            for hop in range(self.config.hops):
                winner = self.tournament(self.hop_scores(input_ids, memory, y, chosen), candidates[hop])
                chosen = torch.cat([chosen, winner.unsqueeze(1)], 1)
            scores, answerable = self.answer_scores(input_ids, memory, chosen)
            logits = scores.masked_fill(~answerable, float("-inf"))
        null_slot = memory.shape[1] - 1
        chosen_out = chosen.masked_fill(chosen == null_slot, -1)
        zero = logits.new_zeros(())
        if answers is None or supporting is None:
            return MemNNOutput(zero, zero, zero, zero, zero, zero, zero, logits, chosen_out)
        truth = supporting.masked_fill(supporting < 0, null_slot)
        support_loss = zero
        for hop in range(self.config.hops):  # each hop's query from the true earlier facts
            support_loss = support_loss + self.ranking_loss(self.hop_scores(input_ids, memory, y, truth[:, :hop]),
                                                            candidates[hop], truth[:, hop])
        scores, answerable = self.answer_scores(input_ids, memory, truth)
        wrong = answerable & (torch.arange(scores.shape[1], device=answers.device) != answers.unsqueeze(1))
        answer_loss = ((self.config.margin - scores.gather(1, answers.unsqueeze(1)) + scores).clamp(min=0)
                       * wrong).sum()
        n = answers.new_tensor(batch)
        return MemNNOutput(support_loss + answer_loss, support_loss.detach() / batch, answer_loss.detach() / batch,
                           (chosen_out == supporting).all(1).sum(), n, (logits.argmax(1) == answers).sum(), n,
                           logits, chosen_out)

    def ranking_loss(self, scores: torch.Tensor, candidates: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """The margin ranking terms of one hop summed over the batch and every wrong candidate f̄."""
        rows = torch.arange(len(truth), device=truth.device)
        wrong = candidates.clone()
        wrong[rows, truth] = False
        true_first = scores[rows, truth]  # s(q, true, f̄) for every f̄: [B, M+1]
        terms = (self.config.margin - true_first).clamp(min=0)
        if self.output_scorer.time is not None:
            terms = terms + (self.config.margin + scores[rows, :, truth]).clamp(min=0)  # s(q, f̄, true)
        return (terms * wrong).sum()

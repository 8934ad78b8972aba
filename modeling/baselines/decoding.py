"""Greedy and beam-search decoding for every encoder-decoder (through `Seq2SeqModel.start` / `step`).

Beam search keeps, per sentence, the k best unfinished hypotheses by total log-probability. At each step it looks
at the 2k best extensions: one ending in <eos> is finished if it ranks among the first k (so k = 1 is exactly
greedy), the first k others go on. A sentence is done when k hypotheses have finished (or the length limit is
reached, when its unfinished ones count too); the answer is the finished hypothesis with the best score divided by
the length penalty of Wu et al. (2016), lp(Y) = ((5 + |Y|) / 6)^alpha, |Y| counting the <eos> (alpha = 0: plain
log-probability).
"""
from __future__ import annotations

import torch

from .seq2seq import BOS, EOS, reorder_state


def max_target_length(src_ids: torch.Tensor, ratio: float = 1.5, extra: int = 10) -> int:
    """The longest output searched: `ratio` times the longest source plus `extra` tokens."""
    return int(src_ids.shape[1] * ratio) + extra


def length_penalty(length: int | torch.Tensor, alpha: float):
    return ((5 + length) / 6) ** alpha


@torch.no_grad()
def greedy_decode(model, src_ids: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
    """The argmax token at every step until <eos>: each row's ids without <bos> and <eos>."""
    max_len = max_len or max_target_length(src_ids)
    memory, src_mask = model.encode_source(src_ids)
    state = model.start(memory, src_mask)
    tokens = torch.full((src_ids.shape[0],), BOS, dtype=torch.long, device=src_ids.device)
    out, done = [], torch.zeros_like(tokens, dtype=torch.bool)
    for _ in range(max_len):
        logits, state = model.step(state, tokens)
        tokens = logits.argmax(-1)
        out.append(tokens)
        done |= tokens == EOS
        if done.all():
            break
    return [_until_eos(row) for row in torch.stack(out, 1).tolist()]


@torch.no_grad()
def beam_search(model, src_ids: torch.Tensor, beam: int = 5, alpha: float = 1.0,
                max_len: int | None = None) -> list[list[int]]:
    """Each row's best hypothesis (ids without <bos> and <eos>) under the length-penalised score."""
    max_len = max_len or max_target_length(src_ids)
    B, k, device = src_ids.shape[0], beam, src_ids.device
    memory, src_mask = model.encode_source(src_ids)
    rows = torch.arange(B, device=device).repeat_interleave(k)
    state = model.start(reorder_state(memory, rows), src_mask[rows])
    tokens = torch.full((B * k,), BOS, dtype=torch.long, device=device)
    scores = torch.full((B, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: only the first may extend at step one
    history = torch.empty(B, k, 0, dtype=torch.long, device=device)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(B)]
    active = torch.ones(B, dtype=torch.bool)
    for step in range(max_len):
        logits, state = model.step(state, tokens)
        logp = torch.log_softmax(logits.float(), -1)
        V = logp.shape[-1]
        candidates = (scores[:, :, None] + logp.view(B, k, V)).view(B, k * V)
        top, flat = candidates.topk(2 * k, dim=1)
        origin, token = flat // V, flat % V
        next_scores = torch.full((B, k), float("-inf"), device=device)
        next_origin = torch.zeros(B, k, dtype=torch.long, device=device)
        next_token = torch.full((B, k), EOS, dtype=torch.long, device=device)
        for b in active.nonzero().flatten().tolist():
            kept = 0
            for rank, (s, o, t) in enumerate(zip(top[b].tolist(), origin[b].tolist(), token[b].tolist())):
                if s == float("-inf"):
                    break
                if t == EOS:
                    if rank < k:
                        words = history[b, o].tolist()
                        finished[b].append((s / length_penalty(len(words) + 1, alpha), words))
                elif kept < k:
                    next_scores[b, kept], next_origin[b, kept], next_token[b, kept] = s, o, t
                    kept += 1
            if len(finished[b]) >= k:
                active[b] = False
        if not active.any():
            break
        history = torch.cat([history.gather(1, next_origin[:, :, None].expand(-1, -1, history.shape[2])),
                             next_token[:, :, None]], dim=2)
        scores = next_scores.masked_fill(~active.to(device)[:, None], float("-inf"))
        state = reorder_state(state, (torch.arange(B, device=device)[:, None] * k + next_origin).flatten())
        tokens = next_token.flatten()
    for b in active.nonzero().flatten().tolist():  # the length limit: unfinished hypotheses compete too
        for j in range(k):
            if scores[b, j] > float("-inf"):
                words = history[b, j].tolist()
                finished[b].append((scores[b, j].item() / length_penalty(len(words), alpha), words))
    return [max(f, key=lambda item: item[0])[1] if f else [] for f in finished]


def _until_eos(ids: list[int]) -> list[int]:
    return ids[:ids.index(EOS)] if EOS in ids else ids

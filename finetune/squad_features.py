"""SQuAD windows and span search (BERT's reference recipe, REFERENCE.md §1).

A context longer than the window is cut into overlapping windows `[CLS] question [SEP] context-part [SEP]` whose
starts advance by `doc_stride` tokens. Each context token keeps its character span in the original context
(the tokenizer's offsets), so a predicted token span maps back to the exact original text. Training targets are the
answer's first and last token when the answer lies wholly inside the window, else [CLS] (position 0), as in BERT.
At prediction time the n best starts and ends of every window are paired (end >= start, at most
`max_answer_length` tokens, both inside the context part, the window being the one where the start token has the
most context on both sides), and the best-scoring span over all windows wins; for SQuAD 2.0 the null answer
(score at [CLS]) wins when it beats the best span by more than `null_threshold`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline import DataError

from .squad import SquadQuestion


@dataclass
class SquadFeature:
    question_index: int
    input_ids: list[int]
    token_type_ids: list[int]
    offsets: list[tuple[int, int] | None]  # character span in the context per position; None outside the context
    max_context: list[bool]  # per position: this window gives the token its most surrounding context
    start_position: int  # targets (0 = [CLS]: no answer in this window)
    end_position: int


def build_features(questions: list[SquadQuestion], tokenizer, max_seq_length: int = 384, doc_stride: int = 128,
                   max_query_length: int = 64) -> list[SquadFeature]:
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise DataError("the tokenizer has no [CLS]/[SEP] tokens")
    tokenizer.no_truncation()
    features = []
    for qi, q in enumerate(questions):
        query = tokenizer.encode(q.question, add_special_tokens=False).ids[:max_query_length]
        context = tokenizer.encode(q.context, add_special_tokens=False)
        room = max_seq_length - len(query) - 3
        if room < 1:
            raise DataError(f"max_seq_length {max_seq_length} leaves no room for the context of question {q.qid}")
        windows, start = [], 0
        while True:  # the reference's loop: windows advance by doc_stride until one reaches the end
            length = min(len(context.ids) - start, room)
            windows.append((start, length))
            if start + length >= len(context.ids):
                break
            start += min(length, doc_stride)
        answer = _answer_tokens(q, context.offsets)
        for w, (start, length) in enumerate(windows):
            prefix = 2 + len(query)  # [CLS] query [SEP]
            ids = [cls_id, *query, sep_id, *context.ids[start:start + length], sep_id]
            types = [0] * prefix + [1] * (length + 1)
            offsets = [None] * prefix + list(context.offsets[start:start + length]) + [None]
            best = [False] * prefix + [_is_max_context(windows, w, start + i) for i in range(length)] + [False]
            s_pos = e_pos = 0
            if answer is not None and start <= answer[0] and answer[1] < start + length:
                s_pos, e_pos = answer[0] - start + prefix, answer[1] - start + prefix
            features.append(SquadFeature(qi, ids, types, offsets, best, s_pos, e_pos))
    return features


def _answer_tokens(q: SquadQuestion, offsets) -> tuple[int, int] | None:
    """First and last context token of the first answer with a valid offset."""
    if not q.spans:
        return None
    text, char_start = q.spans[0]
    char_end = char_start + len(text)
    tokens = [i for i, (a, b) in enumerate(offsets) if a < char_end and b > char_start]
    return (tokens[0], tokens[-1]) if tokens else None


def _is_max_context(windows, w: int, token: int) -> bool:
    """BERT's rule: a token appearing in several windows belongs to the one where min(left, right) context is
    largest (plus a small bonus for longer windows)."""
    best, best_score = None, -1.0
    for i, (start, length) in enumerate(windows):
        if not start <= token < start + length:
            continue
        score = min(token - start, start + length - 1 - token) + 0.01 * length
        if score > best_score:
            best, best_score = i, score
    return best == w


def best_answers(questions: list[SquadQuestion], features: list[SquadFeature], start_logits, end_logits,
                 n_best: int = 20, max_answer_length: int = 30,
                 null_threshold: float | None = None) -> tuple[dict[str, str], dict[str, float]]:
    """Predicted text per question id, and the score difference null - best span (for tuning the threshold).
    `null_threshold` None: SQuAD 1.1 (always a span)."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for f, starts, ends in zip(features, start_logits, end_logits):
        starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
        qi = f.question_index
        null[qi] = min(null.get(qi, np.inf), starts[0] + ends[0])
        length = len(f.input_ids)
        top_s = np.argsort(-starts[:length])[:n_best]
        top_e = np.argsort(-ends[:length])[:n_best]
        for s in top_s:
            if f.offsets[s] is None or not f.max_context[s]:
                continue
            for e in top_e:
                if f.offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                    continue
                score = starts[s] + ends[e]
                if qi not in best or score > best[qi][0]:
                    context = questions[qi].context
                    best[qi] = (score, context[f.offsets[s][0]:f.offsets[e][1]])
    answers, null_diff = {}, {}
    for qi, q in enumerate(questions):
        span_score, text = best.get(qi, (-np.inf, ""))
        null_diff[q.qid] = float(null.get(qi, -np.inf) - span_score)
        answers[q.qid] = "" if null_threshold is not None and null_diff[q.qid] > null_threshold else text
    return answers, null_diff

"""SQuAD v1.1/v2.0: the official JSON read into questions with checked answer offsets, and the official EM/F1.

The metric follows each version's official evaluation script: answers are normalised (lower case, punctuation
removed, the articles a/an/the removed, whitespace collapsed); EM and token F1 take the maximum over a question's
gold answers and are averaged over questions, x100. The two scripts differ where a text normalises to nothing (as
the answer "." does): v1.1 gives such a pair F1 0, v2.0 gives F1 1 when both are empty and leaves out gold answers
that normalise to nothing, unless none is left (an unanswerable question), where only an empty prediction is right.
"""
from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from data_pipeline import DataError
from data_pipeline.utf8 import read_utf8

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


@dataclass
class SquadQuestion:
    qid: str
    question: str
    context: str
    answers: list[str]  # all gold texts, which the metric compares against (empty: unanswerable)
    spans: list[tuple[str, int]]  # (text, character offset) of the answers whose offset points at their text
    is_impossible: bool = False


@dataclass
class SquadData:
    questions: list[SquadQuestion]
    # Answers whose offset does not point at their text: left out of `spans` (never trained on) and reported.
    bad_offsets: list[str] = field(default_factory=list)


def read_squad(path: str | Path) -> SquadData:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such SQuAD file")
    try:
        raw = json.loads(read_utf8(path))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise DataError(f"{path}: not the SQuAD format (expected an object with a 'data' list)")
    questions, bad = [], []
    for a, article in enumerate(raw["data"]):
        for p, paragraph in enumerate(article.get("paragraphs", [])):
            context = paragraph.get("context")
            if not isinstance(context, str):
                raise DataError(f"{path}: data[{a}].paragraphs[{p}] has no context string")
            for qa in paragraph.get("qas", []):
                if "id" not in qa or "question" not in qa:
                    raise DataError(f"{path}: data[{a}].paragraphs[{p}] has a question without id or question")
                texts, spans = [], []
                for answer in qa.get("answers", []):
                    text, start = answer.get("text"), answer.get("answer_start")
                    if not isinstance(text, str) or not isinstance(start, int):
                        raise DataError(f"{path}: question {qa['id']} has an answer without text/answer_start")
                    texts.append(text)
                    if context[start:start + len(text)] == text:
                        spans.append((text, start))
                    else:
                        bad.append(f"{qa['id']} ({text!r} at {start})")
                questions.append(SquadQuestion(qa["id"], qa["question"], context, texts, spans,
                                               bool(qa.get("is_impossible", False))))
    return SquadData(questions, bad)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str, version: int) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if version == 2 and (not pred or not ref):
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if not same:  # v1.1: also when both are empty
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def gold_answers(question: SquadQuestion, version: int) -> list[str]:
    if version == 1:
        return question.answers or [""]
    return [a for a in question.answers if normalize_answer(a)] or [""]


def squad_scores(questions: list[SquadQuestion], predictions: dict[str, str], version: int) -> dict[str, float]:
    """EM and F1 (x100) over all questions by the official script of SQuAD `version` (1: v1.1, 2: v2.0); a
    question without a prediction scores 0."""
    if not questions:
        raise DataError("no questions to score")
    em = f1 = 0.0
    for q in questions:
        pred = predictions.get(q.qid)
        if pred is None:
            continue
        golds = gold_answers(q, version)
        em += max(exact_match(pred, g) for g in golds)
        f1 += max(token_f1(pred, g, version) for g in golds)
    return {"exact_match": 100 * em / len(questions), "f1": 100 * f1 / len(questions),
            "total": len(questions), "missing": sum(q.qid not in predictions for q in questions)}

"""SQuAD v1.1 reading and the official EM/F1 on the real dev sample: gold answers score 100, empty answers 0, and
perturbed answers score what an independent straightforward implementation (written here) gives."""
import json
import random

import pytest

from data_pipeline import DataError
from finetune.squad import read_squad, squad_scores

SAMPLE = ("squad", "dev-v1.1-sample.json")


def _plain_normalise(text):
    """Independent of finetune.squad: character loop, explicit token filter for the articles."""
    kept = []
    for ch in text.lower():
        kept.append("" if ch in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" else ch)
    return [w for w in "".join(kept).split() if w not in ("a", "an", "the")]


def _plain_scores(questions, predictions):
    em = f1 = 0.0
    for q in questions:
        p = _plain_normalise(predictions[q.qid])
        best_em = best_f1 = 0.0
        for gold in q.answers:
            g = _plain_normalise(gold)
            best_em = max(best_em, float(p == g))
            common = 0
            remaining = list(g)
            for w in p:
                if w in remaining:
                    remaining.remove(w)
                    common += 1
            if common:
                prec, rec = common / len(p), common / len(g)
                best_f1 = max(best_f1, 2 * prec * rec / (prec + rec))
        em, f1 = em + best_em, f1 + best_f1
    return 100 * em / len(questions), 100 * f1 / len(questions)


@pytest.fixture
def sample(shared_data):
    return read_squad(shared_data.joinpath(*SAMPLE))


def test_reads_every_question_with_offsets_at_the_answers(sample, shared_data):
    raw = json.loads(shared_data.joinpath(*SAMPLE).read_text())
    expected = sum(len(p["qas"]) for a in raw["data"] for p in a["paragraphs"])
    assert len(sample.questions) == expected == 1169
    assert sample.bad_offsets == []
    assert all(q.answers and len(q.spans) == len(q.answers) for q in sample.questions)
    for q in sample.questions:
        for text, start in q.spans:
            assert q.context[start:start + len(text)] == text
    first = sample.questions[0]
    assert first.question == "Which NFL team represented the AFC at Super Bowl 50?"
    assert "Denver Broncos" in first.answers


def test_gold_answers_score_100_and_empty_0(sample):
    gold = squad_scores(sample.questions, {q.qid: q.answers[-1] for q in sample.questions}, version=1)
    assert gold["exact_match"] == gold["f1"] == 100.0
    empty = squad_scores(sample.questions, {q.qid: "" for q in sample.questions}, version=1)
    assert empty["exact_match"] == empty["f1"] == 0.0
    missing = squad_scores(sample.questions, {}, version=1)
    assert missing["f1"] == 0.0 and missing["missing"] == 1169


def test_perturbed_answers_match_independent_implementation(sample):
    rng = random.Random(0)
    predictions = {}
    for q in sample.questions:
        words = q.answers[0].split()
        choice = rng.randrange(6)
        if choice == 0:
            words = ["The"] + words + ["."]  # normalisation makes this an exact match
        elif choice == 1 and len(words) > 1:
            words = words[1:]  # partial overlap
        elif choice == 2:
            words = words + q.context.split()[:3]  # extra tokens
        elif choice == 3:
            words = [w.upper() for w in rng.sample(q.context.split(), 3)]  # mostly wrong
        elif choice == 4:
            words = words + words  # repeated tokens: F1 counts them once per gold occurrence
        predictions[q.qid] = " ".join(words)
    ours = squad_scores(sample.questions, predictions, version=1)
    em, f1 = _plain_scores(sample.questions, predictions)
    assert ours["exact_match"] == pytest.approx(em, abs=1e-9)
    assert ours["f1"] == pytest.approx(f1, abs=1e-9)
    assert 10 < ours["exact_match"] < 90 and ours["exact_match"] < ours["f1"] < 100  # a real mix


def test_bad_offsets_are_counted_not_kept(tmp_path):
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12},
                                                       {"text": "France", "answer_start": 3}]}]}]}]}
    path = tmp_path / "train.json"
    path.write_text(json.dumps(data))
    read = read_squad(path)
    assert read.questions[0].spans == [("France", 12)] and read.questions[0].answers == ["France", "France"]
    assert read.bad_offsets == ["q1 ('France' at 3)"]
    path.write_text("{not json")
    with pytest.raises(DataError, match="train.json: not JSON"):
        read_squad(path)


def _question(*answers):
    from finetune.squad import SquadQuestion
    return SquadQuestion("q", "?", "ctx", list(answers), [], not answers)


@pytest.mark.parametrize("answers, prediction, v1, v2", [
    # Both normalise to nothing: the v1.1 script's f1_score finds no common token (0); v2.0's compute_f1 compares
    # the empty token lists (1). EM is 1 in both (equal normalised strings).
    ((".",), ".", (100.0, 0.0), (100.0, 100.0)),
    # v2.0 leaves out gold answers that normalise to nothing when another remains; v1.1 keeps them.
    ((".", "Paris"), "", (100.0, 0.0), (0.0, 0.0)),
    ((".", "Paris"), "the Paris", (100.0, 100.0), (100.0, 100.0)),
    # Unanswerable (v2.0): only the empty prediction is right.
    ((), "", (100.0, 0.0), (100.0, 100.0)),
    ((), "Paris", (0.0, 0.0), (0.0, 0.0)),
])
def test_each_version_follows_its_official_script_on_empty_answers(answers, prediction, v1, v2):
    for version, (em, f1) in ((1, v1), (2, v2)):
        scores = squad_scores([_question(*answers)], {"q": prediction}, version=version)
        assert (scores["exact_match"], scores["f1"]) == (em, f1), version

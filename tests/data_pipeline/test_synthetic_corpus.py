import pytest

from data_pipeline import DataError, synthetic_corpus

ARGS = dict(num_docs=300, sentences_per_doc=(2, 5), num_topics=5, sentence_len=(4, 6), seed=3)


def test_deterministic_and_seeded():
    assert synthetic_corpus(**ARGS) == synthetic_corpus(**ARGS)
    assert synthetic_corpus(**ARGS) != synthetic_corpus(**{**ARGS, "seed": 4})


def test_structure():
    docs = synthetic_corpus(**ARGS)
    assert len(docs) == ARGS["num_docs"]
    form_of = {}  # word -> (opening or closing, the other form of its topic)
    for doc in docs:
        assert 2 <= len(doc) <= 5
        words = [s.split() for s in doc]
        assert all(4 <= len(w) <= 6 and len(set(w)) == 1 for w in words)  # one word repeated per sentence
        half = len(doc) / 2
        opening = {w[0] for k, w in enumerate(words) if k < half}
        closing = {w[0] for k, w in enumerate(words) if k >= half}
        assert len(opening) == len(closing) == 1 and opening != closing
        (o,), (c,) = opening, closing
        assert form_of.setdefault(o, ("open", c)) == ("open", c)
        assert form_of.setdefault(c, ("close", o)) == ("close", o)
    assert len(form_of) == 2 * ARGS["num_topics"]


@pytest.mark.parametrize("bad", [dict(sentences_per_doc=(3, 2)), dict(sentence_len=(0, 4)), dict(num_docs=0),
                                 dict(num_topics=1)])
def test_invalid_arguments(bad):
    with pytest.raises(DataError):
        synthetic_corpus(**{**ARGS, **bad})

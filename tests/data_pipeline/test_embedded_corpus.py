import time

import pytest

from data_pipeline import embedded, embedded_corpus, load_corpus


@pytest.mark.slow
def test_embedded_corpus_is_real_prose_and_deterministic():
    embedded._build.cache_clear()
    start = time.perf_counter()
    docs = embedded_corpus()
    seconds = time.perf_counter() - start
    sentences = [s for doc in docs for s in doc]
    assert len(docs) >= 500 and len(sentences) >= 5000
    assert sum(len(s.split()) for s in sentences) >= 100_000
    assert all(len(doc) >= 2 for doc in docs)
    assert not any(">>>" in s or "::=" in s or "****" in s for s in sentences)
    assert all(3 <= len(s.split()) and s[-1] in ".?!:\"')\u201d\u2019" for s in sentences)
    assert len(set(map(tuple, docs))) == len(docs)
    assert seconds < 30, f"building the embedded corpus took {seconds:.1f} s"

    docs[0].append("Callers may change their copy.")
    assert embedded_corpus()[0] != docs[0]
    docs[0].pop()
    embedded._build.cache_clear()
    assert embedded_corpus() == docs
    assert load_corpus("embedded") == docs


def test_cleaning_drops_code_markup_and_rejoins_wrapped_lines():
    text = """Title of the thing
******************

This paragraph is hard
wrapped over lines.  It has two sentences.

For example::

    x = compute(1)

    print(x)

After the code comes prose again.

   >>> 1 + 2
   3

.. versionadded:: 3.2

:param x: a parameter description.

Args:
    value: the value to use, which is
        wrapped.

  rule ::= "a" | "b"
"""
    assert embedded._prose_sentences(text) == [
        "This paragraph is hard wrapped over lines.", "It has two sentences.", "After the code comes prose again."]


def test_cleaning_keeps_admonition_bodies_and_unwraps_markup():
    text = """Some intro text here.

   Note:

     The body of a note is prose, and ``code`` or :func:`len` read as words.
"""
    assert embedded._prose_sentences(text) == [
        "Some intro text here.", "The body of a note is prose, and code or len read as words."]

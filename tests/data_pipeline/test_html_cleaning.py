"""Scraped text (IMDB reviews) carries HTML line breaks and entities; clean_html turns them into paragraphs."""
import itertools

import pytest

from data_pipeline import DataError, load_corpus
from data_pipeline.cleaning import strip_html
from data_pipeline.store import TokenStore, build_store
from data_pipeline import train_tokenizer

REVIEWS = ("This film was dreadful.<br /><br />The plot made no sense &amp; the acting was worse. I'd rate it 2/10."
           "\n"
           "A <i>lovely</i> surprise!<br />If x < y and y > z, the ending still works.<BR/>Recommended.\n")


def test_markup_becomes_paragraph_breaks_and_characters():
    assert strip_html("One.<br /><br />Two &amp; <b>three</b>&#39;s.<p>Four</p>") == "One.\n\nTwo & three's.\nFour\n"
    assert strip_html("if a < b and c > d") == "if a < b and c > d"  # not a tag: no letter right after '<'


def test_reviews_one_per_line_are_cleaned_and_split(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text(REVIEWS, encoding="utf-8")
    docs = load_corpus(path, fmt="lines", clean_html=True, progress=False)
    assert docs == [["This film was dreadful.", "The plot made no sense & the acting was worse.", "I'd rate it 2/10."],
                    ["A lovely surprise!", "If x < y and y > z, the ending still works.", "Recommended."]]
    raw = load_corpus(path, fmt="lines", progress=False)
    assert any("<br" in s for d in raw for s in d)  # without the option, the markup stays


def test_all_markup_corpus_is_an_error_naming_it(tmp_path):
    path = tmp_path / "markup.txt"
    path.write_text("<br /><br />\n<p></p><div></div>\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"{path}.*HTML markup"):
        load_corpus(path, fmt="lines", clean_html=True, progress=False)


def test_a_review_with_invalid_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_bytes(REVIEWS.encode() + b"Caf\xe9 scene<br />was fine.\n")
    with pytest.raises(DataError, match=f"{path}: line 3 is not UTF-8"):
        load_corpus(path, fmt="lines", clean_html=True, progress=False)
    out = tmp_path / "store"
    with pytest.raises(DataError, match="line 3"):
        build_store(path, train_tokenizer([["a b c"] * 20], vocab_size=40, progress=False), out, fmt="lines",
                    clean_html=True, progress=False)
    assert not out.exists() and not list(tmp_path.glob(".store*"))  # nothing partial left behind


def test_store_of_cleaned_reviews_holds_no_markup(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text(REVIEWS * 20, encoding="utf-8")
    tok = train_tokenizer(load_corpus(path, fmt="lines", clean_html=True, progress=False), vocab_size=120,
                          progress=False)
    build_store(path, tok, tmp_path / "store", fmt="lines", clean_html=True, progress=False)
    docs = TokenStore(tmp_path / "store", tok).documents()
    assert len(docs) == 40
    text = " ".join(tok.decode(s) for d in docs for s in d)
    assert "br" not in text.split() and "&" in text and "amp" not in text.split()


def test_real_imdb_reviews_lose_all_markup(shared_data, tmp_path):
    path = tmp_path / "unsup-head.txt"  # a slice of the shared file, read in place, written to a temporary file
    with open(shared_data / "imdb" / "unsup.txt", encoding="utf-8") as f:
        path.write_text("".join(itertools.islice(f, 300)), encoding="utf-8")
    raw = load_corpus(path, fmt="lines", progress=False)
    docs = load_corpus(path, fmt="lines", clean_html=True, progress=False)
    assert len(docs) == len(raw) == 300
    assert sum("<br" in s for d in raw for s in d) > 50
    assert not any("<" in s and ">" in s and "br" in s for d in docs for s in d)
    assert sum(map(len, docs)) > sum(map(len, raw))  # breaks became sentence boundaries

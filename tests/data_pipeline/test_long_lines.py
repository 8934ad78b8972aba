"""A line of any length is read in bounded pieces (cut at whitespace, never inside a UTF-8 character), each keeping
its line number, with a warning that counts the lines so cut; short lines are read as they are."""
import io

import pytest

from data_pipeline import load_corpus
from data_pipeline import readers
from data_pipeline.readers import bounded_lines


def _read(data: bytes):
    return list(bounded_lines("corpus.txt", io.BytesIO(data)))


def test_short_lines_are_read_whole_with_their_offsets():
    data = b"one line\n\ntwo words\nno newline at the end"
    assert _read(data) == [(1, 0, b"one line\n"), (2, 9, b"\n"), (3, 10, b"two words\n"),
                           (4, 20, b"no newline at the end")]


def test_a_long_line_is_cut_into_bounded_pieces_at_whitespace(monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 64)
    words = " ".join(f"w{i:03d}" for i in range(100))  # 499 bytes, one line
    data = f"first\n{words}\n   \nlast\n".encode()
    with pytest.warns(UserWarning, match=r"corpus\.txt: 1 line\(s\) longer than .* were read in pieces"):
        pieces = _read(data)
    middle = [p for n, _, p in pieces if n == 2]
    assert len(middle) > 1 and all(len(p) <= 64 for p in middle)
    assert b"".join(middle).decode().split() == words.split()  # no word cut, none lost
    assert all(data[offset:offset + len(p)] == p for _, offset, p in pieces)  # offsets point at the bytes
    assert [n for n, _, _ in pieces if n != 2] == [1, 3, 4]  # the real blank line 3 is still there


def test_a_long_line_without_whitespace_is_cut_between_characters(monkeypatch):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 16)
    text = "é€😀" * 20  # 2-, 3- and 4-byte characters, no space
    with pytest.warns(UserWarning, match="1 line"):
        pieces = [p for _, _, p in _read(text.encode())]
    assert all(len(p) <= 16 for p in pieces)
    assert "".join(p.decode("utf-8") for p in pieces) == text  # each piece decodes on its own


@pytest.mark.parametrize("fmt", ["lines", "text"])
def test_a_corpus_with_a_huge_line_loads_in_pieces(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 200)
    sentence = "The cat sat on the mat and looked at the dog. "
    path = tmp_path / "corpus.txt"
    path.write_text("A short review. It was fine.\n" + sentence * 40 + "\n")
    with pytest.warns(UserWarning, match="1 line"):
        docs = load_corpus(str(path), progress=False, fmt=fmt)
    words = " ".join(s for d in docs for s in d).split()
    assert words == ("A short review. It was fine. " + sentence * 40).split()
    assert max(len(s.encode()) for d in docs for s in d) <= 200
    # Pieces end after a sentence, so every sentence stays whole (the text format keeps a short line, here a piece,
    # as one sentence; the lines format splits its text into sentences).
    pieces = [s for d in docs for s in d]
    assert all(s.endswith(".") for s in pieces)
    if fmt == "lines":
        assert set(pieces) == {"A short review.", "It was fine.", sentence.strip()}

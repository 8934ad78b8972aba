import warnings

import pytest

from data_pipeline import DataError, load_corpus, split_sentences, synthetic_corpus
from data_pipeline.corpus import PARAGRAPH_CHARS


def write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def test_reference_format(tmp_path):
    text = "First doc, one.\nFirst doc, two.\n\n\n  \nSecond doc.\r\nStill second.\r\n\nThird doc.\n"
    path = write(tmp_path / "c.txt", b"\xef\xbb\xbf" + text.encode())
    assert load_corpus(path, progress=False) == [
        ["First doc, one.", "First doc, two."], ["Second doc.", "Still second."], ["Third doc."]]


def test_directory_and_glob_are_sorted_and_end_documents_at_file_ends(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "b.txt", b"B one.\nB two.")
    write(tmp_path / "a.txt", b"A one.\n")
    write(tmp_path / "sub" / "c.txt", b"C one.\n")
    write(tmp_path / "ignored.md", b"Not a corpus file.\n")
    assert load_corpus(tmp_path, progress=False) == [["A one."], ["B one.", "B two."], ["C one."]]
    assert load_corpus(str(tmp_path / "*.txt"), progress=False) == [["A one."], ["B one.", "B two."]]


def test_long_paragraph_lines_are_split(tmp_path):
    paragraph = " ".join(f"Sentence number {i} has a few words in it." for i in range(12))
    assert len(paragraph) > PARAGRAPH_CHARS
    short = "A short line. It stays whole."
    path = write(tmp_path / "p.txt", f"{paragraph}\n{short}\n".encode())
    assert load_corpus(path, progress=False) == [split_sentences(paragraph) + [short]]


def bad_file(tmp_path):
    lines = ["Good line one.\n".encode(), "Caf\u00e9 is fine.\n".encode(), b"Bad \xff byte here.\n",
             "Good again.\n".encode(), b"\n", b"Also \xc3\x28 bad.\n", b"Last good.\n"]
    return write(tmp_path / "bad.txt", b"".join(lines)), lines


def test_non_utf8_strict_names_file_line_and_byte_offset(tmp_path):
    path, lines = bad_file(tmp_path)
    offset = len(b"".join(lines[:2])) + lines[2].index(b"\xff")
    with pytest.raises(DataError) as error:
        load_corpus(path, progress=False)
    message = str(error.value)
    assert path in message and "line 3" in message and f"byte offset {offset}" in message
    assert "\n" not in message


def test_non_utf8_skip_drops_exactly_the_bad_lines_and_warns_once(tmp_path):
    path, _ = bad_file(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        docs = load_corpus(path, encoding_errors="skip", progress=False)
    assert docs == [["Good line one.", "Caf\u00e9 is fine.", "Good again."], ["Last good."]]
    assert len(caught) == 1 and path in str(caught[0].message) and "skipped 2 line" in str(caught[0].message)


def test_invalid_encoding_errors_lists_valid_values(tmp_path):
    with pytest.raises(DataError, match="strict, skip"):
        load_corpus(write(tmp_path / "a.txt", b"Text.\n"), encoding_errors="replace")


def test_missing_paths(tmp_path):
    with pytest.raises(DataError, match="corpus path does not exist"):
        load_corpus(str(tmp_path / "nope.txt"), progress=False)
    with pytest.raises(DataError, match="corpus glob .* matches no files"):
        load_corpus(str(tmp_path / "*.nothing"), progress=False)
    with pytest.raises(DataError, match=r"holds no .txt, .jsonl, .json or .parquet files \(plain, or the first three compressed"):
        load_corpus(str(tmp_path), progress=False)


def test_files_without_text(tmp_path):
    with pytest.raises(DataError, match="holds no text"):
        load_corpus(write(tmp_path / "empty.txt", b""), progress=False)
    with pytest.raises(DataError, match="holds no text"):
        load_corpus(write(tmp_path / "blank.txt", b"\n  \n\t\n"), progress=False)


def test_named_corpora():
    assert load_corpus("synthetic", progress=False) == synthetic_corpus()

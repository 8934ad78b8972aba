"""Sentence-aligned text as Multi30k ships it: every split read whole and aligned, and the checks that stop a
misaligned or damaged file (the end-to-end errors are in tests/baselines/test_seq2seq_cli.py)."""
import pytest

from data_pipeline import DataError
from data_pipeline.parallel import read_parallel, split_files


@pytest.mark.parametrize("split, pairs", [("train", 29000), ("val", 1014), ("test_2016_flickr", 1000)])
def test_multi30k_splits_are_read_whole_and_aligned(shared_data, split, pairs):
    found = read_parallel(*split_files(shared_data / "multi30k", split, "de", "en"))
    assert len(found) == pairs
    german = (shared_data / "multi30k" / f"{split}.de").read_text(encoding="utf-8").splitlines()
    english = (shared_data / "multi30k" / f"{split}.en").read_text(encoding="utf-8").splitlines()
    assert found[0] == (german[0].strip(), english[0].strip()) and found[-1] == (german[-1].strip(), english[-1].strip())


def test_unicode_line_separators_inside_a_sentence_do_not_split_it(tmp_path):
    (tmp_path / "a.de").write_text("eins\u2028zwei\ndrei\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one two\nthree\n", encoding="utf-8")
    assert read_parallel(tmp_path / "a.de", tmp_path / "a.en") == [("eins\u2028zwei", "one two"), ("drei", "three")]


def test_windows_line_ends_and_a_missing_final_newline(tmp_path):
    (tmp_path / "a.de").write_bytes(b"eins\r\nzwei")
    (tmp_path / "a.en").write_bytes(b"one\ntwo\n")
    assert read_parallel(tmp_path / "a.de", tmp_path / "a.en") == [("eins", "one"), ("zwei", "two")]


def test_lines_empty_on_both_sides_are_skipped_and_a_missing_file_is_named(tmp_path):
    (tmp_path / "a.de").write_text("eins\n\nzwei\n", encoding="utf-8")
    (tmp_path / "a.en").write_text("one\n  \ntwo\n", encoding="utf-8")
    assert read_parallel(tmp_path / "a.de", tmp_path / "a.en") == [("eins", "one"), ("zwei", "two")]
    with pytest.raises(DataError, match=f"does not exist: {tmp_path / 'b.de'}"):
        read_parallel(tmp_path / "b.de", tmp_path / "a.en")

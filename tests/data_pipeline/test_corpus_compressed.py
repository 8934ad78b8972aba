"""Compressed corpora (gzip, bzip2, xz, zstd) read as their plain files, streamed; `datasets` save_to_disk
directories read as datasets; damaged archives and bad bytes inside them are one-line errors naming the file."""
import bz2
import gzip
import json
import lzma

import pytest

from data_pipeline import DataError, load_corpus

zstandard = pytest.importorskip("zstandard")

REFERENCE = "The cat sat on the mat.\nIt was warm.\n\nA new document starts here.\nIt ends.\n"
TEXTS = ["The cat sat on the mat. It was warm.", "A new document starts here. It ends."]
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".zst": lambda data: zstandard.ZstdCompressor().compress(data)}


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_compressed_text_and_jsonl_read_as_plain(tmp_path, suffix):
    plain_txt, plain_jsonl = tmp_path / "a.txt", tmp_path / "b.jsonl"
    plain_txt.write_text(REFERENCE, encoding="utf-8")
    plain_jsonl.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    packed = tmp_path / "packed"
    packed.mkdir()
    for plain in (plain_txt, plain_jsonl):
        (packed / (plain.name + suffix)).write_bytes(COMPRESS[suffix](plain.read_bytes()))
    expected_txt, expected_jsonl = load_corpus(plain_txt, progress=False), load_corpus(plain_jsonl, progress=False)
    assert expected_txt == [["The cat sat on the mat.", "It was warm."], ["A new document starts here.", "It ends."]]
    assert load_corpus(packed / ("a.txt" + suffix), progress=False) == expected_txt
    assert load_corpus(packed / ("b.jsonl" + suffix), progress=False) == expected_jsonl  # format from the inner name
    assert load_corpus(packed, progress=False) == expected_txt + expected_jsonl  # a directory finds them
    assert load_corpus(packed / ("a.txt" + suffix), fmt="lines", progress=False) == [
        [s] for s in ("The cat sat on the mat.", "It was warm.", "A new document starts here.", "It ends.")]


def test_damaged_archive_and_bad_bytes_inside_name_the_file(tmp_path):
    truncated = tmp_path / "cut.txt.gz"
    truncated.write_bytes(gzip.compress(REFERENCE.encode() * 100)[:-40])
    with pytest.raises(DataError, match=r"cut\.txt\.gz: not a readable \.gz archive"):
        load_corpus(truncated, progress=False)
    latin = tmp_path / "latin.txt.xz"
    latin.write_bytes(lzma.compress("fine line\nun film raté\n".encode("latin-1")))
    with pytest.raises(DataError, match=r"latin\.txt\.xz: line 2 is not UTF-8 \(byte offset 21"):
        load_corpus(latin, progress=False)


def test_save_to_disk_directories_are_datasets(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    expected = [["The cat sat on the mat.", "It was warm."], ["A new document starts here.", "It ends."]]
    single, several = tmp_path / "single", tmp_path / "dict"
    datasets.Dataset.from_dict({"text": TEXTS, "n": [1, 2]}).save_to_disk(str(single))
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"body": TEXTS}),
                          "test": datasets.Dataset.from_dict({"body": TEXTS[:1]})}).save_to_disk(str(several))
    assert load_corpus(single, progress=False) == expected
    assert load_corpus(f"datasets:{single}", progress=False) == expected
    assert load_corpus(several, text_field="body", progress=False) == expected
    assert load_corpus(f"datasets:{several}:test", text_field="body", progress=False) == expected[:1]
    with pytest.raises(DataError, match=r"dict: no split 'validation'; its splits: train, test"):
        load_corpus(f"datasets:{several}:validation", text_field="body", progress=False)

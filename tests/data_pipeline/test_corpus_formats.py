"""JSON lines, Parquet, one-document-per-line and `datasets` corpora, and their bad-input errors."""
import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_pipeline import DataError, load_corpus

TEXTS = ["The cat sat on the mat. It was warm.\nA new paragraph starts here.", "Only one sentence",
         "", "Dr. Smith arrived. He left!"]
EXPECTED = [["The cat sat on the mat.", "It was warm.", "A new paragraph starts here."], ["Only one sentence"],
            ["Dr. Smith arrived.", "He left!"]]


def test_jsonl_and_parquet_and_lines(tmp_path):
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(TEXTS)),
                                      encoding="utf-8")
    pq.write_table(pa.table({"body": TEXTS, "n": list(range(len(TEXTS)))}), tmp_path / "b.parquet")
    (tmp_path / "c.txt").write_text("\n".join(t.replace("\n", " ") for t in TEXTS) + "\n", encoding="utf-8")
    assert load_corpus(tmp_path / "a.jsonl", text_field="body", progress=False) == EXPECTED
    assert load_corpus(tmp_path / "b.parquet", text_field="body", progress=False) == EXPECTED
    assert load_corpus(tmp_path / "c.txt", fmt="lines", progress=False) == EXPECTED
    everything = load_corpus(tmp_path, text_field="body", progress=False, fmt="auto")
    reference_format = [["The cat sat on the mat. It was warm. A new paragraph starts here.", "Only one sentence"],
                        ["Dr. Smith arrived. He left!"]]  # c.txt read as sentence lines
    assert everything == EXPECTED + EXPECTED + reference_format


def test_datasets_by_local_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    data = tmp_path / "mycorpus"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    assert load_corpus(f"datasets:{data}", progress=False) == EXPECTED
    with pytest.raises(DataError, match=r"datasets could not load .*\(split 'validation'\): Bad split"):
        load_corpus(f"datasets:{data}:validation", progress=False)


@pytest.mark.parametrize("content, message", [
    ('{"text": "fine"}\n{"text": broken}\n', r"bad\.jsonl: line 2 is not JSON"),
    ('{"text": "fine"}\n\n{"body": "x"}\n', r"bad\.jsonl: line 3: no field 'text' \(has: body\)"),
    ('{"text": 7}\n', r"bad\.jsonl: line 1: field 'text' is int, not text"),
    ('["a list"]\n', r"bad\.jsonl: line 1: no field 'text' \(has: list\)"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, content, message):
    (tmp_path / "bad.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_corpus(tmp_path / "bad.jsonl", progress=False)


def test_parquet_and_format_errors(tmp_path):
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "a.parquet")
    with pytest.raises(DataError, match=r"a\.parquet: no column 'text' \(columns: body\)"):
        load_corpus(tmp_path / "a.parquet", progress=False)
    (tmp_path / "fake.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"fake\.parquet: not a Parquet file"):
        load_corpus(tmp_path / "fake.parquet", progress=False)
    with pytest.raises(DataError, match="corpus format must be one of auto, text, lines, jsonl, parquet"):
        load_corpus(tmp_path / "a.parquet", fmt="csv", progress=False)
    with pytest.raises(DataError, match=r"corpus glob '.*\*\.nothing' matches no files"):
        load_corpus(str(tmp_path / "*.nothing"), progress=False)
    (tmp_path / "bin.txt").write_bytes(b"ok line\n\xff\xfe\x00binary\n")
    with pytest.raises(DataError, match=r"bin\.txt: line 2 is not UTF-8"):
        load_corpus(tmp_path / "bin.txt", fmt="lines", progress=False)


def test_a_ten_megabyte_line_is_split_into_sentences(tmp_path):
    sentence = "This sentence has seven words in it. "
    (tmp_path / "huge.txt").write_text(sentence * (10_000_000 // len(sentence)) + "\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.warns(UserWarning, match="1 line"):  # read in pieces of 1 MiB, each cut after a sentence
        (doc,) = load_corpus(tmp_path / "huge.txt", progress=False)
    assert len(doc) == 10_000_000 // len(sentence) and set(doc) == {sentence.strip()}
    print(f"10 MB line split in {time.perf_counter() - start:.1f} s")

"""GLUE TSV reading: the real SST-2 files exactly, the other tasks' layouts (headers, BOM, bare quotes, CoLA without
header, test files), and bad input named by file and line."""
import csv

import pytest

from data_pipeline import DataError
from data_pipeline.glue import TASKS, get_task, read_glue_tsv, task_file
from finetune.glue import write_submission


def _counts(path):
    """Independent count: labels by plain line splitting."""
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return len(lines), sum(l.rsplit("\t", 1)[1] == "1" for l in lines)


@pytest.mark.parametrize("name, rows, positives", [("dev.tsv", 872, 444), ("train-8k.tsv", 8000, 4435)])
def test_sst2_real_files(shared_data, name, rows, positives):
    path = shared_data / "glue" / "SST-2" / name
    examples = read_glue_tsv(path, get_task("SST-2"))
    assert len(examples) == rows == _counts(path)[0]
    assert sum(e.label for e in examples) == positives == _counts(path)[1]
    assert {e.label for e in examples} == {0, 1}
    assert all(e.text_b is None and e.text_a.strip() for e in examples)
    first = path.read_text(encoding="utf-8").splitlines()[1].rsplit("\t", 1)[0]
    assert examples[0].text_a == first  # trailing space kept: the tokenizer, not the reader, normalises
    assert task_file(shared_data / "glue", get_task("sst2"), "dev") == shared_data / "glue" / "SST-2" / "dev.tsv"


def test_task_names():
    assert get_task("sst-2") is get_task("SST2") is TASKS["sst2"]
    assert len(TASKS) == 9
    with pytest.raises(DataError, match="unknown GLUE task 'sst5'; valid tasks: cola, sst2, mrpc, stsb, qqp, mnli"):
        get_task("sst5")


def _write(path, lines, bom=False):
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_mrpc_bom_and_bare_quotes(tmp_path):
    path = _write(tmp_path / "train.tsv", [
        "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
        '1\t702876\t702977\tAmrozi accused his brother , whom he called " the witness " .\tReferring to him as "'
        ' the witness " , Amrozi accused his brother .',
        "0\t2108705\t2108831\tYucaipa owned Dominick 's .\tYucaipa bought Dominick 's in 1995 ."], bom=True)
    examples = read_glue_tsv(path, get_task("mrpc"))
    assert [e.label for e in examples] == [1, 0]
    assert examples[0].text_a == 'Amrozi accused his brother , whom he called " the witness " .'
    assert examples[0].text_b.startswith('Referring to him as " the witness "')
    assert examples[1].guid == "3"  # no index column: the line number


def test_cola_headerless_and_test_file(tmp_path):
    train = _write(tmp_path / "train.tsv", ["gj04\t1\t\tOur friends won't buy this analysis .",
                                            "gj04\t0\t*\tThey drank the pub ."])
    examples = read_glue_tsv(train, get_task("cola"))
    assert [(e.text_a, e.label) for e in examples] == [("Our friends won't buy this analysis .", 1),
                                                       ("They drank the pub .", 0)]
    test = _write(tmp_path / "test.tsv", ["index\tsentence", "0\tBill whistled past the house .",
                                          "1\tThe car honked down the road ."])
    examples = read_glue_tsv(test, get_task("cola"))
    assert [(e.guid, e.label) for e in examples] == [("0", None), ("1", None)]


def test_mnli_columns_by_name_and_stsb_scores(tmp_path):
    header = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
              "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label")
    row = "0\t1\t2\tfiction\t( a )\t( b )\t(ROOT a)\t(ROOT b)\tThe new rights are nice .\tEveryone likes them .\t" \
          "neutral\tentailment\tneutral\tneutral\tneutral\tneutral"
    examples = read_glue_tsv(_write(tmp_path / "dev_matched.tsv", [header, row]), get_task("mnli"))
    assert (examples[0].text_a, examples[0].text_b, examples[0].label) == ("The new rights are nice .",
                                                                           "Everyone likes them .", 1)
    sts = _write(tmp_path / "dev.tsv", [
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
        "0\tmain-captions\tMSRvid\t2012test\t0000\tnone\tnone\tA man with a hard hat is dancing.\t"
        "A man wearing a hard hat is dancing.\t5.000",
        "1\tmain-captions\tMSRvid\t2012test\t0002\tnone\tnone\tA young child is riding a horse.\t"
        "A child is riding a horse.\t4.750"])
    assert [e.label for e in read_glue_tsv(sts, get_task("stsb"))] == [5.0, 4.75]


@pytest.mark.parametrize("task, lines, message", [
    ("sst2", ["sentence\tlabel", "good\t1", "bad\t2"], r"train.tsv:3: label '2' is not one of GLUE sst2's labels 0, 1"),
    ("sst2", ["sentence\tlabel", "good\t1", "bad"], r"train.tsv:3: 1 fields, expected 2"),
    ("rte", ["index\tsentence1\tlabel", "0\ta\tentailment"], r"train.tsv:1: missing column\(s\) sentence2"),
    ("qnli", ["index\tquestion\tsentence\tlabel", "0\ta\tb\tneutral"], r"train.tsv:2: label 'neutral'"),
    ("stsb", ["sentence1\tsentence2\tscore", "a\tb\t5.5"], r"train.tsv:2: score '5.5' is not a number in \[0, 5\]"),
    ("stsb", ["sentence1\tsentence2\tscore", "a\tb\tx"], r"train.tsv:2: score 'x'"),
])
def test_bad_rows_name_file_and_line(tmp_path, task, lines, message):
    with pytest.raises(DataError, match=message):
        read_glue_tsv(_write(tmp_path / "train.tsv", lines), get_task(task))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such GLUE file"):
        read_glue_tsv(tmp_path / "dev.tsv", get_task("rte"))


def test_submission_format(tmp_path):
    test = _write(tmp_path / "test.tsv", ["index\tsentence1\tsentence2", "7\ta\tb", "9\tc\td"])
    examples = read_glue_tsv(test, get_task("rte"))
    write_submission(tmp_path / "RTE.tsv", get_task("rte"), examples, [1, 0])
    with open(tmp_path / "RTE.tsv", newline="") as f:
        assert list(csv.reader(f, delimiter="\t")) == [["index", "prediction"], ["7", "not_entailment"],
                                                       ["9", "entailment"]]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_jsonl_and_parquet_with_datasets_columns_equal_the_tsv(shared_data, tmp_path, suffix):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from data_pipeline.glue import read_glue_file
    task = get_task("sst2")
    tsv = read_glue_tsv(shared_data / "glue" / "SST-2" / "dev.tsv", task)
    rows = [{"sentence": e.text_a, "label": e.label, "idx": i} for i, e in enumerate(tsv)]
    path = tmp_path / f"dev{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    assert task_file(tmp_path, task, "dev") == path
    read = read_glue_file(path, task)
    assert [(e.text_a, e.label) for e in read] == [(e.text_a, e.label) for e in tsv]
    rows[5]["label"] = 2
    rows[7].pop("sentence")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows[:7]))
    with pytest.raises(DataError, match=r"bad.jsonl: line 6: label 2 is not a label id of GLUE sst2"):
        read_glue_file(bad, task)
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows[6:8]))
    with pytest.raises(DataError, match=r"bad.jsonl: line 2: missing text column\(s\) sentence"):
        read_glue_file(bad, task)
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"premise": "a", "hypothesis": "b", "label": -1, "idx": 4}) + "\n")
    assert [(e.guid, e.text_b, e.label) for e in read_glue_file(test, get_task("mnli"))] == [("4", "b", None)]

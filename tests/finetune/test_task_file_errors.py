"""Task files with a byte that is not UTF-8, or a SQuAD v1.1 question without an answer: one line naming the file,
the line and byte offset (or the question), and nothing written."""
import json

import pytest

from conftest import ROOT, run_cli

SCRIPT = ROOT / "launch" / "finetune.py"
COMMON = ["--model=albert-test", "--vocab_size=64", "--epochs=1", "--batch_size=2", "--wandb=disabled",
          "--progress=False"]


def _one_line(proc, *needles):
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("alba: error: ") and "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _latin1(path, text: str) -> tuple[int, int]:
    """`text` written in Latin-1, so that its one accented letter is a lone byte that is not UTF-8; returns that
    byte's line and offset."""
    data = text.encode("latin-1")
    path.write_bytes(data)
    offset = next(i for i, b in enumerate(data) if b >= 0x80)
    return data.count(b"\n", 0, offset) + 1, offset


def test_glue_tsv(tmp_path):
    good = tmp_path / "dev.tsv"
    good.write_text("sentence\tlabel\na fine film\t1\na dull one\t0\n")
    bad = tmp_path / "train.tsv"
    line, offset = _latin1(bad, "sentence\tlabel\na fine film\t1\nun film raté\t0\na dull one\t0\n")
    proc = run_cli(SCRIPT, "glue", "--task=sst2", f"--train_file={bad}", f"--dev_file={good}", *COMMON,
                   f"--output_dir={tmp_path / 'o'}")
    _one_line(proc, str(bad), f"line {line} is not UTF-8", f"byte offset {offset}")
    assert not (tmp_path / "o").exists()


def test_squad_json(tmp_path):
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris est en France (où?).", "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 13}]}]}]}]}
    bad = tmp_path / "dev.json"
    line, offset = _latin1(bad, json.dumps(data, ensure_ascii=False, indent=1))
    proc = run_cli(SCRIPT, "squad", f"--dev_file={bad}", "--do_train=False", *COMMON,
                   f"--output_dir={tmp_path / 'o'}")
    _one_line(proc, str(bad), f"line {line} is not UTF-8", f"byte offset {offset}")
    assert not (tmp_path / "o").exists()


def test_swag_csv(tmp_path):
    header = "video-id,sent1,sent2,ending0,ending1,ending2,ending3,label"
    bad = tmp_path / "val.csv"
    line, offset = _latin1(bad, f"{header}\nv1,He sat.,He,left.,ate.,ran.,slept.,0\nv2,Elle a mangé.,She,left.,"
                                "ate.,ran.,slept.,1\n")
    proc = run_cli(SCRIPT, "swag", f"--dev_file={bad}", "--do_train=False", *COMMON, f"--output_dir={tmp_path / 'o'}")
    _one_line(proc, str(bad), f"line {line} is not UTF-8", f"byte offset {offset}")


@pytest.mark.parametrize("answers", [[], None], ids=["empty", "missing"])
def test_squad_v1_question_without_answer_names_file_and_question(tmp_path, answers):
    qa = {"id": "q-without", "question": "Where?"}
    if answers is not None:
        qa["answers"] = answers
    data = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]}, qa]}]}]}
    dev = tmp_path / "dev.json"
    dev.write_text(json.dumps(data))
    proc = run_cli(SCRIPT, "squad", f"--dev_file={dev}", "--do_train=False", *COMMON,
                   f"--output_dir={tmp_path / 'o'}")
    _one_line(proc, str(dev), "question q-without has no answer", "--version=2")

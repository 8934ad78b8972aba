"""`--task=all` over a miniature GLUE directory in each task's original layout: one results row per task (MNLI
matched and mismatched), the average, and regression for STS-B."""
import json

import pytest

from conftest import ROOT, run_cli

SCRIPT = ROOT / "launch" / "finetune.py"
WORDS = "good bad fine dull great awful film plot acting story".split()


def _text(i, n=5):
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n))


def _write_glue(root, rows=16):
    """Each task's train and dev files with its own header (or none), columns and labels."""
    def write(folder, name, header, make_row, bom=False):
        path = root / folder
        path.mkdir(parents=True, exist_ok=True)
        lines = ([header] if header else []) + [make_row(i) for i in range(rows)]
        (path / name).write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")

    ent = ("entailment", "not_entailment")
    mnli_header = ("index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse"
                   "\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label")
    nli = ("entailment", "neutral", "contradiction")
    for split in ("train", "dev"):
        write("CoLA", f"{split}.tsv", None, lambda i: f"src\t{i % 2}\t{'' if i % 2 else '*'}\t{_text(i)}")
        write("SST-2", f"{split}.tsv", "sentence\tlabel", lambda i: f"{_text(i)}\t{i % 2}")
        write("MRPC", f"{split}.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
              lambda i: f"{i % 2}\t{i}\t{i + 1}\t{_text(i)}\t\"{_text(i + 1)}", bom=True)
        write("STS-B", f"{split}.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\t"
              "sentence2\tscore", lambda i: f"{i}\tg\tf\t2012\t{i}\tnone\tnone\t{_text(i)}\t{_text(i + 2)}\t"
              f"{(i % 6) * 0.9:.3f}")
        write("QQP", f"{split}.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
              lambda i: f"{i}\t{2 * i}\t{2 * i + 1}\t{_text(i)} ?\t{_text(i + 3)} ?\t{i % 2}")
        for task in ("QNLI",):
            write(task, f"{split}.tsv", "index\tquestion\tsentence\tlabel",
                  lambda i: f"{i}\t{_text(i)} ?\t{_text(i + 1)}\t{ent[i % 2]}")
        for task, labels in (("RTE", ent), ("WNLI", ("0", "1"))):
            write(task, f"{split}.tsv", "index\tsentence1\tsentence2\tlabel",
                  lambda i: f"{i}\t{_text(i)}\t{_text(i + 1)}\t{labels[i % 2]}")
    mnli_row = lambda i: (f"{i}\t{i}\t{i}\tfiction\t( a )\t( b )\t(ROOT a)\t(ROOT b)\t{_text(i)}\t{_text(i + 1)}\t"  # noqa
                          f"{nli[i % 3]}\t{nli[i % 3]}")
    for name in ("train.tsv", "dev_matched.tsv", "dev_mismatched.tsv"):
        write("MNLI", name, mnli_header, mnli_row)


def test_all_tasks_give_one_row_each_and_the_average(tmp_path):
    _write_glue(tmp_path / "glue")
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, "glue", "--task=all", "--model=albert-test", f"--data_dir={tmp_path / 'glue'}",
                   "--epochs=1", "--batch_size=8", "--vocab_size=64", "--max_seq_length=32", "--baseline=False",
                   "--wandb=disabled", "--progress=False", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = (out / "results.txt").read_text()
    rows = [line.split()[0] for line in table.splitlines()[3:]]
    assert rows == ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli", "qnli", "rte", "wnli", "average"]
    assert "dev_matched" in table and "dev_mismatched" in table and table in proc.stdout
    stsb = json.loads((out / "stsb" / "results.json").read_text())
    assert set(stsb["metrics"]) == {"dev/pearson", "dev/spearman", "dev/score"}
    assert json.loads((out / "stsb" / "best" / "head.json").read_text())["num_labels"] == 1
    mnli = json.loads((out / "mnli" / "results.json").read_text())
    assert {"dev_matched/accuracy", "dev_mismatched/accuracy"} <= set(mnli["metrics"])
    mrpc = json.loads((out / "mrpc" / "results.json").read_text())
    assert set(mrpc["metrics"]) == {"dev/f1", "dev/accuracy", "dev/score"} and mrpc["train_examples"] == 16


def test_all_tasks_refuse_before_training_when_one_is_missing(tmp_path):
    _write_glue(tmp_path / "glue")
    (tmp_path / "glue" / "RTE" / "dev.tsv").unlink()
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, "glue", "--task=all", "--model=albert-test", f"--data_dir={tmp_path / 'glue'}",
                   "--wandb=disabled", f"--output_dir={out}")
    assert proc.returncode == 2
    assert "RTE/dev.tsv: no such GLUE file" in proc.stderr
    assert not out.exists()


def test_grid_reports_the_best_setting_by_median_over_seeds(tmp_path):
    import numpy as np
    _write_glue(tmp_path / "glue")
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, "glue", "--task=rte", "--model=albert-test", f"--data_dir={tmp_path / 'glue'}",
                   '--grid={"lr": [1e-4, 3e-3], "seed": [0, 1, 2]}', "--epochs=2", "--batch_size=4",
                   "--vocab_size=64", "--max_seq_length=32", "--baseline=False", "--wandb=disabled",
                   "--progress=False", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "results.json").read_text())
    runs = {(lr, seed): json.loads((out / f"lr={lr}-seed={seed}" / "results.json").read_text())["metrics"]
            for lr in (0.0001, 0.003) for seed in (0, 1, 2)}
    medians = {lr: np.median([runs[lr, s]["dev/accuracy"] for s in (0, 1, 2)]) for lr in (0.0001, 0.003)}
    best = max(medians, key=lambda lr: (medians[lr], -list(medians).index(lr)))  # the first best wins ties
    assert summary["setting"] == {"lr": best} and summary["seeds"] == 3
    assert summary["metrics"]["dev/accuracy"] == pytest.approx(medians[best])
    assert "median of 3" in proc.stdout
    proc = run_cli(SCRIPT, "glue", "--task=rte", "--model=albert-test", f"--data_dir={tmp_path / 'glue'}",
                   '--grid={"dropout": [0.1]}', f"--output_dir={tmp_path / 'x'}")
    assert proc.returncode == 2 and "--grid must map some of lr, batch_size, epochs, seed" in proc.stderr

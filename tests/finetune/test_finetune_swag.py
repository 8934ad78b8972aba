"""`alba finetune swag`: the SWAG CSV layout (quoted fields with commas), the multiple-choice head trained on the
engine, dev predictions whose accuracy is the reported one, and bad rows named by file and line."""
import csv
import json
import random

import pytest

from conftest import ROOT, run_cli
from data_pipeline import DataError
from finetune.swag import read_swag

SCRIPT = ROOT / "launch" / "finetune.py"
COLOURS = ["red", "blue", "green", "yellow", "black", "white"]
HEADER = ["", "video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source", "ending0", "ending1", "ending2",
          "ending3", "label"]


def _write(path, n, seed):
    """The right ending names the colour of the context, the others different colours: learnable from pairs."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(n):
            colour, others = rng.choice(COLOURS), None
            others = rng.sample([c for c in COLOURS if c != colour], 3)
            label = rng.randrange(4)
            endings = others[:label] + [colour] + others[label:]
            w.writerow([i, f"v{i}", i, "", f"Someone holds a {colour} cup, smiling.", "Then, someone",
                        "gold", *[f"drops the {c} cup." for c in endings], label])
    return path


def test_reader_keeps_quoted_commas_and_labels(tmp_path):
    ex = read_swag(_write(tmp_path / "train.csv", 3, 0))
    assert len(ex) == 3 and ex[0].context.endswith("cup, smiling.") and len(ex[0].choices) == 4
    assert ex[0].choices[0].startswith("Then, someone drops the") and ex[0].label in range(4)
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(HEADER) + "\n" + "0,v,0,,a,b,gold,e0,e1,e2,e3,7\n")
    with pytest.raises(DataError, match=r"bad.csv:2: label '7' is not one of 0, 1, 2, 3"):
        read_swag(bad)
    bad.write_text("sent1,sent2,ending0\n")
    with pytest.raises(DataError, match=r"bad.csv:1: missing column\(s\) ending1, ending2, ending3"):
        read_swag(bad)


def test_swag_run_reports_accuracy_of_its_predictions(tmp_path):
    train, dev = _write(tmp_path / "train.csv", 320, 1), _write(tmp_path / "val.csv", 60, 2)
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, "swag", "--model=albert-test", f"--train_file={train}", f"--dev_file={dev}",
                   "--vocab_size=128", "--max_seq_length=32", "--batch_size=16", "--epochs=2", "--lr=2e-3",
                   "--wandb=disabled", "--progress=False", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    rows = (out / "predictions.tsv").read_text().splitlines()[1:]
    labels = [e.label for e in read_swag(dev)]
    assert len(rows) == 60
    recomputed = sum(int(r.split("\t")[1]) == y for r, y in zip(rows, labels)) / 60
    assert result["metrics"]["accuracy"] == pytest.approx(recomputed)
    assert "alba SWAG dev accuracy" in proc.stdout and (out / "best" / "head.json").is_file()


def test_swag_grid_reports_the_median_over_seeds(tmp_path):
    train, dev = _write(tmp_path / "train.csv", 160, 1), _write(tmp_path / "val.csv", 40, 2)
    out = tmp_path / "grid"
    proc = run_cli(SCRIPT, "swag", "--model=albert-test", f"--train_file={train}", f"--dev_file={dev}",
                   "--vocab_size=128", "--max_seq_length=32", "--batch_size=16", "--epochs=1",
                   '--grid={"lr": [2e-3, 1e-4], "seed": [0, 1, 2]}', "--wandb=disabled", "--progress=False",
                   f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "results.json").read_text())
    points = {lr: [json.loads((out / f"lr={lr}-seed={s}" / "results.json").read_text())["metrics"]["accuracy"]
                   for s in (0, 1, 2)] for lr in (0.002, 0.0001)}
    medians = {lr: sorted(v)[1] for lr, v in points.items()}
    best = max(medians, key=medians.get)
    assert summary["setting"] == {"lr": best} and summary["seeds"] == 3
    assert summary["metrics"]["accuracy"] == pytest.approx(medians[best])
    assert "alba SWAG grid: best setting" in proc.stdout

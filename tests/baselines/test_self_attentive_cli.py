"""`alba baseline self_attentive` end to end: above chance on the real SST-2 files (train-8k.tsv -> dev.tsv), a run
resumed mid-epoch ends as the uninterrupted one, attention.png is a real picture, help, and bad input is a one-line
error naming file and line that writes nothing."""
import json

import pytest
from test_text_cnn_cli import write_task

from conftest import BUDGET, assert_same_run, cut_back, metric_records, one_line_error, run_cli

# Measured on 1 CPU thread (seed 0, defaults), dev accuracy after epochs 1-5: 70.3, 71.8, 77.3, 76.3, 75.5%
# (2026-12-01; an epoch takes about 20 s on an idle core). The ci budget trains 1 epoch, 'full' the default 5.
EPOCHS, ACCURACY = {"ci": (1, 0.62), "full": (5, 0.73)}[BUDGET]
SMALL = ["--embedding_size=8", "--hidden_size=6", "--attention_size=5", "--attention_rows=2", "--mlp_size=10"]


def alba(*args):
    return run_cli("-m", "launch.cli", "baseline", "self_attentive", *args)  # in this process: no start-up cost


@pytest.mark.slow
def test_sst2_dev_accuracy_above_chance(shared_data, tmp_path):
    out = tmp_path / "run"
    proc = alba(f"--data_dir={shared_data / 'glue' / 'SST-2'}", "--train_file=train-8k.tsv", f"--epochs={EPOCHS}",
                f"--output_dir={out}", "--wandb=disabled", "--progress=False")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    print(f"self-attentive, {EPOCHS} epochs on train-8k.tsv: dev accuracy {100 * result['eval_accuracy']:.2f}%")
    assert result["eval_accuracy"] >= ACCURACY, proc.stdout
    assert result["steps"] == EPOCHS * (8000 // 32)
    assert f"{100 * result['eval_accuracy']:.2f}%" in proc.stdout.splitlines()[-1]
    assert sum("eval/penalty_loss" in r for r in metric_records(out)) >= EPOCHS
    assert (out / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resumed_mid_epoch_gives_the_uninterrupted_run_and_draws_the_attention(tmp_path):
    """200 sentences, 4 steps an epoch, 3 epochs, a checkpoint every 2 steps: a copy cut back to step 6 (mid epoch
    2) is resumed and must end with the same weights and logged metrics; both draw attention.png."""
    import matplotlib.image

    data = tmp_path / "data"
    write_task(data)
    args = [f"--data_dir={data}", *SMALL, "--batch_size=50", "--epochs=3", "--save_every=2",
            "--keep_checkpoints=20", "--log_every=1", "--wandb=disabled", "--progress=False"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    proc = alba(*args, f"--output_dir={whole}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    cut_back(whole, cut, 6)
    (cut / "attention.png").unlink()
    resumed = alba(*args, f"--output_dir={cut}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming at step 6" in resumed.stdout
    assert_same_run(whole, cut)
    for run in (whole, cut):
        png = run / "attention.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(png).shape
        assert height > 200 and width > 200
    results = json.loads((whole / "results.json").read_text())
    assert results["steps"] == 12 and results["eval_penalty"] >= 0


def test_the_papers_sgd_and_no_picture_when_asked_for_none(tmp_path):
    data, out = tmp_path / "data", tmp_path / "run"
    write_task(data, n=64)
    proc = alba(f"--data_dir={data}", *SMALL, "--batch_size=32", "--epochs=1", "--optimizer=sgd",
                "--attention_sentences=0", f"--output_dir={out}", "--wandb=disabled", "--progress=False")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "results.json").is_file() and not (out / "attention.png").exists()


def test_help_lists_options_with_defaults():
    proc = alba("--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--hidden_size=100", "--attention_size=100", "--attention_rows=4", "--mlp_size=300",
                   "--penalty=0.1", "--dropout=0.5", "--optimizer='adam'", "--adam_lr=0.003", "--lr=0.06",
                   "--batch_size=32", "--grad_clip=0.5", "--weight_decay=0.0001", "--epochs=5",
                   "--attention_sentences=4", "--train_file='train.tsv'"):
        assert option in proc.stdout, option


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    data, out = tmp_path / "data", tmp_path / "o"
    write_task(data)
    assert "--data_dir is required" in one_line_error(alba(f"--output_dir={out}"))
    assert "--penalty" in one_line_error(alba(f"--data_dir={data}", "--penalty=-1", f"--output_dir={out}"))
    assert "attention_rows" in one_line_error(alba(f"--data_dir={data}", "--attention_rows=0",
                                                   f"--output_dir={out}"))
    rows = (data / "train.tsv").read_text().splitlines()
    rows[2] = rows[2].rsplit("\t", 1)[0] + "\tpositive"
    (data / "train.tsv").write_text("\n".join(rows) + "\n")
    assert f"{data / 'train.tsv'}:3: label 'positive'" in one_line_error(alba(f"--data_dir={data}",
                                                                              f"--output_dir={out}"))
    write_task(data)
    (data / "dev.tsv").write_text("sentence\tlabel\nfine film\t1\ttoo many\n")
    line = one_line_error(alba(f"--data_dir={data}", f"--output_dir={out}"))
    assert f"{data / 'dev.tsv'}:2: 3 fields, expected 2" in line
    assert not out.exists()

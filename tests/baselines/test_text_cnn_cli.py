"""`alba baseline text_cnn` end to end: the rand CNN on the real SST-2 files (train-8k.tsv -> dev.tsv) reaches 75%,
a multichannel run from a word2vec-format file resumed mid-epoch ends as the uninterrupted run, the character CNN
trains and its saved model reproduces the reported accuracy, and bad input is a one-line error naming file and line
that writes nothing."""
import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import BUDGET, one_line_error, run_cli

# Measured on 1 CPU thread, as the tests run (seed 0, 160 steps per epoch, ~20 s each on an idle core): dev accuracy
# 66.9, 65.5, 74.8, 73.6, 74.3, 76.6, 75.6, 76.2% after epochs 1-8 (2026-12-01). The ci budget trains 6 epochs,
# 'full' the paper's 25.
EPOCHS = {"ci": 6, "full": 25}[BUDGET]


def alba(*args):
    return run_cli("-m", "launch.cli", "baseline", "text_cnn", *args)


@pytest.mark.slow
def test_rand_cnn_reaches_75_percent_on_sst2_dev(shared_data, tmp_path):
    out = tmp_path / "run"
    proc = alba(f"--data_dir={shared_data / 'glue' / 'SST-2'}", "--train_file=train-8k.tsv", f"--epochs={EPOCHS}",
                f"--output_dir={out}", "--wandb=disabled", "--progress=False")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    print(f"text CNN rand, {EPOCHS} epochs on train-8k.tsv: dev accuracy {100 * result['eval_accuracy']:.2f}%")
    assert result["eval_accuracy"] >= 0.75, proc.stdout
    assert result["steps"] == EPOCHS * (8000 // 50)
    assert f"{100 * result['eval_accuracy']:.2f}%" in proc.stdout.splitlines()[-1]
    records = [json.loads(line) for line in (out / "metrics.jsonl").open()]
    assert sum("eval/label_accuracy" in r for r in records) >= EPOCHS  # one per epoch, and the final one


def write_task(folder, n=200, seed=0):
    """Sentences of filler words with one sentiment word; the label is that word's polarity."""
    rng = np.random.default_rng(seed)
    good, bad, filler = ["great", "fine", "lovely"], ["awful", "dull", "poor"], ["the", "film", "is", "a", "plot"]
    rows = ["sentence\tlabel"]
    for i in range(n):
        words = list(rng.choice(filler, size=rng.integers(2, 7)))
        words.insert(int(rng.integers(len(words) + 1)), rng.choice(good if i % 2 else bad))
        rows.append(" ".join(words) + f" \t{i % 2}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.tsv").write_text("\n".join(rows) + "\n")
    (folder / "dev.tsv").write_text("\n".join(rows[:41]) + "\n")
    words = good + bad + filler
    vectors = rng.normal(size=(len(words), 8))
    (folder / "vectors.txt").write_text(f"{len(words)} 8\n" + "".join(
        w + " " + " ".join(f"{x:.6f}" for x in v) + "\n" for w, v in zip(words, vectors)))


@pytest.mark.slow
def test_multichannel_resumed_mid_epoch_gives_the_uninterrupted_run(tmp_path):
    """4 steps per epoch, 3 epochs, a checkpoint every 2 steps: a copy cut back to step 6 (mid epoch 2) is resumed
    and must end with the same weights (both channels, so the frozen one too) and the same logged metrics."""
    data = tmp_path / "data"
    write_task(data)
    args = [f"--data_dir={data}", "--mode=multichannel", f"--vectors={data / 'vectors.txt'}", "--num_filters=8",
            "--epochs=3", "--save_every=2", "--keep_checkpoints=20", "--log_every=1", "--wandb=disabled",
            "--progress=False"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    proc = alba(*args, f"--output_dir={whole}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(11 with a pretrained vector)" in proc.stdout  # all but <pad> and <unk>
    shutil.copytree(whole, cut)
    for path in list((cut / "checkpoints").glob("step-*")):
        if path.name > "step-00000006":
            shutil.rmtree(path)
    (cut / "checkpoints" / "latest").write_text("step-00000006")
    for name in ("model.safetensors", "config.json", "results.json"):
        (cut / name).unlink()
    records = lambda run: [json.loads(l) for l in (run / "metrics.jsonl").open()]
    (cut / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records(whole) if r["step"] <= 6))
    resumed = alba(*args, f"--output_dir={cut}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming at step 6" in resumed.stdout
    a, b = load_file(whole / "model.safetensors"), load_file(cut / "model.safetensors")
    assert set(a) == set(b) and {"embeddings.0.weight", "embeddings.1.weight"} <= set(a)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0, msg=name)
    start = load_file(whole / "checkpoints" / "step-00000002" / "model.safetensors")
    torch.testing.assert_close(a["embeddings.0.weight"], start["embeddings.0.weight"], rtol=0, atol=0)  # static
    assert not torch.equal(a["embeddings.1.weight"], start["embeddings.1.weight"])  # non-static moved
    stable = lambda run: [{k: v for k, v in r.items() if k != "time" and not k.endswith(("_per_s", "_seconds"))}
                          for r in records(run)]
    assert stable(cut) == stable(whole)
    norms = a["classifier.weight"].norm(dim=1)
    assert torch.all(norms <= 3.0 + 1e-5)


def test_character_cnn_trains_through_the_engine(tmp_path):
    from modeling.baselines.char_cnn import CharCNN, quantize

    data, out = tmp_path / "data", tmp_path / "run"
    write_task(data)
    proc = alba(f"--data_dir={data}", "--model=char", "--char_length=150", "--epochs=2", f"--output_dir={out}",
                "--wandb=disabled", "--progress=False")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "character CNN on sst2: 200 training and 40 evaluation sentences" in proc.stdout
    result = json.loads((out / "results.json").read_text())
    assert result["model"] == "char" and result["steps"] == 2 * 4
    model = CharCNN.from_pretrained(out).eval()
    assert model.config.length == 150
    dev = (data / "dev.tsv").read_text().splitlines()[1:]
    ids = torch.from_numpy(quantize([row.split("\t")[0] for row in dev], 150))
    labels = torch.tensor([int(row.split("\t")[1]) for row in dev])
    assert model(ids, labels=labels).label_correct.item() / 40 == pytest.approx(result["eval_accuracy"])


def assert_bad_rows_named(alba, data, out):
    """A bad label in the training file and a row with too many fields in the evaluation file are one-line errors
    naming file and line (the rows of `write_task`, restored afterwards)."""
    rows = (data / "train.tsv").read_text().splitlines()
    rows[2] = rows[2].rsplit("\t", 1)[0] + "\tpositive"
    (data / "train.tsv").write_text("\n".join(rows) + "\n")
    line = one_line_error(alba(f"--data_dir={data}", f"--output_dir={out}"))
    assert f"{data / 'train.tsv'}:3: label 'positive'" in line
    write_task(data)
    (data / "dev.tsv").write_text("sentence\tlabel\nfine film\t1\ttoo many\n")
    line = one_line_error(alba(f"--data_dir={data}", f"--output_dir={out}"))
    assert f"{data / 'dev.tsv'}:2: 3 fields, expected 2" in line
    write_task(data)


@pytest.mark.slow
def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    data, out = tmp_path / "data", tmp_path / "o"
    write_task(data)
    line = one_line_error(alba(f"--output_dir={out}"))
    assert "--data_dir is required" in line
    line = one_line_error(alba(f"--data_dir={data}", "--mode=static", f"--output_dir={out}"))
    assert "--mode=static needs --vectors" in line
    assert_bad_rows_named(alba, data, out)
    (data / "vectors.txt").write_text("2 3\nfine 1 2 3\ndull 1 x 3\n")
    line = one_line_error(alba(f"--data_dir={data}", "--mode=non-static", f"--vectors={data / 'vectors.txt'}",
                               f"--output_dir={out}"))
    assert f"{data / 'vectors.txt'}:3: a vector component is not a number" in line
    line = one_line_error(alba(f"--data_dir={data}", "--model=char", "--char_length=100", f"--output_dir={out}"))
    assert "--char_length must be at least 123" in line
    line = one_line_error(alba(f"--data_dir={data}", "--filter_widths=3,x", f"--output_dir={out}"))
    assert "--filter_widths" in line
    assert not out.exists()


def test_a_sensitivity_grid_reports_each_setting_over_its_seeds(tmp_path):
    """Zhang & Wallace's analysis through the shared grid: every point in its own folder, each setting's median,
    min and max over the seeds equal to its points' own results, and a resumed grid keeps the finished points."""
    write_task(tmp_path)
    out = tmp_path / "grid"
    args = [f"--data_dir={tmp_path}", "--embedding_size=8", "--num_filters=4", "--epochs=1", "--batch_size=20",
            '--grid={"pooling": ["max", "kmax2"], "activation": ["relu", "tanh"], "seed": [0, 1, 2]}',
            f"--output_dir={out}", "--wandb=disabled", "--progress=False"]
    proc = alba(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "results.json").read_text())
    assert len(summary["grid"]) == 4 and summary["seeds"] == 3
    for row in summary["grid"]:
        s = row["setting"]
        found = [json.loads((out / f"activation={s['activation']}-pooling={s['pooling']}-seed={seed}" /
                             "results.json").read_text())["eval_accuracy"] for seed in range(3)]
        assert row["median"]["eval_accuracy"] == float(np.median(found))
        assert (row["min"]["eval_accuracy"], row["max"]["eval_accuracy"]) == (min(found), max(found))
        line = (f"  {100 * float(np.median(found)):.2f} ({100 * min(found):.2f} - {100 * max(found):.2f})  "
                f"activation={s['activation']}, pooling={s['pooling']}")
        assert line in proc.stdout.splitlines()
    best = max(summary["grid"], key=lambda r: r["median"]["eval_accuracy"])
    assert summary["setting"] == best["setting"]
    resumed = alba(*args, "--resume")
    assert resumed.returncode == 0 and resumed.stdout.count("finished before, its results are kept") == 12


def test_a_grid_of_an_unknown_option_or_value_writes_nothing(tmp_path):
    write_task(tmp_path)
    for grid, message in (('{"lr": [1]}', "--grid must map some of filter_widths, num_filters"),
                          ('{"pooling": ["max", "kmax0"]}', "pooling must be 'max', 'mean' or 'kmaxK'")):
        line = one_line_error(alba(f"--data_dir={tmp_path}", f"--grid={grid}", f"--output_dir={tmp_path / 'x'}"))
        assert message in line
        assert not (tmp_path / "x").exists()

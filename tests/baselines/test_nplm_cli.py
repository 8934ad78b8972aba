"""`alba baseline nplm` end to end: on the real PTB split it is far better than a unigram model and its mixture
with Kneser-Ney beats Kneser-Ney; exact resume through the engine; help and bad input."""
import json
import math

import pytest
import torch

from conftest import BUDGET, assert_same_run, cut_back, metric_records, one_line_error, run_cli
from test_rnn_lm_cli import toy_corpus


def alba(*args):
    return run_cli("-m", "launch.cli", "baseline", "nplm", *args)


FAST = ("--wandb=disabled", "--progress=False")
# Measured with the defaults (5 epochs, seed 0, 1 thread): test perplexity 174.2, the mixture with Kneser-Ney 137.4
# (Kneser-Ney 3-gram alone 156.3; a unigram model with add-one counts 405). The ci budget trains 2 epochs.
EPOCHS = {"ci": 2, "full": 5}[BUDGET]


@pytest.mark.slow
def test_nplm_on_the_ptb_split(shared_data, tmp_path):
    out = tmp_path / "run"
    proc = alba(f"--data_dir={shared_data / 'ptb'}", f"--epochs={EPOCHS}", f"--output_dir={out}", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert "59307 training and 14453 test tokens, vocabulary 5518" in proc.stdout  # the rnn_lm's split
    assert result["ngram_test_perplexity"] == pytest.approx(156.3, abs=0.05)
    assert result["test_perplexity"] < (300 if BUDGET == "ci" else 185), proc.stdout  # the unigram's 405
    # The network and Kneser-Ney err on different words: their even mixture beats both.
    assert result["mixture_test_perplexity"] < 0.97 * result["ngram_test_perplexity"], proc.stdout
    assert f"({EPOCHS} epochs): {result['test_perplexity']:.2f}" in proc.stdout
    assert f"0.5 NPLM + 0.5 Kneser-Ney: {result['mixture_test_perplexity']:.2f}" in proc.stdout
    assert metric_records(out)[-1]["test/test_perplexity"] == result["test_perplexity"]


def test_resume_mid_epoch_gives_the_uninterrupted_run(tmp_path):
    """Weights, Adam's moments, the shuffled order, dropout draws and the lr decay continue exactly."""
    toy_corpus(tmp_path / "ptb.valid.txt", lines=100)
    args = [f"--data_dir={tmp_path}", "--order=3", "--embedding_size=8", "--hidden_size=8", "--batch_size=16",
            "--epochs=3", "--dropout=0.3", "--lr_decay=0.5", "--weight_decay=1e-3", "--save_every=10",
            "--keep_checkpoints=50", "--log_every=5", *FAST]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    proc = alba(*args, f"--output_dir={whole}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    per_epoch = json.loads((whole / "results.json").read_text())["steps"] // 3
    resume_at = ((per_epoch + per_epoch // 2) // 10) * 10  # inside epoch 2, after the lr decay began
    assert per_epoch < resume_at < 2 * per_epoch
    for r in (r for r in metric_records(whole) if "train/lr" in r):  # the lr of the next step: x0.5 each epoch
        assert r["train/lr"] == pytest.approx(1e-3 * 0.5 ** (r["step"] // per_epoch)), r
    cut_back(whole, cut, resume_at)
    resumed = alba(*args, f"--output_dir={cut}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming at step {resume_at}" in resumed.stdout
    assert_same_run(whole, cut)
    ra, rb = (json.loads((run / "results.json").read_text()) for run in (whole, cut))
    assert ra["test_perplexity"] == rb["test_perplexity"]


def tiny_runs(tmp_path, *extra_per_run):
    """Small networks trained for an epoch on a toy corpus in tmp_path, one per `extra` option list."""
    toy_corpus(tmp_path / "ptb.valid.txt", lines=100)
    runs = []
    for i, extra in enumerate(extra_per_run):
        run = tmp_path / f"member{i}"
        proc = alba(f"--data_dir={tmp_path}", "--order=3", "--embedding_size=8", "--batch_size=16", "--epochs=1",
                    f"--seed={i}", f"--output_dir={run}", *FAST, *extra)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(run)
    return runs


def test_an_ensemble_averages_its_members_word_probabilities(tmp_path):
    """--ensemble: each test word's probability is the mean of the members'; checked against the members' logits
    on windows built here from the test lines (the last 20 of 100), the stream's start padded with <eos>."""
    from modeling.baselines.nplm import NeuralProbabilisticLM

    runs = tiny_runs(tmp_path, ["--hidden_size=8"], ["--hidden_size=12", "--direct=False"])
    out = tmp_path / "ensemble"
    proc = alba(f"--data_dir={tmp_path}", f"--ensemble={runs[0]},{runs[1]}", f"--output_dir={out}", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())

    words = json.loads((runs[0] / "vocab.json").read_text())
    index = {w: i for i, w in enumerate(words)}
    lines = (tmp_path / "ptb.valid.txt").read_text().splitlines()[80:]
    ids = [index.get(w, index["<unk>"]) for line in lines for w in line.split() + ["<eos>"]]
    stream = [index["<eos>"]] + ids  # order 3: the first target's context is (<eos>, ids[0])
    contexts = torch.tensor([stream[j:j + 2] for j in range(len(ids) - 1)])
    targets = torch.tensor(ids[1:])
    each = []
    for run in runs:
        model = NeuralProbabilisticLM.from_pretrained(run).eval()
        with torch.no_grad():
            each.append(model(contexts).logits.double().softmax(-1)[torch.arange(len(targets)), targets])
    perplexity = lambda p: math.exp(-p.log().mean().item())
    assert result["test_perplexity"] == pytest.approx(perplexity((each[0] + each[1]) / 2), rel=1e-9)
    assert [result["members"][str(r)] for r in runs] == pytest.approx([perplexity(p) for p in each], rel=1e-9)
    assert result["test_perplexity"] < max(result["members"].values())
    assert f"mean of 2 NPLMs ({runs[0]}, {runs[1]}): {result['test_perplexity']:.2f}" in proc.stdout


def test_an_ensemble_member_from_other_text_is_a_one_line_error(tmp_path):
    runs = tiny_runs(tmp_path, [], ["--train_fraction=0.5"])
    out = tmp_path / "ensemble"
    line = one_line_error(alba(f"--data_dir={tmp_path}", f"--ensemble={runs[0]},{runs[1]}", f"--output_dir={out}"))
    assert f"{runs[1] / 'vocab.json'} is not the vocabulary of first 0.8 of ptb.valid.txt's lines" in line
    line = one_line_error(alba(f"--data_dir={tmp_path}", f"--ensemble={runs[0]},{tmp_path / 'none'}",
                               f"--output_dir={out}"))
    assert f"{tmp_path / 'none'} has no vocab.json" in line
    (runs[0] / "model.safetensors").unlink()
    line = one_line_error(alba(f"--data_dir={tmp_path}", f"--ensemble={runs[0]}", f"--output_dir={out}"))
    assert f"{runs[0]} has no model.safetensors" in line
    assert not out.exists()


def test_help_lists_the_options_with_their_defaults():
    proc = alba("--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--order=5", "--embedding_size=60", "--hidden_size=50", "--direct=True", "--dropout=0.3",
                   "--word_dropout=0.0",
                   "--epochs=5", "--batch_size=64", "--lr=0.001", "--lr_decay=1.0", "--weight_decay=0.0",
                   "--mix_weight=0.5", "--ensemble=''", "--train_fraction=0.8", "--split_file='ptb.valid.txt'", "--ngram_order=3"):
        assert option in proc.stdout, option


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "o"
    assert "--data_dir is required" in one_line_error(alba(f"--output_dir={out}"))
    (tmp_path / "ptb.valid.txt").write_bytes(b"a b c\nd \xff e\n")
    assert "ptb.valid.txt: line 2 is not UTF-8" in one_line_error(alba(f"--data_dir={tmp_path}",
                                                                         f"--output_dir={out}"))
    (tmp_path / "ptb.valid.txt").write_text("\n\n", encoding="utf-8")
    line = one_line_error(alba(f"--data_dir={tmp_path}", f"--output_dir={out}"))
    assert "ptb.valid.txt: the language-model corpus holds no text" in line
    (tmp_path / "ptb.valid.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    assert "training windows are too few" in one_line_error(alba(f"--data_dir={tmp_path}", f"--output_dir={out}"))
    assert "--order must be at least 2" in one_line_error(alba(f"--data_dir={tmp_path}", "--order=1"))
    assert "--word_dropout must be in [0, 1)" in one_line_error(alba(f"--data_dir={tmp_path}", "--word_dropout=1"))
    line = one_line_error(alba(f"--data_dir={tmp_path}", "--hidden=3"))
    assert "unknown option --hidden" in line and "hidden_size" in line
    assert not out.exists()

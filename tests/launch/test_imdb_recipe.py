"""The IMDB recipe end to end at a reduced size: raw reviews with HTML breaks -> cleaned -> tokenizer -> token store
-> pretraining with launch/configs/imdb_bert.yaml -> fine-tuning SST-2 from the checkpoint."""
import itertools
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, run_cli

RECIPE = ROOT / "launch" / "configs" / "imdb_recipe.sh"
SMALL = ["--max_steps=120", "--batch_size=16", "--eval_every=0", "--save_every=60", "--eval_fraction=0.1",
         "--log_every=10", "--wandb=disabled", "--progress=False"]


def _recipe(*args):
    return subprocess.run(["bash", str(RECIPE), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "PYTHON": sys.executable, "WANDB_MODE": "offline"})


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    shared = ROOT.parent / "shared" / "data" / "imdb" / "unsup.txt"
    if not shared.is_file():
        pytest.skip(f"real data file {shared} is absent")
    tmp = tmp_path_factory.mktemp("imdb")
    reviews = tmp / "reviews.txt"  # the first 400 reviews, read from the shared file
    with open(shared, encoding="utf-8") as f:
        reviews.write_text("".join(itertools.islice(f, 400)), encoding="utf-8")
    proc = _recipe(reviews, tmp / "out", *SMALL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return reviews, tmp / "out", proc


@pytest.mark.slow
def test_store_holds_every_review_without_markup(recipe_run):
    from data_pipeline import load_tokenizer
    from data_pipeline.store import TokenStore
    _, out, _ = recipe_run
    tok = load_tokenizer(out / "tokenizer")
    docs = TokenStore(out / "store", tok).documents()
    assert len(docs) == 400
    tokens = [tok.id_to_token(t) for d in docs for s in d for t in s]
    assert len(tokens) > 50_000
    markup = [i for i in range(len(tokens) - 2) if tokens[i:i + 3] == ["<", "br", "/"]]
    assert not markup, "HTML line breaks reached the store"


@pytest.mark.slow
def test_pretraining_learns_and_checkpoints(recipe_run):
    _, out, proc = recipe_run
    summary = json.loads((out / "pretrain" / "summary.json").read_text())
    assert summary["steps"] == 120
    assert summary["eval/mlm_accuracy"] > summary["eval/mlm_baseline_accuracy"], summary
    assert summary["examples"]["masked"] and summary["examples"]["pairs"]
    assert "held-out sentences, one word masked" in proc.stdout
    run_config = json.loads((out / "pretrain" / "run_config.json").read_text())
    assert run_config["model"] == "bert-tiny" and run_config["masking"] == "wwm"  # from imdb_bert.yaml
    assert (out / "pretrain" / "checkpoints" / "latest").read_text().strip() == "step-00000120"


@pytest.mark.slow
def test_tokenizer_is_the_same_when_trained_again(recipe_run, tmp_path):
    reviews, out, _ = recipe_run
    proc = run_cli(ROOT / "launch" / "data.py", "tokenizer", f"--source={reviews}", "--corpus_format=lines",
                   "--clean_html", "--vocab_size=8192", f"--out={tmp_path / 'tok'}", env={"PYTHONHASHSEED": "99"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "tok" / "tokenizer.json").read_bytes() == (out / "tokenizer" / "tokenizer.json").read_bytes()


@pytest.mark.slow
def test_finetuning_starts_from_the_recipe_checkpoint(recipe_run, shared_data, tmp_path):
    _, out, _ = recipe_run
    glue = shared_data / "glue"
    proc = run_cli(ROOT / "launch" / "finetune.py", "glue", "--task=sst2", f"--data_dir={glue}",
                   f"--train_file={glue / 'SST-2' / 'train-8k.tsv'}", "--max_train_examples=320", "--epochs=1",
                   "--max_seq_length=64", "--lr=3e-4", f"--model={out / 'pretrain'}", "--baseline=False",
                   "--wandb=disabled", "--progress=False", f"--output_dir={tmp_path / 'ft'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert result["source"] == "alba-pretraining" and result["train_examples"] == 320
    assert 0.0 < result["metrics"]["dev/accuracy"] <= 1.0


def test_missing_reviews_file_is_one_line_and_leaves_nothing(tmp_path):
    proc = _recipe(tmp_path / "nope.txt", tmp_path / "out")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"imdb_recipe: no such file: {tmp_path / 'nope.txt'}"
    assert not (tmp_path / "out").exists()

"""`alba finetune glue` end to end on the real SST-2 files: a tiny model trained from random initialisation beats
70% dev accuracy, with the bag-of-words baseline printed beside it; evaluate-only and predict modes; bad input."""
import json

import pytest
import torch

from conftest import BUDGET, ROOT, run_cli

SCRIPT = ROOT / "launch" / "finetune.py"
COMMON = ["glue", "--task=sst2", "--wandb=disabled", "--progress=False", "--max_seq_length=64"]


def _sst2(shared_data, *extra):
    d = shared_data / "glue"
    return [*COMMON, f"--data_dir={d}", f"--train_file={d / 'SST-2' / 'train-8k.tsv'}", *extra]


@pytest.mark.slow
def test_tiny_model_from_scratch_reaches_70_percent(shared_data, tmp_path):
    """albert-test (0.16M parameters besides its 4096-token embeddings), random init, WordPiece tokenizer trained on
    train-8k: measured 75.1% after 2 epochs and 75.7% after 3 (lr 1e-3, batch 32); the bag-of-words baseline gets
    78.7%. About 60-90 s for 2 epochs on 2 CPU cores (not asserted)."""
    epochs = 2 if BUDGET == "ci" else 3
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, *_sst2(shared_data, "--model=albert-test", "--lr=1e-3", "--batch_size=32",
                                  f"--epochs={epochs}", f"--output_dir={out}"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert result["dev_examples"] == {"dev": 872} and result["train_examples"] == 8000
    assert result["metrics"]["dev/accuracy"] >= 0.70, result
    assert result["baseline"]["dev/accuracy"] >= 0.70, result  # the bag-of-words baseline, reported beside it
    assert "alba fine-tuning results" in proc.stdout and "bag-of-words" in proc.stdout
    assert f"{100 * result['metrics']['dev/accuracy']:.1f}" in proc.stdout
    logged = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("train/loss" in r for r in logged) and any("eval/dev/accuracy" in r for r in logged)
    # The kept model is the best epoch's: evaluating it alone reproduces the reported accuracy.
    again = tmp_path / "eval"
    proc = run_cli(SCRIPT, *COMMON, f"--data_dir={shared_data / 'glue'}", f"--model={out / 'best'}",
                   "--do_train=False", f"--output_dir={again}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluated = json.loads((again / "results.json").read_text())
    assert evaluated["metrics"]["dev/accuracy"] == pytest.approx(result["metrics"]["dev/accuracy"], abs=1e-9)


def test_short_run_writes_model_and_predictions(shared_data, tmp_path):
    """A few steps: best model, tokenizer and a GLUE submission file for a test set (dev without labels here)."""
    test_file = tmp_path / "test.tsv"
    rows = (shared_data / "glue" / "SST-2" / "dev.tsv").read_text().splitlines()[1:21]
    test_file.write_text("index\tsentence\n" + "".join(f"{i}\t{r.rsplit(chr(9), 1)[0]}\n" for i, r in
                                                       enumerate(rows)))
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, *_sst2(shared_data, "--model=albert-test", "--max_train_examples=256", "--epochs=1",
                                  "--baseline=False", "--predict", f"--test_file={test_file}",
                                  f"--output_dir={out}"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("best/model.safetensors", "best/head.json", "best/tokenizer.json", "results.json",
                 "run_config.json", "results.txt"):
        assert (out / name).is_file(), name
    lines = (out / "SST-2.tsv").read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 21
    assert [l.split("\t")[0] for l in lines[1:]] == [str(i) for i in range(20)]
    assert {l.split("\t")[1] for l in lines[1:]} <= {"0", "1"}
    # Round trip: the exported transformers model predicts the same labels from the same text.
    transformers = pytest.importorskip("transformers")
    proc = run_cli(SCRIPT, "export", f"--model={out / 'best'}", f"--out={tmp_path / 'hf'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "AlbertForSequenceClassification" in proc.stdout
    hf_config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf_config["id2label"] == {"0": "negative", "1": "positive"}  # SST-2's label meanings, not LABEL_0/1
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "| Task | sst2 |" in card and "Dev (best epoch" in card and "AutoModelForSequenceClassification" in card
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    texts = [r.rsplit("\t", 1)[0] for r in rows]
    encoded = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    from modeling.task_heads import AlbaForSequenceClassification
    ours = AlbaForSequenceClassification.from_pretrained(out / "best").eval()
    with torch.no_grad():
        logits = hf(**encoded).logits
        torch.testing.assert_close(ours(**encoded).logits, logits, atol=1e-5, rtol=0)
    assert [str(int(i)) for i in logits.argmax(-1)] == [l.split("\t")[1] for l in lines[1:]]


@pytest.mark.parametrize("args, message", [
    (["--task=sst5"], "unknown GLUE task 'sst5'; valid tasks: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli"),
    (["--lr=-1"], "--lr must be positive"),
    (["--bogus=1"], "unknown option --bogus (--help lists every option)"),
    (["--num_train_epochs=2"], "unknown option --num_train_epochs; did you mean --epochs"),
    (["--model=nonexistent-dir"], "is not a model preset nor a directory holding config.json"),
    (["--model=albert-tset"], "did you mean albert-test"),
])
def test_bad_options_are_one_line_errors(shared_data, tmp_path, args, message):
    proc = run_cli(SCRIPT, *_sst2(shared_data, "--model=albert-test", f"--output_dir={tmp_path / 'o'}", *args))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().startswith("alba: error:") and len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr
    assert not (tmp_path / "o").exists()


def test_bad_tsv_names_file_and_line(shared_data, tmp_path):
    bad = tmp_path / "train.tsv"
    bad.write_text("sentence\tlabel\na fine film\t1\na dull one\tnegative\n")
    proc = run_cli(SCRIPT, *COMMON, f"--data_dir={shared_data / 'glue'}", f"--train_file={bad}",
                   "--model=albert-test", f"--output_dir={tmp_path / 'o'}")
    assert proc.returncode == 2
    assert f"{bad}:3: label 'negative' is not one of GLUE sst2's labels 0, 1" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_tokenizer_larger_than_model_vocabulary_is_refused(shared_data, tmp_path):
    from data_pipeline import save_tokenizer, train_tokenizer
    from modeling import AlbaForPreTraining, ModelConfig
    pre = tmp_path / "pre"
    AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=8)).save_pretrained(pre)
    save_tokenizer(train_tokenizer([["a fine film", "a dull one, sadly"] * 50], vocab_size=200, progress=False), pre)
    proc = run_cli(SCRIPT, *_sst2(shared_data, f"--model={pre}", "--max_train_examples=64", "--epochs=1",
                                  f"--output_dir={tmp_path / 'o'}"), timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "tokens but the model's vocabulary has only 8" in proc.stderr


def test_alba_cli_lists_finetune():
    proc = run_cli("-m", "launch.cli", "finetune", "glue", "--help")
    assert proc.returncode == 0 and "--task=" in proc.stdout and "--model=" in proc.stdout


@pytest.mark.parametrize("source", ["alba-pretraining", "transformers"])
def test_starts_from_a_pretraining_run_or_a_transformers_directory(shared_data, tmp_path, source):
    """Both starting points through the command line: the encoder weights are the saved ones (checked on the kept
    model's embeddings after zero training steps' worth of evaluation) and the tokenizer is the directory's."""
    from safetensors.torch import load_file

    from data_pipeline import save_tokenizer, train_tokenizer
    from data_pipeline.glue import get_task, read_glue_tsv
    from modeling import AlbaForPreTraining, ModelConfig
    texts = [e.text_a for e in read_glue_tsv(shared_data / "glue" / "SST-2" / "dev.tsv", get_task("sst2"))]
    tok = train_tokenizer([texts], vocab_size=500, progress=False)
    pre = tmp_path / "pre"
    torch.manual_seed(0)
    model = AlbaForPreTraining(ModelConfig.from_preset("bert-tiny", vocab_size=500, max_position_embeddings=64))
    if source == "transformers":
        transformers = pytest.importorskip("transformers")
        hf = transformers.BertForPreTraining(transformers.BertConfig(
            vocab_size=500, hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512,
            max_position_embeddings=64))
        hf.save_pretrained(pre)
        expected = hf.state_dict()["bert.embeddings.word_embeddings.weight"]
    else:
        model.save_pretrained(pre)
        expected = model.state_dict()["alba.embeddings.word_embeddings.weight"]
    save_tokenizer(tok, pre)
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, *COMMON, f"--data_dir={shared_data / 'glue'}", f"--model={pre}", "--do_train=False",
                   "--baseline=False", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert result["source"] == source and result["dev_examples"] == {"dev": 872}
    kept = load_file(out / "best" / "model.safetensors")
    torch.testing.assert_close(kept["alba.embeddings.word_embeddings.weight"], expected, atol=0, rtol=0)
    assert (out / "best" / "tokenizer.json").read_text() == (pre / "tokenizer.json").read_text()

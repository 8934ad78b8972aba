"""`alba export` (launch/export.py): a run's step checkpoint becomes a transformers directory with the run's
tokenizer; an unrepresentable model is one `alba: error:` line and nothing written."""
import json

import torch

from conftest import ROOT, run_cli
from modeling import AlbaForPreTraining, ModelConfig

SCRIPT = ROOT / "launch" / "export.py"


def _save(directory, **overrides):
    torch.manual_seed(0)
    AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=64, **overrides)).save_pretrained(directory)


def test_step_checkpoint_exports_with_the_runs_tokenizer(tmp_path):
    step = tmp_path / "run" / "checkpoints" / "step-00000002"
    _save(step)
    (tmp_path / "run" / "tokenizer.json").write_text(json.dumps({
        "version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None, "post_processor": None,
        "decoder": None, "truncation": None, "padding": None,
        "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}}))
    proc = run_cli(SCRIPT, step, tmp_path / "hf")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote AlbertForPreTraining to {tmp_path / 'hf'}"
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                                   "tokenizer.json", "tokenizer_config.json"]
    # transformers truncates to what the model's positions hold (albert-test: 128).
    assert json.loads((tmp_path / "hf" / "tokenizer_config.json").read_text())["model_max_length"] == 128
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert (config["model_type"], config["embedding_size"], config["num_hidden_layers"]) == ("albert", 32, 2)


def test_unrepresentable_model_is_one_error_line(tmp_path):
    _save(tmp_path / "m", sharing="attention")
    proc = run_cli(SCRIPT, tmp_path / "m", tmp_path / "hf")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("alba: error: ")
    assert "sharing='attention'" in proc.stderr
    assert not (tmp_path / "hf").exists()


def test_unfinished_run_points_at_its_latest_checkpoint(tmp_path):
    step = tmp_path / "run" / "checkpoints" / "step-00000004"
    _save(step)
    (step.parent / "latest").write_text(step.name)
    proc = run_cli(SCRIPT, tmp_path / "run", tmp_path / "hf")
    assert proc.returncode == 2 and proc.stderr.strip() == (
        f"alba: error: {tmp_path / 'run'} has no final model yet (the run has not finished); export one of its "
        f"checkpoints, e.g. {step}")


def test_exported_run_truncates_long_text_and_has_a_model_card(tmp_path):
    """transformers' tokenizer cuts to the model's positions (a pipeline asked to truncate a long text does not run
    past them), and
    README.md says what the model is, what it was trained on and how it scored, from the run's records."""
    transformers = __import__("pytest").importorskip("transformers")
    run = tmp_path / "run"
    proc = run_cli(ROOT / "launch" / "pretrain.py", "--corpus=synthetic", "--model=albert-test", "--vocab_size=256",
                   "--max_seq_length=64", "--batch_size=8", "--max_steps=3", "--wandb=disabled", "--progress=False",
                   "--log_every=1", f"--output_dir={run}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run_cli(SCRIPT, run, tmp_path / "hf")
    assert proc.returncode == 0, proc.stderr[-2000:]
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    long_text = " ".join(["the cat sat on the mat"] * 200)
    assert len(tokenizer(long_text, truncation=True)["input_ids"]) == 128  # albert-test's max_position_embeddings
    fill = transformers.pipeline("fill-mask", model=str(tmp_path / "hf"), tokenizer=tokenizer)
    assert len(fill(tokenizer.mask_token + " " + long_text, tokenizer_kwargs={"truncation": True})) == 5
    card = (tmp_path / "hf" / "README.md").read_text()
    summary = json.loads((run / "summary.json").read_text())
    for fact in ("ALBERT, 2 layers", "`synthetic`", "3 steps of 8 sequences of 64 tokens",
                 f"MLM accuracy {summary['eval/mlm_accuracy']:.4f}", "AutoModelForPreTraining.from_pretrained"):
        assert fact in card, fact

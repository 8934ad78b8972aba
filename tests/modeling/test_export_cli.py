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
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == ["config.json", "model.safetensors",
                                                                   "tokenizer.json"]
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

"""Same inputs, same run: two separate processes with different hash seeds train the same tokenizer and model."""
import json

import pytest

from conftest import ROOT, run_cli

SCRIPT = ROOT / "launch" / "pretrain.py"


def _demo_run(out, hash_seed: str):
    """The demo's defaults (embedded corpus, trained WordPiece, albert-demo), shortened to a few steps."""
    proc = run_cli(SCRIPT, f"--output_dir={out}", "--max_steps=12", "--log_every=3", "--save_every=0",
                   "--wandb=disabled", "--progress=False", env={"PYTHONHASHSEED": hash_seed})
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = [{k: v for k, v in json.loads(line).items() if "loss" in k or "accuracy" in k}
              for line in (out / "metrics.jsonl").read_text().splitlines()]
    return (out / "tokenizer.json").read_bytes(), losses


@pytest.mark.slow
def test_two_processes_with_other_hash_seeds_give_the_same_run(tmp_path):
    tokenizer_a, losses_a = _demo_run(tmp_path / "a", "0")
    tokenizer_b, losses_b = _demo_run(tmp_path / "b", "4321")
    assert tokenizer_a == tokenizer_b
    assert len(losses_a) >= 4 and all("train/loss" in row for row in losses_a[:4])
    assert losses_a == losses_b  # every logged loss and accuracy, bit for bit

"""Resume after `kill -9`, and the errors for a resume that cannot be exact."""
import json
import subprocess
import sys
import time

import torch
from safetensors.torch import load_file

from conftest import ROOT, run_cli

SCRIPT = ROOT / "launch" / "pretrain.py"
ARGS = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64", "--batch_size=16",
        "--optimizer=lamb", "--max_predictions=10", "--wandb=disabled", "--progress=False", "--log_every=5",
        "--max_steps=60", "--save_every=5", "--keep_checkpoints=2"]


def test_kill_9_then_resume_gives_the_uninterrupted_run(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert run_cli(SCRIPT, *ARGS, f"--output_dir={whole}").returncode == 0
    proc = subprocess.Popen([sys.executable, str(SCRIPT), *ARGS, f"--output_dir={killed}"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = killed / "checkpoints" / "latest"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if latest.is_file() and latest.read_text() >= "step-00000015":
            break
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup, possibly in the middle of writing a checkpoint
    proc.wait()
    assert not (killed / "model.safetensors").exists(), "the run finished before it could be killed"
    resumed = run_cli(SCRIPT, *ARGS, f"--output_dir={killed}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a, b = load_file(whole / "model.safetensors"), load_file(killed / "model.safetensors")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=k)
    losses = lambda out: {r["step"]: r["train/loss"] for r in map(json.loads, (out / "metrics.jsonl").open())
                          if "train/loss" in r}
    whole_losses, killed_losses = losses(whole), losses(killed)
    assert all(killed_losses[s] == whole_losses[s] for s in whole_losses if s in killed_losses and s > 15)


def test_damaged_checkpoint_and_changed_options_are_clear_errors(tmp_path):
    out = tmp_path / "run"
    short = [a for a in ARGS if not a.startswith("--max_steps")] + ["--max_steps=10"]
    assert run_cli(SCRIPT, *short, f"--output_dir={out}").returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    changed = run_cli(SCRIPT, *short, "--model_overrides={\"hidden_size\": 128}", f"--output_dir={out}", "--resume")
    assert changed.returncode == 2
    assert "options differ from the run" in changed.stderr and "model_overrides" in changed.stderr

    step = out / "checkpoints" / "step-00000010"
    (step / "model.safetensors").write_bytes((step / "model.safetensors").read_bytes()[:100])  # truncated
    before[step / "model.safetensors"] = (step / "model.safetensors").read_bytes()
    damaged = run_cli(SCRIPT, *short, f"--output_dir={out}", "--resume")
    assert damaged.returncode == 2
    line = damaged.stderr.strip().splitlines()[-1]
    assert line.startswith(f"alba: error: checkpoint {step} cannot be loaded") and "earlier step-N" in line
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing changed on disk

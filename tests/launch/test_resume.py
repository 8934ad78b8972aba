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


def test_two_phases_resume_across_the_switch(tmp_path):
    """Phase 1 at seq 32, phase 2 at seq 64 with another batch size and lr; a run stopped at the switch and resumed
    ends where the uninterrupted one does."""
    phases = ('--phases=[{"max_seq_length": 32, "max_steps": 6, "batch_size": 16, "lr": 2e-3}, '
              '{"max_seq_length": 64, "max_steps": 4, "batch_size": 8, "lr": 1e-3, "warmup": 1}]')
    base = [a for a in ARGS if not a.startswith(("--max_steps", "--save_every", "--log_every"))]
    base += [phases, "--log_every=1", "--save_every=0"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    proc = run_cli(SCRIPT, *base, f"--output_dir={whole}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "phase 2/2: steps 6-10, seq 64, batch 8, lr 0.001" in proc.stdout
    records = [json.loads(l) for l in (whole / "metrics.jsonl").open() if '"train/lr"' in l]
    lrs = {r["step"]: r["train/lr"] for r in records}
    assert lrs[6] == 0.0 and lrs[7] == 1e-3  # phase 1 decayed to 0; phase 2 warmed up in 1 step
    assert max(r["train/samples"] for r in records) == 6 * 16 + 4 * 8

    # Keep only the checkpoint written at the end of phase 1, as if the run had died in phase 2.
    proc = run_cli(SCRIPT, *base, "--save_every=3", "--keep_checkpoints=10", f"--output_dir={split}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = json.loads((split / "checkpoints" / "step-00000006" / "trainer_state.json").read_text())
    assert (state["step"], state["phase"]) == (6, 0)
    (split / "checkpoints" / "latest").write_text("step-00000006")
    proc = run_cli(SCRIPT, *base, "--save_every=3", "--keep_checkpoints=10", f"--output_dir={split}", "--resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = load_file(whole / "model.safetensors"), load_file(split / "model.safetensors")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=k)

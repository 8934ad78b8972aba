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
        "--max_steps=60", "--save_every=5", "--keep_checkpoints=2",
        # Dropout on, as in every BERT preset: a resume must draw the same dropout masks as the uninterrupted run.
        '--model_overrides={"hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}']


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
    logged = lambda out: [(r["step"], r["train/loss"]) for r in map(json.loads, (out / "metrics.jsonl").open())
                          if "train/loss" in r]
    # Each step logged once, although the killed run logged some steps after its last checkpoint; same losses.
    assert logged(killed) == logged(whole)


def test_damaged_checkpoints_and_changed_options(tmp_path):
    """Changed options are refused; a damaged newest checkpoint is skipped with a warning naming the file, and the
    resume from the one before ends in the very same model; with every checkpoint damaged, one line names the file
    and nothing on disk changes."""
    out = tmp_path / "run"
    short = [a for a in ARGS if not a.startswith("--max_steps")] + ["--max_steps=10"]
    assert run_cli(SCRIPT, *short, f"--output_dir={out}").returncode == 0
    final = (out / "model.safetensors").read_bytes()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    changed = run_cli(SCRIPT, *short, "--model_overrides={\"hidden_size\": 128}", f"--output_dir={out}", "--resume")
    assert changed.returncode == 2
    assert "options differ from the run" in changed.stderr and "model_overrides" in changed.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    newest, older = out / "checkpoints" / "step-00000010", out / "checkpoints" / "step-00000005"
    (newest / "model.safetensors").write_bytes((newest / "model.safetensors").read_bytes()[:100])  # truncated
    (out / "model.safetensors").unlink()
    skipped = run_cli(SCRIPT, *short, f"--output_dir={out}", "--resume")
    assert skipped.returncode == 0, skipped.stderr[-3000:]
    assert f"skipped damaged newer checkpoint(s): step-00000010 ({newest / 'model.safetensors'} has 100 bytes" \
        in " ".join(skipped.stderr.split())
    assert "resuming from" in skipped.stdout and "at step 5" in skipped.stdout
    assert (out / "model.safetensors").read_bytes() == final

    for step in (newest, older):
        (step / "trainer_state.json").write_text('{"step": "ten"}')
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    damaged = run_cli(SCRIPT, *short, f"--output_dir={out}", "--resume")
    assert damaged.returncode == 2
    line = damaged.stderr.strip().splitlines()[-1]
    assert line.startswith(f"alba: error: no intact checkpoint in {out / 'checkpoints'}: step-00000010 (")
    assert str(newest / "trainer_state.json") in line
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

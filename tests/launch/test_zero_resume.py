"""Exact resume under DeepSpeed ZeRO-2 and ZeRO-3: every process writes its partition of the optimizer state into the
checkpoint, so a run stopped at step 4 and resumed is the uninterrupted run (2 processes on CPU, gloo), dropout
included."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, free_port

SCRIPT = ROOT / "launch" / "pretrain.py"
DEEPSPEED = str(Path(sys.executable).parent / "deepspeed")
STEPS, STOP = 8, 4
ARGS = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64", "--batch_size=16",
        "--optimizer=adamw", "--lr=5e-3", "--warmup=2", "--max_predictions=10", "--wandb=disabled",
        "--progress=False", "--log_every=1", "--eval_fraction=0.05", f"--max_steps={STEPS}",
        f"--save_every={STOP}", "--keep_checkpoints=10",
        '--model_overrides={"hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}']


def deepspeed(stage: int, out: Path, *extra: str) -> subprocess.CompletedProcess:
    port = free_port()
    cmd = [DEEPSPEED, "--num_gpus", "2", f"--master_port={port}", str(SCRIPT), *ARGS,
           f"--deepspeed_config={ROOT / 'launch' / 'configs' / f'zero{stage}.json'}", f"--output_dir={out}", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1"}
    env.setdefault("TORCH_EXTENSIONS_DIR", str(Path.home() / ".cache" / "torch_extensions"))
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def losses(out: Path) -> dict[int, tuple[float, float]]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["train/mlm_loss"], r["train/sentence_loss"]) for r in records if "train/mlm_loss" in r}


def roll_back(out: Path, step: int):
    """Make `out` look like a run that died just after writing its step-`step` checkpoint."""
    ckpts = out / "checkpoints"
    (ckpts / "latest").write_text(f"step-{step:08d}")
    for later in [p for p in ckpts.glob("step-*") if int(p.name[5:]) > step]:
        shutil.rmtree(later)
    for name in ("model.safetensors", "summary.json"):
        (out / name).unlink()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text("".join(l + "\n" for l in lines if json.loads(l)["step"] <= step))


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_zero_run_stopped_and_resumed_is_the_uninterrupted_run(tmp_path, stage):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    proc = deepspeed(stage, whole)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout

    ckpt = whole / "checkpoints" / f"step-{STOP:08d}"
    partitions = [torch.load(ckpt / f"optimizer-rank{r}-of-2.pt", weights_only=True) for r in range(2)]
    assert all(p["stage"] == stage for p in partitions)

    shutil.copytree(whole, resumed)
    roll_back(resumed, STOP)
    proc = deepspeed(stage, resumed, "--resume")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "optimizer moments restart" not in proc.stdout + proc.stderr

    a, b = losses(whole), losses(resumed)
    assert sorted(b) == list(range(1, STEPS + 1))
    for step in range(STOP + 1, STEPS + 1):
        assert b[step] == pytest.approx(a[step], rel=1e-6, abs=1e-7), step
    wa, wb = load_file(whole / "model.safetensors"), load_file(resumed / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=1e-6, atol=1e-7, msg=k)

    if stage == 2:  # a damaged partition: a one-line error naming the file, and nothing on disk changes
        bad = ckpt / "optimizer-rank1-of-2.pt"
        bad.write_bytes(bad.read_bytes()[:200])
        roll_back(whole, STOP)
        before = {p: p.read_bytes() for p in whole.rglob("*") if p.is_file()}
        proc = deepspeed(stage, whole, "--resume")
        assert proc.returncode != 0
        errors = [l for l in proc.stderr.splitlines() if "alba: error:" in l]
        assert errors and str(bad) in errors[-1] and "no intact checkpoint" in errors[-1], proc.stderr[-3000:]
        assert {p: p.read_bytes() for p in whole.rglob("*") if p.is_file()} == before

"""The same global batch gives the same training whatever its split: one process, gradient accumulation, loader
workers, packed rows, two processes under torchrun, and two single-process "nodes" on loopback (gloo on CPU)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, free_port, run_cli

SCRIPT = ROOT / "launch" / "pretrain.py"
TORCHRUN = str(Path(sys.executable).parent / "torchrun")
STEPS = 8
ARGS = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64", "--batch_size=16",
        "--optimizer=lamb", "--lr=5e-3", "--warmup=2", "--max_predictions=10", "--wandb=disabled",
        "--progress=False", "--log_every=1", "--save_every=0", "--eval_fraction=0.05", f"--max_steps={STEPS}"]


def curves(out: Path) -> dict[str, list[float]]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if "train/mlm_loss" in r]
    assert [r["step"] for r in train] == list(range(1, STEPS + 1))
    return {k: [r[k] for r in train] for k in ("train/mlm_loss", "train/sentence_loss", "train/mlm_accuracy")}


def assert_same_run(a: Path, b: Path):
    ca, cb = curves(a), curves(b)
    for k in ca:
        assert ca[k] == pytest.approx(cb[k], rel=1e-4, abs=1e-6), k
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=1e-4, atol=1e-5, msg=k)


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    proc = run_cli(SCRIPT, *ARGS, f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("options", ["--grad_accum_steps=4", "--num_workers=2", "--pack_pairs",
                                     "--pack_pairs --grad_accum_steps=4"])
def test_accumulation_loader_workers_and_packing_give_the_same_run(single, tmp_path, options):
    out = tmp_path / "run"
    proc = run_cli(SCRIPT, *ARGS, *options.split(), f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(single, out)
    last = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if "train/samples" in line]
    assert last[-1]["train/samples"] == STEPS * 16  # pairs, not packed rows


@pytest.mark.slow
@pytest.mark.parametrize("shard", [False, True], ids=["ddp", "ddp-sharded-lamb"])
def test_torchrun_two_processes_equal_one(single, tmp_path, shard):
    out = tmp_path / "torchrun"
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node=2", str(SCRIPT), *ARGS,
           f"--shard_optimizer={shard}", f"--output_dir={out}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    assert_same_run(single, out)


@pytest.mark.slow
def test_two_nodes_on_loopback_equal_one(single, tmp_path):
    out, port = tmp_path / "nodes", free_port()
    procs = [subprocess.Popen([TORCHRUN, "--nnodes=2", f"--node_rank={rank}", "--nproc_per_node=1",
                               "--master_addr=127.0.0.1", f"--master_port={port}", str(SCRIPT), *ARGS,
                               f"--output_dir={out}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for rank in (0, 1)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (stdout, stderr) in zip(procs, results):
        assert p.returncode == 0, stdout[-2000:] + stderr[-3000:]
    assert_same_run(single, out)


@pytest.mark.slow
def test_resume_on_a_different_number_of_processes(single, tmp_path):
    """Checkpoint at step 4 of a 2-process run with sharded LAMB, resumed by 1 process: the same run as `single`."""
    out = tmp_path / "switch"
    cmd = [TORCHRUN, "--standalone", "--nproc_per_node=2", str(SCRIPT), *ARGS,
           "--shard_optimizer=True", "--save_every=4", "--keep_checkpoints=2", f"--output_dir={out}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    # Roll back to the step-4 checkpoint, as if the 2-process run had died there (a resume takes the newest
    # intact checkpoint, so the later one goes; the resume itself drops the log records after step 4).
    shutil.rmtree(out / "checkpoints" / "step-00000008")
    (out / "checkpoints" / "latest").write_text("step-00000004")
    proc = run_cli(SCRIPT, *ARGS, "--shard_optimizer=True", "--save_every=4", "--keep_checkpoints=2",
                   f"--output_dir={out}", "--resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_run(single, out)


DEEPSPEED = str(Path(sys.executable).parent / "deepspeed")


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_two_processes_equal_one(single_adamw, tmp_path, stage):
    out = tmp_path / f"zero{stage}"
    cmd = [DEEPSPEED, "--num_gpus", "2", f"--master_port={free_port()}", str(SCRIPT), *ARGS, "--optimizer=adamw",
           f"--deepspeed_config={ROOT / 'launch' / 'configs' / f'zero{stage}.json'}", f"--output_dir={out}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    assert_same_run(single_adamw, out)


@pytest.fixture(scope="module")
def single_adamw(tmp_path_factory):
    out = tmp_path_factory.mktemp("single_adamw") / "run"
    proc = run_cli(SCRIPT, *ARGS, "--optimizer=adamw", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_logs_carry_optimizer_and_throughput_statistics(single):
    record = json.loads((single / "metrics.jsonl").read_text().splitlines()[0])
    assert record["train/samples"] == 16
    assert 0 < record["train/trust_ratio_min"] <= record["train/trust_ratio_mean"] <= record["train/trust_ratio_max"]
    assert record["train/model_tflops_per_s"] > 0 and record["train/grad_norm"] > 0


def test_processes_that_do_not_form_a_group_stop(tmp_path):
    # A launcher announced 2 processes, but this one cannot join a group: it must not train alone.
    proc = run_cli(SCRIPT, *ARGS, f"--output_dir={tmp_path / 'alone'}", env={"WORLD_SIZE": "2"})
    assert proc.returncode == 2
    assert "alba: error: the launcher started 2 processes but they could not form a group" in proc.stderr
    assert not (tmp_path / "alone").exists()


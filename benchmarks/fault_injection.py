"""Fault injection: kill pretraining runs with SIGKILL at random moments (some while a checkpoint is being written),
resume each with `--resume` until it finishes, and check that its final weights and every logged loss are
bit-identical to those of an uninterrupted run. Dropout is on (as in every BERT preset).

    python benchmarks/fault_injection.py [--modes single torchrun zero2] [--kills 10] [--steps 40] [--seed 0]
        [--out runs/faults] [--json OUT]

Modes: `single` (one process), `torchrun` (2 CPU processes, DDP over gloo), `zero2` (DeepSpeed ZeRO-2, 2 CPU
processes). Each kill takes the launcher and all its descendants (every rank) down together. Half of the kills wait
for a checkpoint write to begin (a `.tmp-step-N` directory to appear) and strike then; the others strike at a
uniformly random time within the uninterrupted run's duration. A run killed before its first checkpoint is started
over with `--overwrite`. Exit status 1 when any run differs.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRIPT = ROOT / "launch" / "pretrain.py"
BIN = Path(sys.executable).parent


def _args(steps: int, seed: int) -> list[str]:
    return ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64",
            "--batch_size=16", "--optimizer=adamw", "--lr=5e-3", "--max_predictions=10", "--wandb=disabled",
            "--progress=False", "--log_every=5", "--eval_fraction=0.05", "--eval_every=0", f"--max_steps={steps}",
            "--save_every=5", "--keep_checkpoints=2", f"--seed={seed}",
            '--model_overrides={"hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}']


def command(mode: str, out: Path, steps: int, seed: int, port: int) -> list[str]:
    args = [*_args(steps, seed), f"--output_dir={out}"]
    if mode == "single":
        return [sys.executable, str(SCRIPT), *args]
    if mode == "torchrun":
        return [str(BIN / "torchrun"), "--nproc_per_node=2", f"--master_port={port}", str(SCRIPT), *args]
    if mode == "zero2":
        return [str(BIN / "deepspeed"), "--num_gpus", "2", f"--master_port={port}", str(SCRIPT), *args,
                f"--deepspeed_config={ROOT / 'launch' / 'configs' / 'zero2.json'}"]
    raise ValueError(f"unknown mode {mode!r}")


def _env() -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    env.setdefault("TORCH_EXTENSIONS_DIR", str(Path.home() / ".cache" / "torch_extensions"))
    return env


def _port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_to_end(mode: str, out: Path, steps: int, seed: int, resume: bool) -> float:
    """Run to the end: fresh, or with `resume` continuing the run in `out` (started over with --overwrite when
    the kill came before its first checkpoint, as an operator would)."""
    began = time.perf_counter()
    if resume:
        from pretrain.checkpoint import resumable_checkpoint
        resume = (out / "run_config.json").is_file() and resumable_checkpoint(out / "checkpoints") is not None
    cmd = command(mode, out, steps, seed, _port()) + (["--resume"] if resume else ["--overwrite"])
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run in {out} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.perf_counter() - began


def run_and_kill(mode: str, out: Path, steps: int, seed: int, at_checkpoint: bool, delay: float) -> str:
    """Start a fresh run and SIGKILL its process group; returns what the kill hit."""
    proc = subprocess.Popen(command(mode, out, steps, seed, _port()), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoints, began, hit = out / "checkpoints", time.perf_counter(), "at a random moment"
    while proc.poll() is None:
        if at_checkpoint and checkpoints.is_dir() and any(p.name.startswith(".tmp-") for p in checkpoints.iterdir()):
            hit = "while a checkpoint was being written"
            break
        if not at_checkpoint and time.perf_counter() - began >= delay:
            break
        time.sleep(0.002)
    if proc.poll() is not None:
        return "after the run had finished"
    _kill_tree(proc.pid)
    proc.wait()
    return hit


def _kill_tree(pid: int) -> None:
    """SIGKILL a launcher and every process under it at once. torchrun starts each rank in a session of its own,
    so killing the launcher's process group would leave the ranks running."""
    import psutil
    victims = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for victim in victims:
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=30)


def same_run(reference: Path, out: Path) -> tuple[bool, str]:
    import torch
    from safetensors.torch import load_file
    if not (out / "model.safetensors").is_file():
        return False, "no final model"
    a, b = load_file(reference / "model.safetensors"), load_file(out / "model.safetensors")
    if a.keys() != b.keys() or any(not torch.equal(a[k], b[k]) for k in a):
        diff = max(float((a[k] - b[k]).abs().max()) for k in a if k in b)
        return False, f"final weights differ (max {diff:.3g})"
    logged = lambda run: [(r["step"], r["train/loss"]) for r in map(json.loads, (run / "metrics.jsonl").open())
                          if "train/loss" in r]
    if logged(reference) != logged(out):
        return False, "logged losses differ (or a step is logged twice)"
    return True, "identical"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--modes", nargs="+", default=["single", "torchrun", "zero2"])
    p.add_argument("--kills", type=int, default=10, help="killed runs per mode")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--seed", type=int, default=0, help="of the runs and of the kill times")
    p.add_argument("--out", default="runs/faults", help="working folder (replaced)")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    rng = random.Random(args.seed)
    results = {}
    for mode in args.modes:
        reference = out / mode / "reference"
        duration = run_to_end(mode, reference, args.steps, args.seed, resume=False)
        rows = []
        for k in range(args.kills):
            run = out / mode / f"kill-{k}"
            at_checkpoint = k % 2 == 1
            hit = run_and_kill(mode, run, args.steps, args.seed, at_checkpoint, rng.uniform(0.1, 1.0) * duration)
            if (run / "model.safetensors").is_file():  # the kill came too late: nothing to resume
                ok, why = same_run(reference, run)
            else:
                run_to_end(mode, run, args.steps, args.seed, resume=True)
                ok, why = same_run(reference, run)
            rows.append({"kill": k, "hit": hit, "identical": ok, "detail": why})
            print(f"[faults] {mode} kill {k}: {hit}; resumed run {why}", flush=True)
        results[mode] = {"kills": len(rows), "identical": sum(r["identical"] for r in rows),
                         "reference_seconds": duration, "runs": rows}
    print("\n| mode | kills | of which during a checkpoint write | bit-identical after resume |\n|---|---|---|---|")
    for mode, r in results.items():
        during = sum("checkpoint" in row["hit"] for row in r["runs"])
        print(f"| {mode} | {r['kills']} | {during} | {r['identical']} of {r['kills']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results}, indent=1) + "\n")
    return 0 if all(r["identical"] == r["kills"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Steps/s of the same tiny pretraining under one process, DDP and DeepSpeed ZeRO-1/2/3 (2 processes), with the
communication volume per step that each scheme needs, computed from the parameter count.

    python benchmarks/bench_engine.py [--steps 40] [--processes 2]

Each configuration runs `launch/pretrain.py` through its launcher on the synthetic corpus with the same global
batch; steps/s counts training time only (from the run's summary.json). On CPU the processes share the cores, so
the ratios measure overhead, not speed-up. On a GPU machine pass `--processes` up to the number of GPUs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCRIPT = str(ROOT / "launch" / "pretrain.py")


def comm_bytes_per_process(scheme: str, params: int, n: int, bytes_per_value: int = 4) -> float:
    """Bytes each process sends per optimizer step with ring collectives ((n-1)/n of the data per pass): DDP
    all-reduces gradients (2 passes); ZeRO-1/2 reduce-scatter gradients and all-gather updated parameters (2
    passes); ZeRO-3 also all-gathers parameters again for the backward (3 passes)."""
    passes = {"single": 0, "ddp": 2, "zero1": 2, "zero2": 2, "zero3": 3}[scheme]
    return passes * params * bytes_per_value * (n - 1) / n


def run(scheme: str, args, out: Path) -> dict:
    common = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64",
              f"--batch_size={args.batch_size}", "--optimizer=adamw", f"--max_steps={args.steps}",
              "--wandb=disabled", "--progress=False", "--save_every=0", "--eval_fraction=0.05",
              f"--output_dir={out}"]
    n = args.processes
    if scheme == "single":
        cmd = [sys.executable, SCRIPT, *common]
    elif scheme == "ddp":
        cmd = [str(BIN / "torchrun"), "--standalone", f"--nproc_per_node={n}", SCRIPT, *common]
    else:
        config = ROOT / "launch" / "configs" / f"zero{scheme[-1]}.json"
        cmd = [str(BIN / "deepspeed"), "--num_gpus", str(n), SCRIPT, *common, f"--deepspeed_config={config}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.returncode:
        raise SystemExit(f"{scheme} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads((out / "summary.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from modeling import AlbaForPreTraining, ModelConfig
    params = AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=256)).num_parameters()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in ("single", "ddp", "zero1", "zero2", "zero3"):
            s = run(scheme, args, Path(tmp) / scheme)
            rows.append((scheme, s["steps"] / s["train_seconds"], s["eval/loss"]))
            print(f"{scheme}: {rows[-1][1]:.2f} steps/s", file=sys.stderr)
    base = rows[0][1]
    n = args.processes
    print(f"albert-test ({params:,} parameters, fp32), global batch {args.batch_size}, {args.steps} steps, "
          f"{n} processes except 'single'\n")
    print("| scheme | processes | steps/s | vs single | comm. per step per process | final eval loss |")
    print("|---|---|---|---|---|---|")
    for scheme, rate, loss in rows:
        procs = 1 if scheme == "single" else n
        comm = comm_bytes_per_process(scheme, params, procs)
        print(f"| {scheme} | {procs} | {rate:.2f} | {rate / base:.2f}x | {comm / 1e6:.3f} MB | {loss:.4f} |")


if __name__ == "__main__":
    main()

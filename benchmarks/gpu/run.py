"""The GPU check, in one command of at most 8 minutes on a bare GPU machine (no network): install the carried
wheels, run the tests marked `gpu`, measure a training step of alba against transformers (bert-base and
albert-base, seq 128 and 512, bf16, with MFU), the unpadded path and the LAMB step on CUDA, then pretrain for two
minutes; every figure goes into one JSON, `OUT/gpu_results.json`.

    bash benchmarks/gpu/fetch_wheels.sh          # once, on a CPU machine with network
    python3 benchmarks/gpu/run.py [--out DIR]    # on the GPU machine; DIR defaults to $OUT, else runs/gpu-check
    python3 benchmarks/gpu/run.py --dry-run      # on CPU: every stage on tiny sizes, no CUDA

Each stage runs as its own process under a time limit cut from what is left of `--budget`, so a stage that hangs
or fails costs its own figures only; the JSON says for each stage its exit status, seconds and figures, and the
end of its output.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def stages(out: Path, work: Path, dry: bool) -> list[tuple[str, list[str], int, Path | None]]:
    """(name, command, its own time limit in seconds, the JSON it writes) in the order they run: the test report
    goes to `out`, everything else to `work` (a pretrained bert-base would not come back from the machine)."""
    bench = ROOT / "benchmarks"
    tests = [PY, "-m", "pytest", "-q", "-rs", "-m", "gpu", str(ROOT / "tests" / "gpu"),
             f"--junitxml={out / 'gpu_tests.xml'}", "-p", "no:cacheprovider"]
    if dry:
        modeling = ["--configs", "albert-test", "--seq", "64", "--batch", "4", "--steps", "1", "--no-memory",
                    "--device", "cpu", "--dtype", "fp32"]
        unpadded = ["--models", "albert-test", "--seqs", "64", "--fills", "0.6", "--steps", "1", "--repeats", "1"]
        lamb = ["--models", "albert-test", "--steps", "1", "--repeats", "1"]
        pretrain = ["--model=albert-test", "--max_seq_length=64", "--batch_size=8", "--max_minutes=0.1"]
    else:
        modeling = ["--configs", "bert-base", "albert-base", "--steps", "20", "--no-memory", "--device", "cuda",
                    "--dtype", "bf16"]
        unpadded = ["--models", "bert-base", "--seqs", "128", "512", "--fills", "0.9", "0.6", "--device", "cuda",
                    "--dtype", "bf16", "--steps", "10", "--repeats", "2"]
        lamb = ["--models", "bert-base", "albert-base", "--device", "cuda", "--steps", "10"]
        pretrain = ["--model=bert-base", "--precision=bf16", "--max_seq_length=128", "--batch_size=256",
                    "--lr=1e-4", "--max_minutes=2"]
    run = [
        ("tests", tests, 150, None),
        ("modeling_seq128", [PY, str(bench / "bench_modeling.py"), *modeling, "--json", str(work / "m128.json")],
         90, work / "m128.json"),
        ("modeling_seq512", [PY, str(bench / "bench_modeling.py"), *modeling, "--seq", "512" if not dry else "64",
                             "--batch", "16" if not dry else "4", "--json", str(work / "m512.json")],
         90, work / "m512.json"),
        ("pretrain", [PY, str(ROOT / "launch" / "pretrain.py"), *pretrain, "--corpus=embedded", "--wandb=disabled",
                      "--progress=False", "--log_every=10", "--save_every=0", f"--output_dir={work / 'pretrain'}"],
         200, work / "pretrain" / "summary.json"),
        ("unpadded", [PY, str(bench / "bench_unpadded.py"), *unpadded, "--json", str(work / "unpadded.json")],
         60, work / "unpadded.json"),
        ("lamb", [PY, str(bench / "bench_lamb.py"), *lamb, "--json", str(work / "lamb.json")], 30, work / "lamb.json"),
    ]
    return run


def install_wheels(wheels: Path) -> dict:
    """The carried wheels into a folder of their own on PYTHONPATH (the image's packages stay as they are)."""
    found = sorted(wheels.glob("*.whl"))
    if not found:
        return {"status": "skipped", "why": f"no wheels in {wheels} (benchmarks/gpu/fetch_wheels.sh makes them)"}
    site = Path(tempfile.mkdtemp(prefix="alba-wheels-"))
    start = time.perf_counter()
    proc = subprocess.run([PY, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                           "--no-cache-dir", "--target", str(site), *map(str, found)], capture_output=True, text=True)
    if proc.returncode == 0:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
        os.environ["PATH"] = os.pathsep.join([str(site / "bin"), os.environ["PATH"]])
    return {"status": "ok" if proc.returncode == 0 else "failed", "wheels": [w.name for w in found],
            "seconds": round(time.perf_counter() - start, 1), "output": proc.stderr[-2000:]}


def environment() -> dict:
    code = ("import json, torch, transformers, accelerate\n"
            "try:\n import deepspeed; ds = deepspeed.__version__\nexcept ImportError: ds = None\n"
            "cuda = torch.cuda.is_available()\n"
            "print(json.dumps({'python': __import__('sys').version.split()[0], 'torch': torch.__version__, "
            "'cuda': torch.version.cuda, 'device': torch.cuda.get_device_name() if cuda else 'cpu', "
            "'transformers': transformers.__version__, 'accelerate': accelerate.__version__, 'deepspeed': ds}))")
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, cwd=ROOT)
    # The last line: importing DeepSpeed may print its own lines first.
    return json.loads(proc.stdout.splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-2000:]}


def run_stage(command: list[str], limit: float) -> tuple[int | str, float, str]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "disabled"})
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        code = "timeout"
        output = "".join(x.decode() if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr))
    return code, round(time.perf_counter() - start, 1), output


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "runs" / "gpu-check"))
    p.add_argument("--wheels", type=Path, default=Path(__file__).resolve().parent / "wheels")
    p.add_argument("--budget", type=float, default=460, help="seconds for everything (the machine allows 600)")
    p.add_argument("--dry-run", action="store_true", help="on CPU: every stage on tiny sizes, no CUDA")
    args = p.parse_args(argv)
    deadline = time.perf_counter() + args.budget
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    results = {"dry_run": args.dry_run, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "install": install_wheels(args.wheels), "environment": environment(), "stages": {}}
    report = args.out / "gpu_results.json"
    work = Path(tempfile.mkdtemp(prefix="alba-gpu-check-"))
    for name, command, limit, figures in stages(args.out, work, args.dry_run):
        left = deadline - time.perf_counter()
        if left < 10:
            results["stages"][name] = {"status": "not run: the budget was spent"}
            continue
        code, seconds, output = run_stage(command, min(limit, left))
        stage = {"status": "ok" if code == 0 else "failed", "exit": code, "seconds": seconds,
                 "command": " ".join(command), "output_tail": output[-3000:]}
        if figures is not None and figures.is_file():
            stage["figures"] = json.loads(figures.read_text())
        results["stages"][name] = stage
        print(f"[gpu-check] {name}: {stage['status']} ({code}) in {seconds} s", flush=True)
        report.write_text(json.dumps(results, indent=1) + "\n")  # what is done so far survives a kill
    failed = [n for n, s in results["stages"].items() if s.get("status") != "ok"]
    if results["install"]["status"] == "failed":
        failed.insert(0, "install")
    print(f"[gpu-check] {report}: {len(results['stages']) - len(set(failed) - {'install'})} stages ok"
          + (f", not ok: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

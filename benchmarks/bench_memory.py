"""Peak memory of `alba data build` and of `alba pretrain` reading a token store, at growing corpus sizes, and of both
on a corpus that is one single line of text.

    python benchmarks/bench_memory.py [--sizes_mb 20 2000] [--long_line_mb 50] [--steps 2] [--out runs/memory]
        [--json OUT]

The corpus is generated (sentences of words drawn from a fixed 5,000-word vocabulary, 200 sentences per document, in
the one-document-per-line format), the tokenizer is trained once on the smallest corpus, and every command runs in
its own process. Two peaks are read: max RSS (`getrusage(RUSAGE_CHILDREN)` of a fresh wrapper process), which also
counts the pages of memory-mapped files (the store, the scratch files of the pair plan) that the page cache can
drop at any time; and peak anonymous memory (RssAnon of the command and its children, sampled every 50 ms), the
memory that cannot be given back without swap. Pretraining runs `--steps` steps of bert-tiny, so what is measured
is loading the corpus and planning its pairs, not training.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_WRAPPER = """
import os, resource, subprocess, sys, time

def anon_kb(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            total += sum(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                total += sum(anon_kb(int(child)) for child in f.read().split())
    except OSError:  # the process ended meanwhile
        pass
    return total

proc, peak = subprocess.Popen(sys.argv[1:]), 0
while proc.poll() is None:
    peak = max(peak, anon_kb(proc.pid))
    time.sleep(0.05)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, peak, proc.returncode)
"""


def peak_mb(cmd: list[str]) -> tuple[float, float, float]:
    """(max RSS, peak anonymous memory) in MB of `cmd` (RSS: its largest process), and its wall seconds."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=ROOT, capture_output=True, text=True)
    rss, anon, rc = proc.stdout.split()[-3:]
    if rc != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    return int(rss) / 1024, int(anon) / 1024, time.perf_counter() - started


def write_corpus(path: Path, megabytes: float, seed: int, one_line: bool = False) -> None:
    rng = random.Random(seed)
    vocab = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))))
             for _ in range(5000)]
    target, written = int(megabytes * 1e6), 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            sentences = (" ".join(rng.choices(vocab, k=rng.randint(5, 20))).capitalize() + "." for _ in range(200))
            line = " ".join(sentences) + (" " if one_line else "\n")
            f.write(line)
            written += len(line)
        if one_line:
            f.write("\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes_mb", type=float, nargs="+", default=[20, 2000])
    p.add_argument("--long_line_mb", type=float, default=50)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--out", default="runs/memory", help="working folder (replaced)")
    p.add_argument("--json")
    args = p.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    alba = [sys.executable, "-m", "launch.cli"]
    cases = [(f"{mb:g} MB, one document per line", mb, False) for mb in args.sizes_mb]
    if args.long_line_mb:
        cases.append((f"{args.long_line_mb:g} MB on one line", args.long_line_mb, True))
    rows = []
    for i, (name, mb, one_line) in enumerate(cases):
        corpus = out / f"corpus-{i}.txt"
        write_corpus(corpus, mb, seed=i, one_line=one_line)
        if i == 0:
            subprocess.run([*alba, "data", "tokenizer", str(corpus), f"--out={out / 'tokenizer'}",
                            "--vocab_size=4096", "--corpus_format=lines"], cwd=ROOT, check=True, capture_output=True)
        store = out / f"store-{i}"
        build = peak_mb([*alba, "data", "build", str(corpus), str(out / "tokenizer"), str(store),
                         "--corpus_format=lines", "--progress=False"])
        train = peak_mb([*alba, "pretrain", f"--corpus={store}", "--model=bert-tiny", f"--max_steps={args.steps}",
                         "--batch_size=8", "--max_seq_length=128", "--eval_fraction=0.05", "--wandb=disabled",
                         "--progress=False", f"--output_dir={out / f'run-{i}'}"])
        rows.append({"corpus": name, "megabytes": mb, "build": build, "pretrain": train})
        print(f"[memory] {name}: data build {build[0]:,.0f} MB RSS / {build[1]:,.0f} MB anonymous in {build[2]:.0f} s, "
              f"pretrain from the store {train[0]:,.0f} / {train[1]:,.0f} MB in {train[2]:.0f} s", flush=True)
        shutil.rmtree(store)
        corpus.unlink()
    print("\n| corpus | `alba data build` peak RSS / anonymous | `alba pretrain --corpus=STORE` peak RSS / anonymous |"
          "\n|---|---|---|")
    for r in rows:
        print(f"| {r['corpus']} | {r['build'][0]:,.0f} / {r['build'][1]:,.0f} MB "
              f"| {r['pretrain'][0]:,.0f} / {r['pretrain'][1]:,.0f} MB |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

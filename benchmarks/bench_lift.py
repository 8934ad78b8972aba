"""What pretraining is worth downstream: GLUE SST-2 fine-tuned from a pretraining run's checkpoint and from the same
architecture and tokenizer with random weights (`--from_scratch`), with the same fine-tuning budget, a small lr and
epochs grid and several seeds, at one or more training-set sizes; medians beside the bag-of-words baseline.

    python benchmarks/bench_lift.py --pretrained runs/imdb/pretrain [--data_dir ../shared/data/glue]
        [--train_file ../shared/data/glue/SST-2/train-8k.tsv] [--sizes 0 1000] [--lrs 1e-4 3e-4 1e-3] [--epochs 4 10]
        [--seeds 0 1 2] [--batch_size 32] [--max_seq_length 64] [--out runs/lift] [--json OUT]

`--sizes`: training rows used (the first N of the file; 0 = all). Each (start, size) is one `alba finetune glue`
grid: every lr x epochs x seed is trained, the best epoch on dev kept, and the setting with the best median over the
seeds reported with that median (as the BERT paper reports its grid). The dev set is the 872-row SST-2 dev.tsv.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune.config import FinetuneConfig  # noqa: E402
from finetune.runner import run_glue  # noqa: E402


def _parse() -> argparse.Namespace:
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "glue"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pretrained", required=True, help="an alba pretraining run directory")
    p.add_argument("--data_dir", default=str(shared), help="GLUE root holding SST-2/dev.tsv")
    p.add_argument("--train_file", default=str(shared / "SST-2" / "train-8k.tsv"))
    p.add_argument("--sizes", type=int, nargs="+", default=[0, 1000], help="training rows (0: the whole file)")
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-4, 3e-4, 1e-3])
    p.add_argument("--epochs", type=int, nargs="+", default=[4])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--max_seq_length", type=int, default=64)
    p.add_argument("--out", default="runs/lift", help="folder for the fine-tuning runs (replaced)")
    p.add_argument("--json", help="also write the table's figures to this JSON file")
    return p.parse_args()


def main() -> None:
    args = _parse()
    rows = []
    for size in args.sizes:
        row = {"train_rows": size or "all"}
        for start, scratch in (("pretrained", False), ("scratch", True)):
            began = time.perf_counter()
            cfg = FinetuneConfig(
                task="sst2", data_dir=args.data_dir, train_file=args.train_file, max_train_examples=size,
                model=args.pretrained, from_scratch=scratch, max_seq_length=args.max_seq_length,
                batch_size=args.batch_size, grid={"lr": args.lrs, "epochs": args.epochs, "seed": args.seeds},
                output_dir=f"{args.out}/{start}-{size or 'all'}", overwrite=True, wandb="disabled", progress=False)
            (result,) = run_glue(cfg)
            row[start] = {"median": 100 * result["metrics"]["dev/score"], "setting": result["setting"],
                          "median_per_setting": [{**g["setting"], "median": 100 * g["median"]["dev/score"]}
                                                 for g in result["grid"]],
                          "minutes": (time.perf_counter() - began) / 60}
            row["train_examples"] = result["train_examples"]
            row["bag_of_words"] = 100 * result["baseline"]["dev/score"]
        row["lift"] = row["pretrained"]["median"] - row["scratch"]["median"]
        rows.append(row)
    print(f"\nSST-2 dev accuracy (n=872), median of seeds {args.seeds} at the best of lr {args.lrs} x epochs "
          f"{args.epochs}, batch {args.batch_size}, seq {args.max_seq_length}; pretrained: {args.pretrained}")
    print("| train rows | pretrained | from scratch | lift | bag-of-words |\n|---|---|---|---|---|")
    for r in rows:
        p, s = r["pretrained"], r["scratch"]
        setting = lambda x: ", ".join(f"{k} {v:g}" for k, v in x["setting"].items())  # noqa: E731
        print(f"| {r['train_examples']} | {p['median']:.1f} ({setting(p)}) | {s['median']:.1f} ({setting(s)}) "
              f"| {r['lift']:+.1f} | {r['bag_of_words']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""`--grid` for every fine-tuning job (see pretrain/grid.py): each point (lr, batch size, epochs, seed) trained in
its own folder, and the setting whose median score over the seeds is best reported with the median of each metric,
as the BERT paper reports its grid."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from pretrain import grid
from pretrain.job import is_main_process

from .config import GRID_KEYS


def run_grid(cfg, out: Path, run_one: Callable, score: Callable[[dict], float]) -> dict:
    """`run_one(point_cfg, checkpoint)` trains a point and returns its result, whose "metrics" hold its best epoch's
    figures; `score(metrics)` is what the settings are compared by. The main process writes the summary; every
    process returns it."""
    summary, group = grid.run_grid(cfg, out, GRID_KEYS, run_one, lambda result: result["metrics"], score)
    summary = {**group[0], **summary, "best_epoch": [r["best_epoch"] for r in group],
               "best_model": [r.get("best_model") for r in group]}
    if is_main_process():
        (out / "results.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary

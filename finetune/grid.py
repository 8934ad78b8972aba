"""`--grid` for every fine-tuning job: each point (lr, batch size, epochs, seed) trained in its own folder, and the
setting whose median score over the seeds is best reported with the median of each metric, as the BERT paper
reports its grid."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np

from pretrain.job import is_main_process

from .job import run_part


def run_grid(cfg, out: Path, run_one: Callable, score: Callable[[dict], float]) -> dict:
    """Each point is a part of the run (see `run_part`) in its own folder under `out`: `run_one(point_cfg,
    checkpoint)` trains it and returns its result, whose "metrics" hold its best epoch's figures; `score(metrics)`
    is what the settings are compared by. The main process writes the summary; every process returns it."""
    runs = []
    for point in cfg.grid_points():
        folder = out / "-".join(f"{k}={v}" for k, v in point.items())
        runs.append((point, run_part(dataclasses.replace(cfg, **point), folder, run_one)))
    settings: dict[tuple, list[dict]] = {}
    for point, result in runs:
        settings.setdefault(tuple((k, v) for k, v in point.items() if k != "seed"), []).append(result)
    medians = {key: {m: float(np.median([r["metrics"][m] for r in group])) for m in group[0]["metrics"]}
               for key, group in settings.items()}
    best = max(medians, key=lambda key: score(medians[key]))
    group = settings[best]
    summary = {**group[0], "metrics": medians[best], "best_epoch": [r["best_epoch"] for r in group],
               "setting": dict(best), "seeds": len(group),
               "grid": [{"setting": dict(k), "median": v} for k, v in medians.items()],
               "best_model": [r.get("best_model") for r in group]}
    if is_main_process():
        (out / "results.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary

"""`--grid`: a job's options varied over every combination of given values, each point a part of the run in its own
folder (resumable), and per setting (a point without its seed) the median and range of each metric over the seeds,
the best setting chosen by a score. Fine-tuning reports its grid this way (as the BERT paper), and the text CNN its
sensitivity analysis (as Zhang & Wallace 2015)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np

from .checkpoint import resumable_checkpoint
from .config import ConfigError
from .job import is_main_process
from .rundir import check_output_dir


def check_grid(grid: dict | None, keys: tuple[str, ...]) -> dict:
    """The grid as a dict of option -> non-empty list of values, each option one of `keys`."""
    grid = dict(grid or {})
    for key, values in grid.items():
        if key not in keys or not isinstance(values, list) or not values:
            raise ConfigError(f"--grid must map some of {', '.join(keys)} to non-empty lists; got {key}={values!r}")
    return grid


def grid_points(grid: dict, keys: tuple[str, ...]) -> list[dict]:
    """Every combination of the grid's values, in the order of `keys` (one empty point without a grid)."""
    points = [{}]
    for key in keys:
        points = [{**p, key: v} for p in points for v in grid.get(key, [])] or points
    return points


def run_part(cfg, folder: Path, run_one: Callable) -> dict:
    """One part of a larger run (a task of --task=all, a point of --grid) in its own folder: `run_one(cfg,
    checkpoint)`. With --resume, a part the run finished keeps its results, one it started continues from its
    latest checkpoint, and one it never reached (or left before its first checkpoint) starts afresh."""
    part = dataclasses.replace(cfg, output_dir=str(folder), grid={}, overwrite=False)
    if cfg.resume:
        if (folder / "results.json").is_file():
            if is_main_process():
                print(f"[alba] {folder}: finished before, its results are kept", flush=True)
            return json.loads((folder / "results.json").read_text(encoding="utf-8"))
        if resumable_checkpoint(folder / "checkpoints") is None:
            part = dataclasses.replace(part, resume=False, overwrite=True)
    return run_one(part, check_output_dir(part))


def run_grid(cfg, out: Path, keys: tuple[str, ...], run_one: Callable, metrics: Callable[[dict], dict],
             score: Callable[[dict], float]) -> tuple[dict, list[dict]]:
    """Train every point of `cfg.grid` (see `run_part`) in a folder of its own under `out`; `metrics(result)` gives
    a point's figures and `score(medians)` ranks the settings. Returns the summary (the best setting, the medians of
    its figures, and every setting's medians, minima and maxima over its seeds) and the best setting's results."""
    runs = []
    for point in grid_points(cfg.grid, keys):
        folder = out / "-".join(f"{k}={v}" for k, v in point.items())
        runs.append((point, run_part(dataclasses.replace(cfg, **point), folder, run_one)))
    settings: dict[tuple, list[dict]] = {}
    for point, result in runs:
        settings.setdefault(tuple((k, v) for k, v in point.items() if k != "seed"), []).append(result)
    figures = {key: [metrics(r) for r in group] for key, group in settings.items()}
    medians = {key: {m: float(np.median([f[m] for f in found])) for m in found[0]} for key, found in figures.items()}
    best = max(medians, key=lambda key: score(medians[key]))
    summary = {"metrics": medians[best], "setting": dict(best), "seeds": len(settings[best]),
               "grid": [{"setting": dict(key), "median": medians[key],
                         "min": {m: min(f[m] for f in found) for m in found[0]},
                         "max": {m: max(f[m] for f in found) for m in found[0]}} for key, found in figures.items()]}
    return summary, settings[best]

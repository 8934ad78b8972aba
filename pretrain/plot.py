"""`alba plot RUN_DIR`: the curves of a run's metrics.jsonl as one PNG (losses, accuracies, lr, throughput)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .config import ConfigError

# Panel title -> which metric names (without the train/ or eval/ prefix) go in it. Each loss has a panel of its own,
# so that a small one (SOP's 0.7) is not flattened beside a large one (MLM's 7).
PANELS = {
    "accuracy": lambda name: name.endswith("_accuracy"),
    "learning rate": lambda name: name == "lr",
    "tokens/s": lambda name: name == "tokens_per_s",
    "gradient norm": lambda name: name == "grad_norm",
}


def _is_loss(name: str) -> bool:
    return name == "loss" or name.endswith("_loss")


def panels_of(series: dict) -> dict[str, dict]:
    """Panel title -> its series: one panel per loss (train and held-out together), then the PANELS."""
    names = sorted({n.split("/", 1)[1] for n in series})
    losses = {name.replace("_", " "): (lambda n, name=name: n == name) for name in names if _is_loss(name)}
    panels = {title: {n: s for n, s in series.items() if keep(n.split("/", 1)[1])}
              for title, keep in {**losses, **PANELS}.items()}
    return {title: members for title, members in panels.items() if members}


def read_metrics(path: Path) -> dict[str, tuple[list[int], list[float]]]:
    """Series name -> (steps, values) from a JSONL log; a malformed line is an error naming the file and line."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                step = int(record["step"])
            except (ValueError, KeyError, TypeError) as e:
                raise ConfigError(f"{path}:{number}: not a metrics record ({type(e).__name__}: {e})") from None
            for name, value in record.items():
                if "/" in name and isinstance(value, (int, float)) and math.isfinite(value):
                    steps, values = series.setdefault(name, ([], []))
                    steps.append(step)
                    values.append(float(value))
    return series


def plot_run(run_dir: str, out: str = "") -> Path:
    """Write the PNG (default RUN_DIR/curves.png) and return its path."""
    run = Path(run_dir)
    log = run / "metrics.jsonl" if run.is_dir() else run
    if not log.is_file():
        raise ConfigError(f"no metrics log at {log} (expected a run directory holding metrics.jsonl)")
    series = read_metrics(log)
    if not panels_of(series):
        raise ConfigError(f"{log} holds no metrics to plot")
    fig = figure(series, str(run))
    target = Path(out) if out else (run if run.is_dir() else run.parent) / "curves.png"
    tmp = target.with_name(target.name + ".tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(target)
    return target


def figure(series: dict, title: str):
    """The panels, one above the other on a shared step axis; a metric's held-out curve (dashed, with markers)
    has the colour of its training curve, and each legend stands outside its panel, clear of the curves."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    from matplotlib.figure import Figure

    panels = panels_of(series)
    fig = Figure(figsize=(9, 2.4 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    palette = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    colours = {}
    for ax, (panel, members) in zip(axes, panels.items()):
        for name, (steps, values) in sorted(members.items(), key=lambda item: item[0].startswith("eval/")):
            metric = name.split("/", 1)[1]
            colour = colours.setdefault(metric, palette[len(colours) % len(palette)])
            held_out = name.startswith("eval/")
            ax.plot(steps, values, label=name, color=colour, linestyle="--" if held_out else "-",
                    marker="o" if held_out or len(steps) < 3 else None, markersize=4)  # a lone point stays visible
        ax.set_title(panel, fontsize=10, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axes[-1].set_xlabel("optimizer step")
    fig.suptitle(title, fontsize=10)
    return fig

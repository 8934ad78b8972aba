"""`alba plot RUN_DIR`: the curves of a run's metrics.jsonl as one PNG (losses, accuracies, lr, throughput)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .config import ConfigError

# Panel title -> which metric names (without the train/ or eval/ prefix) go in it.
PANELS = {
    "loss": lambda name: name == "loss" or name.endswith("_loss"),
    "accuracy": lambda name: name.endswith("_accuracy"),
    "learning rate": lambda name: name == "lr",
    "tokens/s": lambda name: name == "tokens_per_s",
    "gradient norm": lambda name: name == "grad_norm",
}


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
    panels = {title: {n: s for n, s in series.items() if keep(n.split("/", 1)[1])} for title, keep in PANELS.items()}
    panels = {title: members for title, members in panels.items() if members}
    if not panels:
        raise ConfigError(f"{log} holds no metrics to plot")

    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True, squeeze=False)
    for ax, (title, members) in zip(axes[:, 0], panels.items()):
        for name, (steps, values) in sorted(members.items()):
            # Evaluations are sparse: markers keep a single point visible.
            ax.plot(steps, values, label=name, marker="o" if name.startswith("eval/") else None, markersize=4)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("optimizer step")
    fig.suptitle(str(run))
    fig.tight_layout()
    target = Path(out) if out else (run if run.is_dir() else run.parent) / "curves.png"
    tmp = target.with_name(target.name + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(target)
    return target

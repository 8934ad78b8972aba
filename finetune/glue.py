"""GLUE's official metrics per task and its submission format; the tasks and their files are read by
data_pipeline/glue.py."""
from __future__ import annotations

from pathlib import Path

from data_pipeline.glue import GlueExample, GlueTask

from .metrics import METRICS


def compute_metrics(task: GlueTask, predictions, labels) -> dict[str, float]:
    """The task's official metrics, plus `score`: their mean (the GLUE leaderboard's per-task number)."""
    values = {m: METRICS[m](predictions, labels) for m in task.metrics}
    values["score"] = sum(values.values()) / len(values)
    return values


def write_submission(path: str | Path, task: GlueTask, examples: list[GlueExample], predictions) -> None:
    """GLUE's submission format: `index<TAB>prediction`, labels as strings (STS-B: the score)."""
    path = Path(path)
    lines = ["index\tprediction"]
    for ex, p in zip(examples, predictions, strict=True):
        lines.append(f"{ex.guid}\t{float(p):.3f}" if task.is_regression else f"{ex.guid}\t{task.labels[int(p)]}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)

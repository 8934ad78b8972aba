"""Where metrics go: a local JSONL file always, Weights & Biases unless disabled, and TensorBoard when asked."""
from __future__ import annotations

import json
import netrc
import os
import time
from pathlib import Path

RUN_ID_FILE = "wandb_run_id"


def wandb_mode(requested: str) -> str:
    """'auto' means online when an API key is configured (env var or ~/.netrc, as `wandb login` writes), else
    offline; an explicit WANDB_MODE in the environment wins over 'auto'."""
    if requested != "auto":
        return requested
    env = os.environ.get("WANDB_MODE")
    if env in ("online", "offline", "disabled"):
        return env
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        if netrc.netrc().authenticators("api.wandb.ai"):
            return "online"
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        pass
    return "offline"


class Tracker:
    """Logs scalars to `metrics.jsonl` (one JSON object per line) and, when enabled, to W&B.

    `resume_step`: the step of the checkpoint a resumed run continues from. The interrupted run may have logged
    steps after it, which the resumed run logs again: those records are dropped first, so each step appears once.
    The W&B run's id is kept in the run directory (`wandb_run_id`), so a resumed run continues the same W&B run
    rather than starting a new one."""

    def __init__(self, output_dir: Path, config: dict, wandb: str = "auto", project: str = "alba",
                 enabled: bool = True, resume_step: int | None = None, tensorboard: bool = False):
        self.enabled = enabled
        self.mode = wandb_mode(wandb) if enabled else "disabled"
        self.path = Path(output_dir) / "metrics.jsonl"
        self.run = self.board = None
        if not enabled:
            return
        resume = resume_step is not None
        if resume and self.path.is_file():
            _truncate_after(self.path, resume_step)
        self.file = open(self.path, "a" if resume else "w", encoding="utf-8")
        if tensorboard:
            self.board = _board(Path(output_dir) / "tensorboard", resume_step)
        if self.mode != "disabled":
            import wandb as wb
            os.environ.setdefault("WANDB_SILENT", "true")
            id_file = Path(output_dir) / RUN_ID_FILE
            run_id = id_file.read_text(encoding="utf-8").strip() if resume and id_file.is_file() else None
            self.run = wb.init(project=project, dir=str(output_dir), mode=self.mode, config=config,
                               name=Path(output_dir).name, id=run_id, resume="allow" if run_id else None)
            id_file.write_text(self.run.id + "\n", encoding="utf-8")
            if self.mode == "offline":
                kept = str(Path(self.run.dir).parent)  # the run's folder, above its files/
                print(f"[alba] W&B is offline (online needs `wandb login` or WANDB_API_KEY): the run is kept in "
                      f"{kept}; `wandb sync {kept}` uploads it", flush=True)

    def log(self, metrics: dict, step: int):
        if not self.enabled:
            return
        record = {"step": step, "time": round(time.time(), 3), **metrics}
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        if self.run is not None:
            self.run.log(metrics, step=step)
        if self.board is not None:
            for name, value in metrics.items():
                if isinstance(value, (int, float)):
                    self.board.add_scalar(name, value, step)

    def summary(self, values: dict):
        if self.run is not None:
            self.run.summary.update(values)

    def close(self):
        if not self.enabled:
            return
        self.file.close()
        if self.board is not None:
            self.board.close()
        if self.run is not None:
            self.run.finish()
            self.run = None


def _board(directory: Path, resume_step: int | None):
    """A TensorBoard writer; a resumed run's events after its checkpoint are dropped (purge_step), as in the JSONL."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        from .config import ConfigError
        raise ConfigError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(str(directory), purge_step=None if resume_step is None else resume_step + 1)


def _truncate_after(path: Path, step: int) -> None:
    """Keep the records up to `step` (and a last line cut short by a kill is dropped too); replaced atomically."""
    kept = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                continue
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)

"""The output directory of a run: refuse to mix two runs in one place, and replace an old run only once the new
one is known to start (so a bad flag never costs the old run)."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .checkpoint import latest_checkpoint
from .config import ConfigError, RunConfig

RUN_CONFIG = "run_config.json"


def default_output_dir(prefix: str = "pretrain") -> str:
    return str(Path("runs") / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}")


def check_output_dir(cfg: RunConfig) -> Path | None:
    """Validate `cfg.output_dir` against what it holds. Returns the checkpoint to resume from, if any.
    Nothing is written here."""
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output_dir {out} exists and is not a directory")
    occupied = out.is_dir() and any(out.iterdir())
    if cfg.resume:
        stored = out / RUN_CONFIG
        if not stored.is_file():
            raise ConfigError(f"--resume: {out} holds no run to resume ({RUN_CONFIG} missing)")
        old = RunConfig.build(**json.loads(stored.read_text(encoding="utf-8")))
        changed = cfg.differences(old)
        if changed:
            raise ConfigError(f"--resume: options differ from the run in {out}: "
                              + ", ".join(f"{k} ({getattr(old, k)!r} -> {getattr(cfg, k)!r})" for k in changed))
        ckpt = latest_checkpoint(out / "checkpoints")
        if ckpt is None:
            raise ConfigError(f"--resume: {out} has no complete checkpoint yet")
        return ckpt
    if occupied and not cfg.overwrite:
        what = "a run" if (out / RUN_CONFIG).is_file() else "other files"
        raise ConfigError(f"--output_dir {out} already holds {what}; pass --overwrite to replace it or "
                          f"--resume to continue it")
    return None


def prepare_output_dir(cfg: RunConfig):
    """Create (or, with --overwrite, empty) the directory and record the resolved config."""
    out = Path(cfg.output_dir)
    if cfg.overwrite and out.is_dir():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_CONFIG).write_text(json.dumps(cfg.to_dict(), indent=1) + "\n", encoding="utf-8")

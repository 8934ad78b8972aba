"""What every baseline run shares: its run options (where it writes, how it resumes, logs and shows progress) and
the output directory that honours them."""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pretrain.config import ConfigError, _opt, check_options, typed_options
from pretrain.rundir import check_writable, make_output_dir, read_run_config

RUN_CONFIG = "run_config.json"


@dataclass
class BaselineRunOptions:
    """Base of the baselines' run configs. A subclass adds its data/model/train fields, may redeclare a run field
    to change its default or help, and lists its comma-list options in JOINED."""
    NAME: ClassVar[str] = "baseline"
    JOINED: ClassVar[tuple[str, ...]] = ()
    # Options a resumed run may change: how it is logged and saved, not what it trains.
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = ("overwrite", "resume", "output_dir", "log_every", "save_every",
                                                    "keep_checkpoints", "wandb", "progress")

    output_dir: str = _opt("", "where checkpoints, logs and results go (default: runs/<baseline>-<time>)",
                           group="run")
    overwrite: bool = _opt(False, "replace a run already in output_dir", group="run")
    resume: bool = _opt(False, "continue the run in output_dir from its latest checkpoint", group="run")
    log_every: int = _opt(50, "steps between metric logs", group="run")
    save_every: int = _opt(500, "steps between checkpoints (and one at the end)", group="run")
    keep_checkpoints: int = _opt(2, "how many recent checkpoints to keep", group="run")
    wandb: str = _opt("auto", "Weights & Biases: 'auto', 'online', 'offline' or 'disabled'",
                      ("auto", "online", "offline", "disabled"), "run")
    wandb_project: str = _opt("alba", "W&B project name", group="run")
    progress: bool = _opt(True, "show progress bars", group="run")

    def check(self, positive: tuple[str, ...] = ()) -> None:
        """Choices, the given positive fields and the run options; call from __post_init__."""
        check_options(self, positive=(*positive, "log_every", "save_every", "keep_checkpoints"))
        if self.overwrite and self.resume:
            raise ConfigError("--overwrite and --resume exclude each other")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def build(cls, config_file: str | None = None, **overrides):
        return cls(**typed_options(cls, config_file, overrides, joined=cls.JOINED))


def prepare_run_dir(cfg: BaselineRunOptions) -> Path:
    """Check the output directory against --resume/--overwrite (a bad combination changes nothing on disk), then
    create it and record the resolved config. Without --output_dir: runs/<NAME>-<time>."""
    cfg.output_dir = cfg.output_dir or str(Path("runs") / f"{cfg.NAME}-{time.strftime('%Y%m%d-%H%M%S')}")
    out = Path(cfg.output_dir)
    stored = out / RUN_CONFIG
    if cfg.resume:
        if not stored.is_file():
            raise ConfigError(f"--resume: {out} holds no run to resume ({RUN_CONFIG} missing)")
        old = read_run_config(stored)
        changed = [k for k, v in cfg.to_dict().items() if k not in cfg.RESUMABLE_CHANGES and old.get(k) != v]
        if changed:
            raise ConfigError(f"--resume: options differ from the run in {out}: "
                              + ", ".join(f"{k} ({old.get(k)!r} -> {getattr(cfg, k)!r})" for k in changed))
        return out
    check_writable(out)
    if out.is_dir() and any(out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"--output_dir {out} is not empty; pass --overwrite to replace it or --resume to "
                          f"continue it")
    make_output_dir(out, cfg.overwrite)
    stored.write_text(json.dumps(cfg.to_dict(), indent=1) + "\n", encoding="utf-8")
    return out

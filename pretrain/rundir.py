"""The output directory of a run: refuse to mix two runs in one place, and replace an old run only once the new
one is known to start (so a bad flag never costs the old run) and to work: `--overwrite` moves the old run aside
(`.NAME.replaced`, beside it) and deletes it only once the new run has written its first checkpoint (or finished,
for jobs without checkpoints); a new run that fails before that puts it back."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from .checkpoint import resumable_checkpoint
from .config import ConfigError, RunOptions

RUN_CONFIG = "run_config.json"


def default_output_dir(prefix: str = "pretrain") -> str:
    return str(Path("runs") / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}")


def check_output_dir(cfg: RunOptions, need_checkpoint: bool = True) -> Path | None:
    """Validate `cfg.output_dir` (by default runs/<job>-<time>) against what it holds: a run to resume with the
    same options, or nothing unless --overwrite. Returns the checkpoint to resume from, if any. Nothing is written
    here. `need_checkpoint`: --resume needs a complete checkpoint in `checkpoints/` (a job that keeps one per
    part, as memn2n per task, checks its parts itself)."""
    cfg.output_dir = cfg.output_dir or default_output_dir(cfg.NAME)
    out = Path(cfg.output_dir)
    check_writable(out)
    occupied = out.is_dir() and any(out.iterdir())
    if cfg.resume:
        stored = out / RUN_CONFIG
        if not stored.is_file():
            raise ConfigError(f"--resume: {out} holds no run to resume ({RUN_CONFIG} missing)")
        old = type(cfg).build(**read_run_config(stored))
        changed = cfg.differences(old)
        if changed:
            raise ConfigError(f"--resume: options differ from the run in {out}: "
                              + ", ".join(f"{k} ({getattr(old, k)!r} -> {getattr(cfg, k)!r})" for k in changed))
        ckpt = resumable_checkpoint(out / "checkpoints")
        if ckpt is None and need_checkpoint:
            raise ConfigError(f"--resume: {out} has no complete checkpoint yet")
        return ckpt
    if occupied and not cfg.overwrite:
        what = "a run" if (out / RUN_CONFIG).is_file() else "other files"
        raise ConfigError(f"--output_dir {out} already holds {what}; pass --overwrite to replace it or "
                          f"--resume to continue it")
    return None


def read_run_config(stored: Path) -> dict:
    """The options a run recorded, or a ConfigError naming the file."""
    try:
        options = json.loads(stored.read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise ConfigError(f"--resume: {stored} does not parse ({' '.join(str(e).split())[:200]}); it is not a "
                          "run this version can continue") from None
    if not isinstance(options, dict):
        raise ConfigError(f"--resume: {stored} holds {type(options).__name__}, not the run's options")
    return options


def check_writable(out: Path) -> None:
    """Before any data is read: `out`, or the directory it would be created in, must be a writable directory."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--output_dir {out} exists and is not a directory")
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--output_dir {out} cannot be created: {ancestor} is a file, not a directory")
    try:
        fd, probe = tempfile.mkstemp(dir=ancestor, prefix=".alba-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"--output_dir {out} cannot be written ({e.strerror} in {ancestor})") from None


def _aside(out: Path) -> Path:
    return out.with_name(f".{out.name}.replaced")


def make_output_dir(out: Path, overwrite: bool) -> None:
    """Create `out`; with `overwrite`, move what it holds aside first (see the module's docstring)."""
    if overwrite and out.is_dir() and any(out.iterdir()):
        aside = _aside(out)
        if aside.exists():  # a replacement killed before its first checkpoint: the old run is still aside
            shutil.rmtree(out)
        else:
            os.replace(out, aside)
            print(f"[alba] the old run in {out} is kept in {aside} until this run writes its first checkpoint",
                  flush=True)
    out.mkdir(parents=True, exist_ok=True)


def discard_replaced(out: Path) -> None:
    """The new run in `out` has a checkpoint: the old run it replaces goes."""
    shutil.rmtree(_aside(out), ignore_errors=True)


def restore_replaced(out: Path) -> None:
    """The new run in `out` failed before its first checkpoint: the old run it was to replace comes back."""
    aside = _aside(out)
    if aside.is_dir():
        shutil.rmtree(out, ignore_errors=True)
        os.replace(aside, out)
        print(f"[alba] the run failed: the old run is back in {out}", flush=True)


def prepare_output_dir(cfg: RunOptions) -> Path:
    """Create the directory (replacing an old run as `make_output_dir` does) and record the resolved config."""
    out = Path(cfg.output_dir)
    make_output_dir(out, cfg.overwrite)
    (out / RUN_CONFIG).write_text(json.dumps(cfg.to_dict(), indent=1) + "\n", encoding="utf-8")
    return out

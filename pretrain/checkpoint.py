"""Checkpoints: safetensors weights + JSON state, optimizer/scheduler/scaler tensors loadable with weights_only=True.

A checkpoint is written into `.tmp-step-N`, sealed with `manifest.json` (every file's size and SHA-256, written last),
renamed to `step-N`, and only then is `latest` replaced (atomically). So at every instant, even after `kill -9` or a
full disk, some sealed copy of every completed checkpoint exists (a sealed `.tmp-step-N` counts);
`resumable_checkpoint` finds the newest intact one, whatever `latest` says.
Under DeepSpeed ZeRO every process also writes its own partition of the optimizer state
(`optimizer-rank{r}-of-{world}.pt`) into the temporary directory before it is sealed.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import warnings
from collections import OrderedDict
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from .config import ConfigError

LATEST = "latest"
MANIFEST = "manifest.json"
TRAINER_STATE = "trainer_state.json"
_NAME = re.compile(r"^(?:\.tmp-)?step-(\d{8})$")


class CheckpointError(ConfigError):
    """A checkpoint cannot be written (disk full, not writable)."""


@dataclass
class TrainState:
    """The data cursor and counters saved with every checkpoint."""
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    tokens: int = 0
    samples: int = 0
    train_seconds: float = 0.0
    phase: int = 0  # of multi-phase pretraining
    skipped_steps: int = 0  # batches whose non-finite gradient the optimizer skipped

    @classmethod
    def from_file(cls, file: Path) -> "TrainState":
        """Parse and check `trainer_state.json`: a ValueError says what is wrong."""
        state = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise ValueError(f"expected a JSON object, got {type(state).__name__}")
        types = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(state) - set(types))
        if unknown:
            raise ValueError(f"unknown keys {unknown}")
        for name, value in state.items():
            ok = (type(value) is int or (types[name] == "float" and type(value) is float)) and value >= 0
            if not ok:
                raise ValueError(f"{name}={value!r} is not a non-negative {types[name]}")
        return cls(**state)


def _write_atomic(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _tmp_dir(root: Path, step: int) -> Path:
    return root / f".tmp-step-{step:08d}"


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _seal(directory: Path) -> None:
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != MANIFEST)
    _write_atomic(directory / MANIFEST, json.dumps(
        {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files}, indent=1))


def partition_file(directory: Path, rank: int, world: int) -> Path:
    return directory / f"optimizer-rank{rank}-of-{world}.pt"


def start_partitioned_checkpoint(root: Path, step: int) -> None:
    """Main process, before the others write their optimizer partitions: an empty temporary directory."""
    tmp = _tmp_dir(root, step)
    shutil.rmtree(tmp, ignore_errors=True)  # left by a run killed while writing this step
    tmp.mkdir(parents=True)


def save_optimizer_partition(root: Path, step: int, rank: int, world: int, stage: int, zero_optimizer) -> None:
    """Every process, after `start_partitioned_checkpoint` and before `save_checkpoint`: its partition of a
    DeepSpeed ZeRO optimizer."""
    partition = {"stage": stage, "rank": rank, "world": world, **zero_partition(zero_optimizer)}
    torch.save(partition, partition_file(_tmp_dir(root, step), rank, world))


def save_checkpoint(root: Path, step: int, model, weights: dict | None, optimizer_state: dict | None, scheduler,
                    state: TrainState, keep: int = 2, scaler=None, zero: dict | None = None) -> Path:
    """`weights`: the model's whole state dict when the model itself holds only a partition (else None).
    `optimizer_state`: None when it is partitioned (DeepSpeed ZeRO); then `zero` ({"stage", "world"}) says that
    each process has written its partition into the temporary directory already.
    `scaler`: fp16's dynamic loss scaler, whose scale and growth counter a resume must continue from.
    A write that fails (a full disk) removes the temporary directory and raises CheckpointError; the checkpoints
    already on disk are untouched."""
    final, tmp = root / f"step-{step:08d}", _tmp_dir(root, step)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if zero is None:
            shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, weights)
        # No generator state: the Engine seeds every batch from the data cursor in trainer_state.json.
        torch.save({"optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None, **({"zero": zero} if zero else {})},
                   tmp / "optimizer.pt")
        (tmp / TRAINER_STATE).write_text(json.dumps(vars(state), indent=1), encoding="utf-8")
        _seal(tmp)
    except (OSError, RuntimeError) as e:  # torch.save reports a full disk as a RuntimeError
        written = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file()) if tmp.is_dir() else 0
        shutil.rmtree(tmp, ignore_errors=True)
        raise _write_failed(root, final, e, written) from None
    # Saved again (a finished run resumed, a phase switch): a kill while the old copy is removed leaves the sealed
    # temporary copy, which `resumable_checkpoint` finds.
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _write_atomic(root / LATEST, final.name)
    for stale in root.iterdir():  # copies left by a run killed while saving, now superseded
        if stale.is_dir() and stale.name.startswith(".tmp-") and _step_of(stale) <= step:
            shutil.rmtree(stale, ignore_errors=True)
    for older in sorted(p for p in root.glob("step-*") if p.is_dir())[:-keep or None]:
        shutil.rmtree(older, ignore_errors=True)
    return final


def _write_failed(root: Path, final: Path, e: Exception, written: int) -> CheckpointError:
    reason = " ".join(str(e).split())[:200]
    if isinstance(e, OSError) and e.errno == errno.ENOSPC or "No space left" in reason:
        previous = [p for p in root.glob("step-*") if p.is_dir()]
        need = max((sum(f.stat().st_size for f in p.iterdir()) for p in previous), default=written)
        free = shutil.disk_usage(root).free
        return CheckpointError(f"checkpoint {final} could not be written: the disk holding {root} is full "
                               f"({free / 1e6:.0f} MB free, a checkpoint needs about {need / 1e6:.0f} MB); the "
                               "previous checkpoints are intact; free space and continue with --resume")
    return CheckpointError(f"checkpoint {final} could not be written ({type(e).__name__}: {reason}); the previous "
                           "checkpoints are intact")


def _step_of(path: Path) -> int:
    match = _NAME.match(path.name)
    return int(match.group(1)) if match else -1


def check_checkpoint(path: Path) -> None:
    """Raise ValueError naming the first damaged file of a checkpoint: a file missing or changed since it was sealed
    (size, SHA-256), trainer state that does not parse, or weights that are not finite. Reads every byte."""
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        if not _unsealed_format(path):
            raise ValueError(f"{manifest_file} is missing: the checkpoint was never sealed, or was damaged")
        manifest_file = None  # written before checkpoints were sealed: no sizes or checksums to compare
    try:
        if manifest_file is None:
            raise LookupError
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        listed = {name: (int(entry["bytes"]), str(entry["sha256"])) for name, entry in manifest.items()}
    except LookupError:
        listed = {p.name: None for p in path.iterdir() if p.is_file()}
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"{manifest_file} does not parse ({e})") from None
    for name, sealed in listed.items():
        file = path / name
        if Path(name).name != name or not file.is_file():
            raise ValueError(f"{file} is missing")
        if sealed is None:
            continue
        size, digest = sealed
        if file.stat().st_size != size:
            raise ValueError(f"{file} has {file.stat().st_size} bytes, {size} when it was written")
        if _sha256(file) != digest:
            raise ValueError(f"{file} has changed since it was written (checksum mismatch)")
    for required in ("model.safetensors", "optimizer.pt", TRAINER_STATE):
        if required not in listed:
            raise ValueError(f"{path / required} is missing")
    try:
        TrainState.from_file(path / TRAINER_STATE)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path / TRAINER_STATE} is not valid trainer state ({e})") from None
    from safetensors import safe_open
    with safe_open(path / "model.safetensors", framework="pt") as weights:
        for key in weights.keys():
            tensor = weights.get_tensor(key)
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise ValueError(f"{path / 'model.safetensors'} holds non-finite values in {key}")


def _unsealed_format(path: Path) -> bool:
    """Whether `path` was written by alba before checkpoints were sealed (its optimizer.pt still held the generator
    states, which sealed checkpoints never hold); such a checkpoint is checked without sizes and checksums."""
    if path.name.startswith(".") or not (path / "optimizer.pt").is_file():
        return False
    try:
        return "torch_rng" in torch.load(path / "optimizer.pt", weights_only=True, mmap=True)
    except Exception:  # unreadable: not a checkpoint of any format
        return False


def resumable_checkpoint(root: Path) -> Path | None:
    """The newest intact checkpoint under `root` (None when there is no checkpoint at all). Damaged newer ones
    are skipped with a warning naming each and why; when all are damaged, a ConfigError names the newest's
    damaged file. `latest` only breaks ties: a sealed copy a kill left in `.tmp-step-N` counts too."""
    if not root.is_dir():
        return None
    pointer = root / LATEST
    try:
        named = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    except (OSError, UnicodeDecodeError):
        named = ""
    found = sorted((p for p in root.iterdir() if p.is_dir() and _NAME.match(p.name)),
                   key=lambda p: (_step_of(p), p.name == named, not p.name.startswith(".")), reverse=True)
    skipped = []
    for path in found:
        try:
            check_checkpoint(path)
        except (ValueError, OSError) as e:
            if path.name.startswith(".") and not (path / MANIFEST).is_file():
                continue  # a write cut short: never a checkpoint
            skipped.append(f"{path.name} ({' '.join(str(e).split())[:300]})")
            continue
        if skipped:
            warnings.warn(f"resuming from {path}: skipped damaged newer checkpoint(s): {'; '.join(skipped)}",
                          stacklevel=2)
        return path
    if skipped:
        raise ConfigError(f"no intact checkpoint in {root}: {skipped[0]}; start a new run")
    return None


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler=None) -> TrainState:
    """Restore model, optimizer, scheduler and loss scaler; returns the trainer state. A damaged checkpoint is a
    ConfigError that says what is wrong and what to do; nothing on disk is changed. This process's ZeRO optimizer
    partition can only be restored once DeepSpeed has wrapped the optimizer: it is read and checked here and left on
    the optimizer as `ZERO_PENDING` for the Engine."""
    from safetensors.torch import load_model
    try:
        load_model(model, path / "model.safetensors")  # handles the tied embedding/decoder weights
        blob = torch.load(path / "optimizer.pt", weights_only=True)
        state = TrainState.from_file(path / TRAINER_STATE)
        if blob["optimizer"] is not None:
            optimizer.load_state_dict(blob["optimizer"])
        scheduler.load_state_dict(blob["scheduler"])
        if scaler is not None and blob.get("scaler"):
            scaler.load_state_dict(blob["scaler"])
    except Exception as e:  # any failure here means the files do not hold what this run needs
        raise _damaged(path, path, e) from None
    zero = blob.get("zero")
    if zero is not None:
        world, rank = _process_group()
        if zero["world"] == world:
            setattr(optimizer, ZERO_PENDING, {**zero, "file": partition_file(path, rank, world),
                                              "partition": _load_partitions(path, rank, world)})
        else:
            warnings.warn(f"{path} holds the optimizer state in {zero['world']} ZeRO partitions, but this run has "
                          f"{world} process(es), which cannot take them over; the optimizer moments restart from "
                          "zero", stacklevel=2)
    elif blob["optimizer"] is None:
        warnings.warn(f"{path} holds no optimizer state (it was written under DeepSpeed ZeRO before partitions were "
                      "saved); the optimizer moments restart from zero", stacklevel=2)
    return state


def _damaged(path: Path, file: Path, e: Exception) -> ConfigError:
    reason = " ".join(str(e).split())[:300]
    what = f"checkpoint {path}" if file == path else f"checkpoint file {file}"
    return ConfigError(f"{what} cannot be loaded ({type(e).__name__}: {reason}); point "
                       f"{path.parent / LATEST} at an earlier step-N directory, or start a new run")


def _process_group() -> tuple[int, int]:
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _load_partitions(path: Path, rank: int, world: int) -> dict:
    """This process's partition; every other one is opened too (memory-mapped, cheaply), so that a damaged or
    missing file stops all processes before any of them trains."""
    for r in range(world):
        file = partition_file(path, r, world)
        try:
            partition = torch.load(file, weights_only=True, map_location="cpu", mmap=r != rank)
        except Exception as e:
            raise _damaged(path, file, e) from None
        if r == rank:
            mine = partition
    return mine


# The attribute that carries a loaded ZeRO partition from `load_checkpoint` to the Engine.
ZERO_PENDING = "alba_zero_partition"


def _plain(value) -> bool:
    """Whether `torch.load(weights_only=True)` reads `value` back (tensors, numbers, strings and containers)."""
    if torch.is_tensor(value) or value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) in (list, tuple):
        return all(_plain(v) for v in value)
    if type(value) in (dict, OrderedDict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def zero_partition(zero_optimizer) -> dict:
    """This process's partition of a DeepSpeed ZeRO-1/2/3 optimizer, loadable with weights_only=True: DeepSpeed's
    own `state_dict()` (the inner torch optimizer's state, the fp32 master partitions: stage 1/2
    `single_partition_of_fp32_groups`, stage 3 `fp32_partitioned_groups_flat`) less its pickled objects (the loss
    scaler, whose numbers are kept apart, and the parameter-name maps that only universal checkpoints use)."""
    return {"state": {k: v for k, v in zero_optimizer.state_dict().items() if _plain(v)},
            "loss_scaler": {k: v for k, v in vars(zero_optimizer.loss_scaler).items() if _plain(v)}}


def restore_zero_partition(zero_optimizer, partition: dict, rank: int, world: int) -> None:
    """Load what `zero_partition` returned into the same rank of an optimizer with the same stage and world size.
    The fp32 master partitions are copied back as they were (not recomputed from lower-precision weights)."""
    for name, value in partition["loss_scaler"].items():
        setattr(zero_optimizer.loss_scaler, name, value)
    state = {**partition["state"], "loss_scaler": zero_optimizer.loss_scaler}
    zero_optimizer.load_state_dict([state if r == rank else None for r in range(world)], load_from_fp32_weights=True)

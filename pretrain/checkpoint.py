"""Checkpoints: safetensors weights + JSON state, optimizer/scheduler/RNG tensors loadable with weights_only=True.

Each checkpoint is written under a temporary name and renamed, and `latest` is replaced atomically afterwards, so
`latest` never names a partial checkpoint, even after `kill -9`. Under DeepSpeed ZeRO every process also writes its own
partition of the optimizer state (`optimizer-rank{r}-of-{world}.pt`) into the temporary directory before it is renamed.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings
from collections import OrderedDict
from pathlib import Path

import torch

from .config import ConfigError

LATEST = "latest"


def _write_atomic(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _tmp_dir(root: Path, step: int) -> Path:
    return root / f".tmp-step-{step:08d}"


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
                    state: dict, keep: int = 2, scaler=None, zero: dict | None = None) -> Path:
    """`weights`: the model's whole state dict when the model itself holds only a partition (else None).
    `optimizer_state`: None when it is partitioned (DeepSpeed ZeRO); then `zero` ({"stage", "world"}) says that
    each process has written its partition into the temporary directory already.
    `scaler`: fp16's dynamic loss scaler, whose scale and growth counter a resume must continue from."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = _tmp_dir(root, step)
    if zero is None:
        shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, weights)
    blob = {"optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(), "scaler": scaler.state_dict() if scaler is not None else None,
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}
    if zero is not None:
        blob["zero"] = zero
    torch.save(blob, tmp / "optimizer.pt")
    (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _write_atomic(root / LATEST, final.name)
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-keep or None]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    pointer = root / LATEST
    if not pointer.is_file():
        return None
    path = root / pointer.read_text(encoding="utf-8").strip()
    return path if path.is_dir() else None


def load_checkpoint(path: Path, model, optimizer, scheduler, scaler=None) -> dict:
    """Restore model, optimizer, scheduler, loss scaler and RNGs; returns the trainer state. A damaged checkpoint is a ConfigError
    that says what is wrong and what to do; nothing on disk is changed. This process's ZeRO optimizer partition
    can only be restored once DeepSpeed has wrapped the optimizer: it is read and checked here and left on the
    optimizer as `ZERO_PENDING` for the Engine."""
    from safetensors.torch import load_model
    try:
        load_model(model, path / "model.safetensors")  # handles the tied embedding/decoder weights
        blob = torch.load(path / "optimizer.pt", weights_only=True)
        state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
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
    torch.set_rng_state(blob["torch_rng"])
    if blob.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
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

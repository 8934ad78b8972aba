"""Checkpoints: safetensors weights + JSON state, optimizer/scheduler/RNG tensors loadable with weights_only=True.

Each checkpoint is written under a temporary name and renamed, and `latest` is replaced atomically afterwards, so
`latest` never names a partial checkpoint, even after `kill -9`.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import torch

from .config import ConfigError

LATEST = "latest"


def _write_atomic(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_checkpoint(root: Path, step: int, model, weights: dict | None, optimizer_state: dict | None, scheduler,
                    state: dict, keep: int = 2, scaler=None) -> Path:
    """`weights`: the model's whole state dict when the model itself holds only a partition (else None).
    `optimizer_state`: None when it is partitioned in a way no single process can write (DeepSpeed ZeRO).
    `scaler`: fp16's dynamic loss scaler, whose scale and growth counter a resume must continue from."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, weights)
    torch.save({"optimizer": optimizer_state, "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(), "scaler": scaler.state_dict() if scaler is not None else None,
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None},
               tmp / "optimizer.pt")
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
    that says what is wrong and what to do; nothing on disk is changed."""
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
        reason = " ".join(str(e).split())[:300]
        raise ConfigError(f"checkpoint {path} cannot be loaded ({type(e).__name__}: {reason}); point "
                          f"{path.parent / LATEST} at an earlier step-N directory, or start a new run") from None
    if blob["optimizer"] is None:
        warnings.warn(f"{path} holds no optimizer state (it was written under DeepSpeed ZeRO, which partitions it); "
                      "the optimizer moments restart from zero", stacklevel=2)
    torch.set_rng_state(blob["torch_rng"])
    if blob.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(blob["cuda_rng"])
    return state

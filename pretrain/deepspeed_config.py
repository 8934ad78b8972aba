"""A DeepSpeed JSON config checked against the run config: batch size, accumulation, precision and clipping are
stated once (the run config) and either left to "auto" in the DeepSpeed file or repeated there with the same value."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from .config import ConfigError, LaunchOptions


def load_deepspeed_config(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"DeepSpeed config {path} does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"DeepSpeed config {path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"DeepSpeed config {path} must hold a JSON object")
    return data


def zero_stage(ds: dict) -> int:
    return int((ds.get("zero_optimization") or {}).get("stage", 0))


def resolve(ds: dict, cfg: LaunchOptions, world: int, path: str) -> dict:
    """The DeepSpeed config with every "auto" or missing shared value filled from the run config; a value that
    contradicts the run config is an error naming both."""
    ds = copy.deepcopy(ds)
    for section in ("optimizer", "scheduler"):
        if section in ds:
            raise ConfigError(f"DeepSpeed config {path}: remove the '{section}' section; the optimizer and lr "
                              f"schedule come from the run config (--optimizer, --lr, --schedule, ...)")
    if getattr(cfg, "optimizer", "adamw") == "lamb" and zero_stage(ds) >= 1:  # fine-tuning: always AdamW
        raise ConfigError(f"DeepSpeed config {path}: ZeRO stage {zero_stage(ds)} partitions optimizer state in flat "
                          "fragments, on which LAMB's per-tensor trust ratio is wrong; use ZeRO stage 0 with "
                          "--shard_optimizer (exact, partitioned by whole tensors) or --optimizer=adamw")
    micro = cfg.batch_size // (world * cfg.grad_accum_steps)
    shared = {"train_batch_size": (cfg.batch_size, "--batch_size"),
              "train_micro_batch_size_per_gpu": (micro, f"--batch_size / ({world} processes x --grad_accum_steps)"),
              "gradient_accumulation_steps": (cfg.grad_accum_steps, "--grad_accum_steps"),
              "gradient_clipping": (cfg.grad_clip, "--grad_clip")}
    for key, (value, source) in shared.items():
        given = ds.get(key, "auto")
        if given != "auto" and given != value:
            raise ConfigError(f"DeepSpeed config {path}: {key}={given} contradicts {source}={value}")
        ds[key] = value
    for kind in ("fp16", "bf16"):
        section = ds.setdefault(kind, {})
        given, wanted = section.get("enabled", "auto"), cfg.precision == kind
        if given != "auto" and bool(given) != wanted:
            raise ConfigError(f"DeepSpeed config {path}: {kind}.enabled={given} contradicts "
                              f"--precision={cfg.precision}")
        section["enabled"] = wanted
    # alba's optimizers are plain torch optimizers, which ZeRO accepts only when told to.
    ds["zero_allow_untested_optimizer"] = True
    if zero_stage(ds) == 3:
        # The final model and checkpoints need whole weights gathered from the partitions.
        ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] = True
    return ds

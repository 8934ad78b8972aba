"""`load_model`: one entry point for an alba model directory or a `transformers` BERT/ALBERT directory."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

from safetensors import SafetensorError
from safetensors.torch import load_file

from .config import ConfigError
from .hf_import import from_hf
from .pretraining import AlbaForPreTraining


def load_model(path: str | os.PathLike) -> AlbaForPreTraining:
    """Load the pretraining model (encoder + MLM head + NSP/SOP head) from `path`, in training mode like any new
    module (call `.eval()` for inference).

    `path` is what alba writes (a pretraining output directory or one of its `checkpoints/step-N`), or a
    `transformers` directory of `BertForPreTraining`, `AlbertForPreTraining` or their `...ForMaskedLM` (config.json
    with `model_type`, weights in model.safetensors, possibly sharded). Only safetensors are read, so nothing is
    unpickled; `transformers` is not needed.
    """
    path = Path(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"{path} holds no config.json: expected an alba or transformers model directory")
    try:
        values = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{config_file}: not JSON ({e})") from None
    if "model_type" not in values:
        return AlbaForPreTraining.from_pretrained(path)
    if values["model_type"] not in ("bert", "albert"):
        raise ConfigError(f"{config_file}: model_type={values['model_type']!r}; alba loads 'bert' and 'albert'")
    try:
        return from_hf(SimpleNamespace(**values), _hf_weights(path))
    except (ConfigError, ValueError) as e:
        raise type(e)(f"{path}: {e}") from None


def _hf_weights(path: Path) -> dict:
    if (path / "model.safetensors").is_file():
        return _read(path / "model.safetensors")
    index = path / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return {k: v for shard in shards for k, v in _read(path / shard).items()}
    raise ConfigError(f"{path} has no model.safetensors (alba reads safetensors only, never pickled .bin files; "
                      "re-save the model with transformers' save_pretrained, which writes safetensors)")


def _read(file: Path) -> dict:
    try:
        return load_file(file)
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{file}: not a readable safetensors file ({e})") from None

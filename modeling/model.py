"""The shared base of alba's models (init, parameter count, save/load) and the bare encoder `AlbaModel`."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .config import ConfigError, ModelConfig, SavedConfig
from .embeddings import Embeddings
from .encoder import Encoder
from .heads import MaskedLMHead, Pooler

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class AlbaPreTrainedModel(nn.Module):
    """Base of every alba model: holds the config and knows how to initialise, count, save and load itself. A
    subclass names its config class; loading needs nothing else."""

    config_class: type[SavedConfig] = ModelConfig

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    def init_weights(self, *modules: nn.Module) -> None:
        """(Re-)initialise the given submodules, by default the whole model (e.g. after `to_empty` from meta).

        BERT's scheme: truncated normal (cut at 2 std, as TensorFlow's) with std initializer_range for weights and
        embeddings, zero biases, LayerNorm weight 1, zero pad-token embedding.
        """
        std = self.config.initializer_range
        for module in (m for root in (modules or (self,)) for m in root.modules()):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, MaskedLMHead):
                nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        """Unique parameters: a weight shared by several layers counts once."""
        return sum(p.numel() for p in self.parameters())

    def save_pretrained(self, directory: str | os.PathLike, state_dict: dict | None = None) -> None:
        """Write `model.safetensors` and `config.json` (the model config only), each atomically. `state_dict`
        replaces the model's own, e.g. whole weights gathered from a partitioned (ZeRO-3) model."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights = {name: t.detach().cpu().contiguous() for name, t in (state_dict or self.state_dict()).items()}
        _write_atomically(directory / WEIGHTS_NAME, lambda path: save_file(weights, path, metadata={"format": "pt"}))
        config_text = json.dumps(self.config.to_dict(), indent=2) + "\n"
        _write_atomically(directory / CONFIG_NAME, lambda path: Path(path).write_text(config_text))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike):
        """Load what `save_pretrained` wrote (safetensors only: nothing is unpickled); every weight must match."""
        directory = Path(directory)
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (directory / name).is_file():
                raise ConfigError(f"{directory} has no {name}: expected a directory written by save_pretrained")
        try:
            config = cls.config_class.from_dict(json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8")))
        except (ValueError, TypeError) as e:  # not JSON, or a field the config refuses
            raise ConfigError(f"{directory / CONFIG_NAME}: {e}") from None
        model = cls.for_loading(config)
        try:
            missing, unexpected = model.load_state_dict(load_file(directory / WEIGHTS_NAME), strict=False)
        except SafetensorError as e:
            raise ConfigError(f"{directory / WEIGHTS_NAME}: not a readable safetensors file ({e})") from None
        except RuntimeError as e:  # shape mismatches; the message spans many lines
            raise ConfigError(f"{directory / WEIGHTS_NAME} does not fit {cls.__name__} with its config.json: "
                              f"{' '.join(str(e).split())[:300]}") from None
        if missing or unexpected:
            raise ConfigError(f"{directory / WEIGHTS_NAME} does not fit {cls.__name__} with its config.json: "
                              f"missing {missing[:5]}, unexpected {unexpected[:5]}")
        return model

    @classmethod
    def for_loading(cls, config: SavedConfig):
        """An instance of `config` whose weights are about to be loaded."""
        return cls(config)


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(str(tmp))
    os.replace(tmp, path)


class EncoderOutput(NamedTuple):
    sequence_output: torch.Tensor  # (B, T, H)
    pooled_output: torch.Tensor | None  # (B, H) tanh(dense([CLS])), (B, P, H) for packed rows, None without pooler


class AlbaModel(AlbaPreTrainedModel):
    """Embeddings + encoder (+ pooler): the body that pretraining and fine-tuning heads sit on."""

    def __init__(self, config: ModelConfig, add_pooler: bool = True):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config) if add_pooler else None
        self.init_weights()

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                pack_ids: torch.Tensor | None = None, cls_positions: torch.Tensor | None = None) -> EncoderOutput:
        """Packed rows (several pairs per row, see data_pipeline/packing.py) also pass `position_ids`, `pack_ids`
        and `cls_positions` (B, P), the [CLS] of each pair, which the pooler reads."""
        for name, value in (("attention_mask", attention_mask), ("pack_ids", pack_ids)):
            if value is not None and value.shape != input_ids.shape:
                raise ValueError(f"{name} shape {tuple(value.shape)} differs from input_ids shape "
                                 f"{tuple(input_ids.shape)}")
        if (pack_ids is None) != (cls_positions is None):
            raise ValueError("packed rows need both pack_ids and cls_positions")
        sequence = self.encoder(self.embeddings(input_ids, token_type_ids, position_ids), attention_mask, pack_ids)
        pooled = self.pooler(sequence, cls_positions) if self.pooler is not None else None
        return EncoderOutput(sequence, pooled)

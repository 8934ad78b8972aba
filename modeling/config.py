"""The model configuration: one validated dataclass, and the named presets of the BERT and ALBERT papers."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """An invalid model option; the message is one line that names the field and what it accepts."""


ACTIVATIONS = ("gelu", "gelu_new", "relu")
SHARING_MODES = ("none", "all", "attention", "ffn")
SENTENCE_HEADS = ("sop", "nsp", "none")
UNPAD_MODES = ("auto", "always", "jagged", "never")


class SavedConfig:
    """Base of every model config (a dataclass): the dict that `save_pretrained` writes to config.json and reads
    back, with unknown keys refused by name."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ConfigError(f"unknown model config field(s) {', '.join(unknown)}; valid fields: "
                              f"{', '.join(cls.field_names())}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ModelConfig(SavedConfig):
    """Architecture of a BERT/ALBERT encoder with its pretraining heads; the defaults are ALBERT-base."""

    vocab_size: int = 30000
    embedding_size: int = 128  # E; a dense E->H projection follows the embeddings when E != hidden_size
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu_new"  # "gelu": erf form (BERT); "gelu_new": tanh approximation (ALBERT)
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    sharing: str = "all"  # which sub-layers are shared across layers: "none", "all", "attention", "ffn"
    num_hidden_groups: int = 1  # shared sub-layers come in this many groups; layer i uses group i*N//L
    inner_group_num: int = 1  # ALBERT: each group holds this many different layers, all run wherever it is used
    embedding_projection: bool | None = None  # the E -> H projection; None: exactly when embedding_size != hidden
    sentence_head: str = "sop"  # "sop" (ALBERT), "nsp" (BERT) or "none"
    pad_token_id: int = 0
    # Implementation options: they change speed, memory or checking, never what the model computes.
    gradient_checkpointing: bool = False  # recompute each layer's activations in backward instead of storing them
    compile_layers: bool = False  # torch.compile every attention and feed-forward block (in place: same weights)
    # Padded batches skip their padding: "auto" (training batches where padding is a large share), "always",
    # "never"; "jagged" is "always" with the nested-tensor attention core (CUDA's choice) on any device.
    unpad: str = "auto"
    debug_checks: bool = False  # range-check token/segment ids in every forward off CPU too (costs a device sync)

    def __post_init__(self):
        for name in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_hidden_groups",
                     "inner_group_num"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigError(f"{name}={value!r} must be a positive integer")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(f"hidden_size={self.hidden_size} must be divisible by "
                              f"num_attention_heads={self.num_attention_heads}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not _is_real(value) or not 0.0 <= value < 1.0:
                raise ConfigError(f"{name}={value!r} must be a probability in [0, 1)")
        for name in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, name)
            if not _is_real(value) or value <= 0:
                raise ConfigError(f"{name}={value!r} must be a positive number")
        for name, allowed in (("hidden_act", ACTIVATIONS), ("sharing", SHARING_MODES),
                              ("sentence_head", SENTENCE_HEADS), ("unpad", UNPAD_MODES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be one of {', '.join(map(repr, allowed))}")
        if self.num_hidden_groups > self.num_hidden_layers:
            raise ConfigError(f"num_hidden_groups={self.num_hidden_groups} must be in [1, num_hidden_layers="
                              f"{self.num_hidden_layers}]")
        if self.sharing == "none" and self.num_hidden_groups != 1:
            raise ConfigError(f"num_hidden_groups={self.num_hidden_groups} must be 1 when sharing='none' "
                              "(groups only apply to shared sub-layers)")
        if self.inner_group_num > 1 and self.sharing != "all":
            raise ConfigError(f"inner_group_num={self.inner_group_num} needs sharing='all' (ALBERT's layer groups)")
        if self.embedding_projection not in (None, True, False):
            raise ConfigError(f"embedding_projection={self.embedding_projection!r} must be true, false or null")
        if self.embedding_projection is False and self.embedding_size != self.hidden_size:
            raise ConfigError(f"embedding_size={self.embedding_size} != hidden_size={self.hidden_size} needs the "
                              "embedding projection")
        for name in ("gradient_checkpointing", "compile_layers", "debug_checks"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}={getattr(self, name)!r} must be true or false")
        if not _is_int(self.pad_token_id) or not 0 <= self.pad_token_id < self.vocab_size:
            raise ConfigError(f"pad_token_id={self.pad_token_id!r} must be in [0, vocab_size={self.vocab_size})")

    @property
    def projects_embeddings(self) -> bool:
        return self.embedding_projection if self.embedding_projection is not None else (
            self.embedding_size != self.hidden_size)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> ModelConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown model preset {name!r}; presets: {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# BERT: E == H, no sharing, erf GELU, dropout 0.1, NSP. Heads = H/64, FFN = 4H (REFERENCE.md §1).
_BERT = dict(vocab_size=30522, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
             max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, layer_norm_eps=1e-12,
             sharing="none", num_hidden_groups=1, inner_group_num=1, embedding_projection=None, sentence_head="nsp",
             pad_token_id=0, gradient_checkpointing=False, compile_layers=False, unpad="auto",
             debug_checks=False)
# ALBERT: E = 128, all layers shared, tanh GELU, dropout 0, SOP (REFERENCE.md §3).
_ALBERT = dict(_BERT, vocab_size=30000, embedding_size=128, hidden_act="gelu_new", hidden_dropout_prob=0.0,
               attention_probs_dropout_prob=0.0, sharing="all", sentence_head="sop")


def _bert(layers: int, hidden: int) -> dict[str, Any]:
    return dict(_BERT, embedding_size=hidden, hidden_size=hidden, num_hidden_layers=layers,
                num_attention_heads=hidden // 64, intermediate_size=4 * hidden)


def _albert(layers: int, hidden: int, ffn: int | None = None, heads: int | None = None, **extra) -> dict[str, Any]:
    return dict(_ALBERT, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads or hidden // 64,
                intermediate_size=ffn or 4 * hidden, **extra)


PRESETS: dict[str, dict[str, Any]] = {
    "bert-tiny": _bert(2, 128),
    "bert-mini": _bert(4, 256),
    "bert-small": _bert(4, 512),
    "bert-medium": _bert(8, 512),
    "bert-base": _bert(12, 768),
    "bert-large": _bert(24, 1024),
    "albert-base": _albert(12, 768),
    "albert-large": _albert(24, 1024),
    "albert-xlarge": _albert(24, 2048),
    "albert-xxlarge": _albert(12, 4096, ffn=16384),
    # This project's CPU demo run.
    "albert-demo": _albert(4, 128, embedding_size=64),  # ~12k tokens/s on 2 CPU cores at seq 64
    # Fast tests (override vocab_size to the test tokenizer's).
    "albert-test": _albert(2, 64, ffn=128, heads=2, embedding_size=32, max_position_embeddings=128),
}

"""Build an alba model from a Hugging Face `transformers` ALBERT or BERT model, with an explicit name mapping.

Accepted: `AlbertForPreTraining` / `BertForPreTraining` (sentence head SOP / NSP) and `AlbertForMaskedLM` /
`BertForMaskedLM` (no sentence head), or their config plus state dict. Only the config's attributes and the state
dict's names are read, so `transformers` itself is never imported. Anything alba cannot represent is refused with a
ConfigError; every Hugging Face weight must find a place and every alba weight must be filled.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from .config import ACTIVATIONS, ConfigError, ModelConfig
from .pretraining import AlbaForPreTraining

# The tied decoder appears in Hugging Face's state dicts next to the tensors it is tied to: checked, not copied.
_HF_TIED = {"albert": {"predictions.decoder.weight": "albert.embeddings.word_embeddings.weight",
                       "predictions.decoder.bias": "predictions.bias"},
            "bert": {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
                     "cls.predictions.decoder.bias": "cls.predictions.bias"}}
_HF_SENTENCE_HEAD = {"albert": ("sop", "sop_classifier.classifier"), "bert": ("nsp", "cls.seq_relationship")}


def from_hf(source: Any, state_dict: Mapping[str, torch.Tensor] | None = None) -> AlbaForPreTraining:
    """`source`: a transformers model, or its config when `state_dict` is given."""
    if state_dict is None:
        hf_config, state_dict = source.config, source.state_dict()
    else:
        hf_config = source
    config = config_from_hf(hf_config, state_dict)
    model = AlbaForPreTraining(config)
    model.load_state_dict(convert_state_dict(hf_config.model_type, model.state_dict().keys(), state_dict,
                                             config.inner_group_num))
    return model


def config_from_hf(hf_config: Any, state_dict: Mapping[str, torch.Tensor]) -> ModelConfig:
    """Map the config; the state dict tells whether a sentence head is present."""
    kind = getattr(hf_config, "model_type", None)
    if kind not in _HF_TIED:
        raise ConfigError(f"model_type={kind!r} must be 'albert' or 'bert'")
    get = lambda name, default=None: getattr(hf_config, name, default)  # noqa: E731
    if get("hidden_act") not in ACTIVATIONS:
        raise ConfigError(f"hidden_act={get('hidden_act')!r} must be one of {', '.join(map(repr, ACTIVATIONS))}")
    for name, supported in (("position_embedding_type", "absolute"), ("is_decoder", False),
                            ("add_cross_attention", False), ("tie_word_embeddings", True)):
        if get(name, supported) != supported:
            raise ConfigError(f"{name}={get(name)!r} is not supported; alba needs {supported!r}")
    layers = get("num_hidden_layers")
    if kind == "albert":
        groups = get("num_hidden_groups")
        if not groups_agree(layers, groups):
            raise ConfigError(f"num_hidden_groups={groups} with num_hidden_layers={layers} groups layers differently "
                              "in transformers (float division); alba needs the two to agree")
        # transformers' ALBERT always has its E -> H projection, also where E == H.
        shape = dict(embedding_size=get("embedding_size"), sharing="all", num_hidden_groups=groups,
                     inner_group_num=get("inner_group_num", 1), embedding_projection=True)
    else:
        shape = dict(embedding_size=get("hidden_size"), sharing="none", num_hidden_groups=1)
    head, head_module = _HF_SENTENCE_HEAD[kind]
    return ModelConfig(
        vocab_size=get("vocab_size"), hidden_size=get("hidden_size"), num_hidden_layers=layers,
        num_attention_heads=get("num_attention_heads"), intermediate_size=get("intermediate_size"),
        hidden_act=get("hidden_act"), hidden_dropout_prob=get("hidden_dropout_prob"),
        attention_probs_dropout_prob=get("attention_probs_dropout_prob"),
        max_position_embeddings=get("max_position_embeddings"), type_vocab_size=get("type_vocab_size"),
        initializer_range=get("initializer_range"), layer_norm_eps=get("layer_norm_eps"),
        sentence_head=head if f"{head_module}.weight" in state_dict else "none",
        pad_token_id=get("pad_token_id") if get("pad_token_id") is not None else 0, **shape)


def groups_agree(layers: int, groups: int) -> bool:
    """transformers picks layer i's ALBERT group with float division, alba with i*N//L: true where they agree (they
    differ in rare cases such as 18 layers in 14 groups)."""
    return [int(i / (layers / groups)) for i in range(layers)] == [i * groups // layers for i in range(layers)]


def convert_state_dict(kind: str, alba_keys, state_dict: Mapping[str, torch.Tensor],
                       inner_group_num: int = 1) -> dict[str, torch.Tensor]:
    """Rename a Hugging Face state dict of model type `kind` to the alba parameter names `alba_keys`."""
    modules = module_map(kind, inner_group_num)
    converted, used = {}, set()
    for key in alba_keys:
        module, leaf = key.rsplit(".", 1)
        hf_key = f"{modules(module)}.{leaf}"
        if hf_key not in state_dict:
            raise ValueError(f"the transformers state dict has no {hf_key!r} (for alba's {key!r})")
        converted[key] = state_dict[hf_key]
        used.add(hf_key)
    for tied, source in _HF_TIED[kind].items():
        if tied in state_dict:
            if not torch.equal(state_dict[tied], state_dict[source]):
                raise ValueError(f"{tied!r} differs from {source!r}; alba always ties them")
            used.add(tied)
    # Non-persistent buffers that older checkpoints still carry.
    unused = sorted(k for k in set(state_dict) - used if not k.endswith(("position_ids", "token_type_ids")))
    if unused:
        raise ValueError(f"transformers weights alba has no place for: {', '.join(unused)}")
    return converted


def module_map(kind: str, inner_group_num: int = 1):
    """alba module name -> transformers module name, for one model type (ALBERT: with this many layers a group)."""
    p = kind + "."
    fixed = {"alba.embeddings.word_embeddings": p + "embeddings.word_embeddings",
             "alba.embeddings.position_embeddings": p + "embeddings.position_embeddings",
             "alba.embeddings.token_type_embeddings": p + "embeddings.token_type_embeddings",
             "alba.embeddings.layer_norm": p + "embeddings.LayerNorm"}
    if kind == "albert":
        fixed.update({"alba.embeddings.projection": "albert.encoder.embedding_hidden_mapping_in",
                      "alba.pooler.dense": "albert.pooler",
                      "mlm_head": "predictions", "mlm_head.dense": "predictions.dense",
                      "mlm_head.layer_norm": "predictions.LayerNorm",
                      "sentence_classifier": "sop_classifier.classifier"})
        # alba's block b is layer b % K of ALBERT group b // K (K = inner_group_num).
        layer = "albert.encoder.albert_layer_groups.{}.albert_layers.{}."
        per_layer = {"attention.{}.query": "attention.query", "attention.{}.key": "attention.key",
                     "attention.{}.value": "attention.value", "attention.{}.output": "attention.dense",
                     "attention.{}.layer_norm": "attention.LayerNorm", "ffn.{}.intermediate": "ffn",
                     "ffn.{}.output": "ffn_output", "ffn.{}.layer_norm": "full_layer_layer_norm"}
    else:
        fixed.update({"alba.pooler.dense": "bert.pooler.dense",
                      "mlm_head": "cls.predictions", "mlm_head.dense": "cls.predictions.transform.dense",
                      "mlm_head.layer_norm": "cls.predictions.transform.LayerNorm",
                      "sentence_classifier": "cls.seq_relationship"})
        layer = "bert.encoder.layer.{}.{}"
        per_layer = {"attention.{}.query": "attention.self.query", "attention.{}.key": "attention.self.key",
                     "attention.{}.value": "attention.self.value", "attention.{}.output": "attention.output.dense",
                     "attention.{}.layer_norm": "attention.output.LayerNorm",
                     "ffn.{}.intermediate": "intermediate.dense", "ffn.{}.output": "output.dense",
                     "ffn.{}.layer_norm": "output.LayerNorm"}

    def lookup(module: str) -> str:
        if module in fixed:
            return fixed[module]
        # "alba.encoder.attention.3.query" -> pattern "attention.{}.query", index 3
        block, index, rest = module.removeprefix("alba.encoder.").split(".", 2)
        where = divmod(int(index), inner_group_num) if kind == "albert" else (index, "")
        return layer.format(*where) + per_layer[f"{block}.{{}}.{rest}"]

    return lookup

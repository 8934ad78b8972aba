"""Write an alba pretraining model as a Hugging Face `transformers` directory (config.json, model.safetensors and the
tokenizer files) that `AutoModelForPreTraining.from_pretrained` loads without alba installed.

The family follows the structure, not the preset's name:
- every layer its own weights and E == H: BERT (`BertForPreTraining`);
- whole layers shared in N groups (N = 1 is ALBERT itself) of K layers each (ALBERT's inner_group_num), or
  unshared layers with an embedding projection (ALBERT with one group per layer): ALBERT (`AlbertForPreTraining`);
  where alba has no projection (E == H), the identity is written as ALBERT's.
The sentence head (NSP or SOP: both a 2-way linear classifier on the pooled [CLS]) becomes that family's classifier;
a model without one is written as `BertForMaskedLM` / `AlbertForMaskedLM`. Anything else is refused with a ConfigError
before a file is written; `transformers` itself is never imported.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .config import ConfigError
from .hf_import import groups_agree, module_map
from .pretraining import AlbaForPreTraining

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def to_hf(model_or_dir: AlbaForPreTraining | str | os.PathLike, out_dir: str | os.PathLike,
          tokenizer: str | os.PathLike | None = None) -> str:
    """Export to `out_dir` (which must not exist or be empty); returns the transformers class name written.

    `tokenizer`: a directory holding tokenizer.json (its tokenizer_config.json and special_tokens_map.json are copied
    too) or the tokenizer.json file; by default the model directory's own tokenizer.json, if it has one.
    """
    if isinstance(model_or_dir, AlbaForPreTraining):
        model = model_or_dir
    else:
        model_dir = Path(model_or_dir)
        model = AlbaForPreTraining.from_pretrained(model_dir)
        if tokenizer is None and (model_dir / "tokenizer.json").is_file():
            tokenizer = model_dir
    kind = hf_family(model)
    hf_config = hf_config_dict(model, kind)
    weights = hf_state_dict(model, kind)
    tokenizer_files = _tokenizer_files(tokenizer, model.config.vocab_size) if tokenizer is not None else []

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"output directory {out} already exists and is not empty; choose a new one")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written next to the target and renamed into place, so a failure leaves no half-written export.
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)  # left by an interrupted export
    tmp.mkdir()
    try:
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf_config, indent=2) + "\n", encoding="utf-8")
        copy_tokenizer(tokenizer_files, tmp, model.config.max_position_embeddings)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return hf_config["architectures"][0]


def hf_family(model: AlbaForPreTraining) -> str:
    """'bert' or 'albert', whichever represents this model exactly; ConfigError when neither does."""
    config, encoder = model.config, model.alba.encoder
    if encoder.attention_index != encoder.ffn_index:
        raise ConfigError(f"sharing={config.sharing!r} (num_hidden_groups={config.num_hidden_groups}) shares "
                          "attention and feed-forward blocks differently, which transformers cannot express: BERT "
                          "shares nothing and ALBERT shares whole layers")
    unshared = encoder.attention_index == tuple(range(config.num_hidden_layers))
    if unshared and not config.projects_embeddings:
        return "bert"
    groups = len(encoder.attention) // config.inner_group_num
    if not groups_agree(config.num_hidden_layers, groups):
        raise ConfigError(f"num_hidden_groups={groups} with num_hidden_layers={config.num_hidden_layers} groups "
                          "layers differently in transformers (float division) than in alba")
    return "albert"


def hf_config_dict(model: AlbaForPreTraining, kind: str) -> dict[str, Any]:
    config = model.config
    head = "ForPreTraining" if config.sentence_head != "none" else "ForMaskedLM"
    common = dict(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads, intermediate_size=config.intermediate_size,
        hidden_act=config.hidden_act, hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        max_position_embeddings=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
        initializer_range=config.initializer_range, layer_norm_eps=config.layer_norm_eps,
        pad_token_id=config.pad_token_id, tie_word_embeddings=True,
        dtype=str(model.alba.embeddings.word_embeddings.weight.dtype).removeprefix("torch."))
    if kind == "bert":
        return dict(model_type="bert", architectures=[f"Bert{head}"], position_embedding_type="absolute", **common)
    # alba's sentence classifier has no dropout of its own; ALBERT's SOP head would add classifier_dropout_prob.
    return dict(model_type="albert", architectures=[f"Albert{head}"], embedding_size=config.embedding_size,
                num_hidden_groups=len(model.alba.encoder.attention) // config.inner_group_num,
                inner_group_num=config.inner_group_num, classifier_dropout_prob=0.0, **common)


def hf_state_dict(model: AlbaForPreTraining, kind: str) -> dict:
    """alba's weights under transformers' names; the tied decoder is left for transformers to tie on load."""
    modules = module_map(kind, model.config.inner_group_num)
    weights = {}
    for key, tensor in model.state_dict().items():
        module, leaf = key.rsplit(".", 1)
        weights[f"{modules(module)}.{leaf}"] = tensor.detach().cpu().contiguous()
    if kind == "albert" and model.alba.embeddings.projection is None:
        # transformers' ALBERT always projects E -> H; alba omits the projection when E == H: write the identity.
        like = model.alba.embeddings.word_embeddings.weight
        weights["albert.encoder.embedding_hidden_mapping_in.weight"] = torch.eye(like.shape[1], dtype=like.dtype)
        weights["albert.encoder.embedding_hidden_mapping_in.bias"] = torch.zeros(like.shape[1], dtype=like.dtype)
    return weights


def copy_tokenizer(files: list[Path], out: Path, max_length: int) -> None:
    """Copy a tokenizer's files into `out` with `model_max_length` in its tokenizer_config.json (the model's
    max_position_embeddings), so that transformers' `truncation=True` and pipelines cut what the model cannot hold."""
    if not files:
        return
    for file in files:
        shutil.copyfile(file, out / file.name)
    config_file = out / "tokenizer_config.json"
    config = (json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file()
              else {"tokenizer_class": "PreTrainedTokenizerFast"})
    config["model_max_length"] = max_length
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _tokenizer_files(path: str | os.PathLike, vocab_size: int) -> list[Path]:
    path = Path(path)
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ConfigError(f"no tokenizer at {path}: expected a directory with tokenizer.json or the file itself")
    from tokenizers import Tokenizer
    try:
        size = Tokenizer.from_file(str(file)).get_vocab_size()
    except Exception as e:  # the Rust side raises a bare Exception on malformed JSON
        raise ConfigError(f"{file}: not a tokenizers JSON file ({str(e).splitlines()[0]})") from None
    if size > vocab_size:
        raise ConfigError(f"{file} has {size} tokens but the model's vocab_size is {vocab_size}")
    return [file] + [file.with_name(name) for name in TOKENIZER_FILES[1:] if file.with_name(name).is_file()]

"""`alba finetune export`: a model fine-tuned here as a transformers Bert/Albert*For* directory."""
from __future__ import annotations

import json
from pathlib import Path

from modeling.task_heads import HEAD_NAME, TASK_MODELS, export_to_transformers
from pretrain.config import ConfigError
from pretrain.model_card import finetuning_facts, write_model_card


def export(model: str, out: str):
    """Write a model fine-tuned here (e.g. OUTPUT/best) as a transformers Bert/Albert*For* directory with its tokenizer.

    Args:
        model: the fine-tuned model's directory (holding head.json)
        out: the directory to write (must not exist or be empty)
    """
    head_file = Path(model) / HEAD_NAME
    if not head_file.is_file():
        raise ConfigError(f"{model} holds no {HEAD_NAME}: not a model fine-tuned with alba")
    kind = json.loads(head_file.read_text(encoding="utf-8")).get("head")
    if kind not in TASK_MODELS:
        raise ConfigError(f"{head_file}: unknown head {kind!r}; known: {', '.join(TASK_MODELS)}")
    name = export_to_transformers(TASK_MODELS[kind].from_pretrained(model), out, tokenizer_dir=model)
    suffix = name.removeprefix("Bert").removeprefix("Albert")
    write_model_card(Path(out), f"{name} fine-tuned with alba", finetuning_facts(Path(model).resolve().parent),
                     f"AutoModel{suffix}")
    print(f"wrote {name} to {out}")

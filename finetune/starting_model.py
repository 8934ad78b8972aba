"""Where a fine-tuning run starts: the model with its head and the tokenizer that belongs to it.

`--model` may be an alba pretraining run directory, a directory fine-tuned here (head.json), a `transformers`
BERT/ALBERT directory, or a model preset name (random initialisation, and a WordPiece tokenizer trained on the task's
training text: the no-pretraining reference point). With `from_scratch`, a directory's model keeps its architecture
and tokenizer but not its weights."""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from data_pipeline import DataError, load_tokenizer, save_tokenizer, train_tokenizer
from modeling import PRESETS, ModelConfig
from modeling.task_heads import HEAD_NAME
from pretrain.config import ConfigError

# What a transformers directory's tokenizer is made of; copied beside a fine-tuned model so it loads the same way.
_HF_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                       "spiece.model")


@dataclass
class StartingModel:
    model: object
    tokenizer: Tokenizer
    source: str  # "preset", "alba-pretraining", "alba-finetuned" or "transformers"
    path: Path | None

    def save_tokenizer(self, directory: Path) -> None:
        if self.source == "transformers":
            for name in _HF_TOKENIZER_FILES:
                if (self.path / name).is_file():
                    shutil.copy(self.path / name, directory / name)
        else:
            # A copy without the truncation set for this run, so the saved tokenizer is the one that was loaded.
            clean = Tokenizer.from_str(self.tokenizer.to_str())
            clean.no_truncation()
            save_tokenizer(clean, directory)


def load_starting_model(cfg, model_cls, head_options: dict, train_texts) -> StartingModel:
    """`train_texts`: a callable giving the training sentences, only called when a tokenizer must be trained."""
    if cfg.model in PRESETS:
        tokenizer = train_tokenizer([list(train_texts())], vocab_size=cfg.vocab_size, kind="wordpiece",
                                    progress=False)
        config = ModelConfig.from_preset(cfg.model, **{"vocab_size": tokenizer.get_vocab_size(),
                                                       **cfg.model_overrides})
        started = StartingModel(model_cls(config, **head_options), tokenizer, "preset", None)
    else:
        path = Path(cfg.model)  # a directory holding config.json (FinetuneConfig checked it)
        if cfg.model_overrides:
            raise ConfigError("--model_overrides applies to a preset only; a saved model keeps its architecture")
        if (path / HEAD_NAME).is_file():
            model = model_cls.from_pretrained(path)
            for name, value in head_options.items():
                if name not in ("classifier_dropout", "label_names") and model.head_options.get(name) != value:
                    raise ConfigError(f"{path} was fine-tuned with {name}={model.head_options.get(name)}; this task "
                                      f"needs {value}")
            if "label_names" in head_options:  # this task's meaning of the classes
                model.head_options["label_names"] = head_options["label_names"]
            started = StartingModel(model, load_tokenizer(path), "alba-finetuned", path)
        elif "model_type" in json.loads((path / "config.json").read_text(encoding="utf-8")):
            if not (path / "tokenizer.json").is_file():
                raise ConfigError(f"{path} holds no tokenizer.json (the fast tokenizer file); save the tokenizer "
                                  "with transformers' AutoTokenizer.save_pretrained first")
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
            started = StartingModel(model_cls.from_transformers(path, **head_options), tokenizer, "transformers", path)
        else:
            started = StartingModel(model_cls.from_pretraining(path, **head_options), load_tokenizer(path),
                                    "alba-pretraining", path)
    if cfg.from_scratch and started.source != "preset":
        started.model = model_cls(started.model.config, **head_options)
        started.source += ", re-initialised"
    tokens, vocab = started.tokenizer.get_vocab_size(), started.model.config.vocab_size
    if tokens > vocab:
        raise DataError(f"the tokenizer of {cfg.model} has {tokens} tokens but the model's vocabulary has only "
                        f"{vocab}: they do not belong together")
    if cfg.max_seq_length > started.model.config.max_position_embeddings:
        raise ConfigError(f"--max_seq_length {cfg.max_seq_length} exceeds the model's max_position_embeddings "
                          f"{started.model.config.max_position_embeddings}")
    started.tokenizer.no_padding()
    started.tokenizer.enable_truncation(cfg.max_seq_length, strategy="longest_first")
    return started

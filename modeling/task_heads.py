"""Fine-tuning heads on the alba encoder: sequence classification/regression, span extraction (QA), multiple choice
and token classification. Each head's modules carry the names `transformers` gives them (`classifier`,
`qa_outputs`), so weights map one-to-one to and from Bert/Albert*For* models.

Outputs follow the engine's contract (pretrain/engine.py): `loss`, one `<part>_loss` and, where a prediction can be
right or wrong, `<part>_correct`/`<part>_total` counts summed over the batch.

A task model starts from an alba pretraining directory (`from_pretraining`: its encoder and pooler weights; the head
is freshly initialised), from a `transformers` BERT/ALBERT directory or state dict (`from_transformers`,
`from_hf_state`: a head of the same kind there is loaded too), or from a directory it saved itself
(`from_pretrained`, which also reads the head options from `head.json`).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from .config import ConfigError, ModelConfig
from .hf_import import config_from_hf, convert_state_dict
from .model import CONFIG_NAME, WEIGHTS_NAME, AlbaModel, AlbaPreTrainedModel
from .pretraining import IGNORE_INDEX

HEAD_NAME = "head.json"
_HF_PREFIX = {"bert": "bert.", "albert": "albert."}
# Pretraining heads of a transformers checkpoint that a fine-tuning model has no use for.
_HF_PRETRAINING_HEADS = ("cls.", "predictions.", "sop_classifier.")


@dataclass
class ClassificationOutput:
    loss: torch.Tensor | None
    logits: torch.Tensor  # (B, num_labels); (B,) scores for regression (num_labels == 1)
    label_loss: torch.Tensor | None
    label_correct: torch.Tensor | None  # None for regression
    label_total: torch.Tensor | None


@dataclass
class SpanOutput:
    loss: torch.Tensor | None
    start_logits: torch.Tensor  # (B, T)
    end_logits: torch.Tensor
    span_loss: torch.Tensor | None
    span_correct: torch.Tensor | None  # start and end both right
    span_total: torch.Tensor | None


class _TaskModel(AlbaPreTrainedModel):
    """Encoder + one head; `head_options` (e.g. num_labels) are saved beside the weights in head.json."""

    kind = ""
    uses_pooler = True

    def __init__(self, config: ModelConfig, classifier_dropout: float = 0.1, **head_options):
        super().__init__(config)
        if not 0.0 <= classifier_dropout < 1.0:
            raise ConfigError(f"classifier_dropout={classifier_dropout!r} must be a probability in [0, 1)")
        self.head_options = {"classifier_dropout": classifier_dropout, **head_options}
        self.alba = AlbaModel(config, add_pooler=self.uses_pooler)
        self.dropout = nn.Dropout(classifier_dropout)

    def _encode(self, input_ids, token_type_ids, attention_mask):
        return self.alba(input_ids, token_type_ids, attention_mask)

    # -- saving and loading
    def save_pretrained(self, directory: str | os.PathLike, state_dict: dict | None = None) -> None:
        super().save_pretrained(directory, state_dict)
        text = json.dumps({"head": self.kind, **self.head_options}, indent=2) + "\n"
        tmp = Path(directory) / (HEAD_NAME + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, Path(directory) / HEAD_NAME)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike):
        directory = Path(directory)
        head_file = directory / HEAD_NAME
        if not head_file.is_file():
            raise ConfigError(f"{directory} holds no {HEAD_NAME}: not a fine-tuned alba model (use "
                              f"from_pretraining for a pretraining run, from_transformers for a transformers model)")
        options = json.loads(head_file.read_text(encoding="utf-8"))
        if options.pop("head", None) != cls.kind:
            raise ConfigError(f"{head_file} is a {options.get('head')!r} head, not {cls.kind!r}")
        model = cls(ModelConfig.from_dict(json.loads((directory / CONFIG_NAME).read_text())), **options)
        model.load_state_dict(load_file(directory / WEIGHTS_NAME))
        return model

    @classmethod
    def from_pretraining(cls, directory: str | os.PathLike, **head_options):
        """Start from what alba pretraining wrote (config.json + model.safetensors of AlbaForPreTraining)."""
        directory = Path(directory)
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (directory / name).is_file():
                raise ConfigError(f"{directory} holds no {name}: not an alba pretraining directory")
        config = ModelConfig.from_dict(json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8")))
        weights = load_file(directory / WEIGHTS_NAME)
        model = cls(config, **head_options)
        body = {k: v for k, v in weights.items() if k.startswith("alba.")}
        own = model.state_dict()
        # A model pretrained without a sentence head has no pooler: that one layer starts fresh, as in transformers.
        expected = {k for k in own if k.startswith("alba.") and not (k.startswith("alba.pooler.")
                                                                       and not any(b.startswith("alba.pooler.")
                                                                                   for b in body))}
        if set(body) != expected:
            raise ConfigError(f"{directory / WEIGHTS_NAME} does not match its config: missing "
                              f"{sorted(expected - set(body))[:3]}, unexpected {sorted(set(body) - expected)[:3]}")
        model.load_state_dict(body, strict=False)
        return model

    @classmethod
    def from_transformers(cls, directory: str | os.PathLike, **head_options):
        """Start from a `transformers` BERT/ALBERT directory (config.json + model.safetensors; pickled weights are
        refused). Any such model works (base, pretraining, or with a head of this kind, which is then kept)."""
        directory = Path(directory)
        config_file, weights_file = directory / "config.json", directory / "model.safetensors"
        if not config_file.is_file():
            raise ConfigError(f"{directory} holds no config.json: not a transformers model directory")
        if not weights_file.is_file():
            raise ConfigError(f"{directory} holds no model.safetensors (pickled pytorch_model.bin is not loaded: "
                              "re-save it with safe_serialization=True)")
        hf_config = SimpleNamespace(**json.loads(config_file.read_text(encoding="utf-8")))
        return cls.from_hf_state(hf_config, load_file(weights_file), **head_options)

    @classmethod
    def from_hf_state(cls, hf_config: Any, state_dict: Mapping[str, torch.Tensor], **head_options):
        """`hf_config`: a transformers config (or anything with its attributes); `state_dict`: its model's."""
        kind = getattr(hf_config, "model_type", None)
        if kind not in _HF_PREFIX:
            raise ConfigError(f"model_type={kind!r} must be 'albert' or 'bert'")
        prefix = _HF_PREFIX[kind]
        # A bare BertModel/AlbertModel saves its weights without the prefix.
        if not any(k.startswith(prefix) for k in state_dict):
            state_dict = {prefix + k: v for k, v in state_dict.items()}
        body = {k: v for k, v in state_dict.items() if k.startswith(prefix)}
        head = {k: v for k, v in state_dict.items() if not k.startswith(prefix)
                and not k.startswith(_HF_PRETRAINING_HEADS)}
        config = config_from_hf(hf_config, {})
        model = cls(config, **head_options)
        has_pooler = any(".pooler" in k for k in body)
        keys = [k for k in model.state_dict() if k.startswith("alba.")
                and (has_pooler or not k.startswith("alba.pooler."))]
        weights = convert_state_dict(kind, keys, body, config.inner_group_num)
        own_head = {k for k in model.state_dict() if not k.startswith("alba.")}
        if head:
            if set(head) != own_head:
                raise ConfigError(f"the transformers model has head weights {sorted(head)}; a {cls.kind} head "
                                  f"needs {sorted(own_head)}")
            for k, v in head.items():
                if v.shape != model.state_dict()[k].shape:
                    raise ConfigError(f"the transformers head weight {k} has shape {tuple(v.shape)}; this "
                                      f"{cls.kind} head needs {tuple(model.state_dict()[k].shape)} (check num_labels)")
            weights.update(head)
        model.load_state_dict(weights, strict=False)
        return model


class AlbaForSequenceClassification(_TaskModel):
    """Pooled [CLS] -> dropout -> linear: `num_labels` classes, or one score trained with MSE when num_labels == 1
    (STS-B), as transformers' Bert/AlbertForSequenceClassification."""

    kind = "sequence_classification"

    def __init__(self, config: ModelConfig, num_labels: int = 2, classifier_dropout: float = 0.1,
                 label_names: list[str] | None = None):
        """`label_names`: what each class means (kept in head.json and written as id2label on export)."""
        if not isinstance(num_labels, int) or num_labels < 1:
            raise ConfigError(f"num_labels={num_labels!r} must be a positive integer")
        if label_names is not None and len(label_names) != num_labels:
            raise ConfigError(f"{len(label_names)} label_names for num_labels={num_labels}")
        names = {"label_names": list(label_names)} if label_names else {}
        super().__init__(config, classifier_dropout, num_labels=num_labels, **names)
        self.num_labels = num_labels
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights(self.classifier)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None) -> ClassificationOutput:
        _, pooled = self._encode(input_ids, token_type_ids, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        if self.num_labels == 1:
            logits = logits.squeeze(-1)
        loss = correct = total = None
        if labels is not None:
            total = torch.tensor(labels.numel(), device=labels.device)
            if self.num_labels == 1:
                loss = F.mse_loss(logits.float(), labels.float())
            else:
                loss = F.cross_entropy(logits.float(), labels)
                with torch.no_grad():
                    correct = (logits.argmax(-1) == labels).sum()
        return ClassificationOutput(loss, logits, loss, correct, total)


class AlbaForMultipleChoice(_TaskModel):
    """One score per choice from its pooled [CLS] (inputs shaped (B, choices, T)), softmax over the choices."""

    kind = "multiple_choice"

    def __init__(self, config: ModelConfig, classifier_dropout: float = 0.1):
        super().__init__(config, classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.init_weights(self.classifier)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None) -> ClassificationOutput:
        B, C, T = input_ids.shape
        flat = lambda x: x.reshape(B * C, T) if x is not None else None  # noqa: E731
        _, pooled = self._encode(flat(input_ids), flat(token_type_ids), flat(attention_mask))
        logits = self.classifier(self.dropout(pooled)).view(B, C)
        loss = correct = total = None
        if labels is not None:
            loss = F.cross_entropy(logits.float(), labels)
            total = torch.tensor(labels.numel(), device=labels.device)
            with torch.no_grad():
                correct = (logits.argmax(-1) == labels).sum()
        return ClassificationOutput(loss, logits, loss, correct, total)


class AlbaForTokenClassification(_TaskModel):
    """Every position's hidden state -> dropout -> linear; labels -100 (padding, word continuations) are skipped."""

    kind = "token_classification"
    uses_pooler = False

    def __init__(self, config: ModelConfig, num_labels: int = 2, classifier_dropout: float = 0.1):
        if not isinstance(num_labels, int) or num_labels < 2:
            raise ConfigError(f"num_labels={num_labels!r} must be an integer >= 2")
        super().__init__(config, classifier_dropout, num_labels=num_labels)
        self.num_labels = num_labels
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights(self.classifier)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None) -> ClassificationOutput:
        sequence, _ = self._encode(input_ids, token_type_ids, attention_mask)
        logits = self.classifier(self.dropout(sequence))
        loss = correct = total = None
        if labels is not None:
            valid = labels != IGNORE_INDEX
            total = valid.sum()
            loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX,
                                   reduction="sum") / total.clamp(min=1)
            with torch.no_grad():
                correct = ((logits.argmax(-1) == labels) & valid).sum()
        return ClassificationOutput(loss, logits, loss, correct, total)


class AlbaForQuestionAnswering(_TaskModel):
    """Start and end logits from every position's hidden state (BERT's S and E vectors as one H -> 2 linear)."""

    kind = "question_answering"
    uses_pooler = False

    def __init__(self, config: ModelConfig, classifier_dropout: float = 0.0):
        super().__init__(config, classifier_dropout)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.init_weights(self.qa_outputs)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, start_positions=None,
                end_positions=None) -> SpanOutput:
        sequence, _ = self._encode(input_ids, token_type_ids, attention_mask)
        start_logits, end_logits = self.qa_outputs(sequence).unbind(-1)
        loss = correct = total = None
        if start_positions is not None and end_positions is not None:
            # Positions outside the window (answer cut off) are ignored, as in transformers.
            T = input_ids.shape[1]
            start, end = start_positions.clamp(0, T), end_positions.clamp(0, T)
            loss = (F.cross_entropy(start_logits.float(), start, ignore_index=T)
                    + F.cross_entropy(end_logits.float(), end, ignore_index=T)) / 2
            total = torch.tensor(start.numel(), device=start.device)
            with torch.no_grad():
                correct = ((start_logits.argmax(-1) == start) & (end_logits.argmax(-1) == end)).sum()
        return SpanOutput(loss, start_logits, end_logits, loss, correct, total)


TASK_MODELS = {m.kind: m for m in (AlbaForSequenceClassification, AlbaForMultipleChoice, AlbaForTokenClassification,
                                   AlbaForQuestionAnswering)}


# transformers class name suffix of each head.
_HF_CLASS = {"sequence_classification": "ForSequenceClassification", "multiple_choice": "ForMultipleChoice",
             "token_classification": "ForTokenClassification", "question_answering": "ForQuestionAnswering"}


def export_to_transformers(model: _TaskModel, out_dir: str | os.PathLike, tokenizer_dir: str | os.PathLike | None = None,
                           label_names: list[str] | None = None) -> str:
    """Write a fine-tuned model as a transformers Bert/Albert*For* directory (config.json, model.safetensors and the
    tokenizer files of `tokenizer_dir`); returns the class name. The encoder goes through the pretraining export's
    mapping, the head keeps its (already transformers) names."""
    import shutil
    from dataclasses import replace

    from safetensors.torch import save_file

    from .hf_export import copy_tokenizer, hf_config_dict, hf_family, hf_state_dict
    from .pretraining import AlbaForPreTraining

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"output directory {out} already exists and is not empty; choose a new one")
    # The encoder (with a pooler) inside a pretraining model, whose export knows the family and the names.
    body = AlbaForPreTraining(replace(model.config, sentence_head="nsp"))
    body.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith("alba.")}, strict=False)
    kind = hf_family(body)
    weights = {k: v for k, v in hf_state_dict(body, kind).items() if not k.startswith(_HF_PRETRAINING_HEADS)}
    if not model.uses_pooler:
        weights = {k: v for k, v in weights.items() if ".pooler" not in k}
    weights.update({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
                    if not k.startswith("alba.")})
    config = hf_config_dict(body, kind)
    name = ("Bert" if kind == "bert" else "Albert") + _HF_CLASS[model.kind]
    config["architectures"] = [name]
    dropout = model.head_options["classifier_dropout"]
    config["classifier_dropout" if kind == "bert" else "classifier_dropout_prob"] = dropout
    num_labels = model.head_options.get("num_labels")
    if num_labels is not None:
        names = label_names or model.head_options.get("label_names") or [f"LABEL_{i}" for i in range(num_labels)]
        config["id2label"] = {str(i): n for i, n in enumerate(names)}
        config["label2id"] = {n: i for i, n in enumerate(names)}
        if model.kind == "sequence_classification":
            config["problem_type"] = "regression" if num_labels == 1 else "single_label_classification"
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    files = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "spiece.model")
    copy_tokenizer([Path(tokenizer_dir) / f for f in files if tokenizer_dir is not None
                    and (Path(tokenizer_dir) / f).is_file()], tmp, model.config.max_position_embeddings)
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return name

"""The run configuration: one typed dataclass, overridable from a JSON/YAML file and from command-line flags.

Every field carries its help text, so `--help` and the error for an unknown key are generated from this one place.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from modeling.config import PRESETS


class ConfigError(ValueError):
    """A bad option or option value; the message is one line meant for the user."""


def option(default, help: str, choices: tuple | None = None, group: str = ""):
    return field(default=default, metadata={"help": help, "choices": choices, "group": group})


# What a phase of multi-phase pretraining may set (BERT: seq 128 for 90% of the steps, then 512).
PHASE_KEYS = ("max_steps", "max_seq_length", "batch_size", "grad_accum_steps", "max_predictions", "lr", "warmup",
              "schedule", "decay_power", "end_lr_ratio", "decay_start")


@dataclass
class RunOptions:
    """Base of a job's config: where it writes, how it resumes, logs and shows progress, and its seed. A subclass
    adds its data/model/train fields, may redeclare a run field to change its default or help, and lists its
    comma-list options in JOINED."""
    NAME: ClassVar[str] = "run"
    JOINED: ClassVar[tuple[str, ...]] = ()
    # Options a resumed run may change: how it is logged and saved, not what it trains.
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = ("overwrite", "resume", "output_dir", "log_every", "save_every",
                                                    "keep_checkpoints", "wandb", "tensorboard", "progress")

    output_dir: str = option("", "where checkpoints, logs and results go (default: runs/<job>-<time>)",
                             group="run")
    overwrite: bool = option(False, "replace a run already in output_dir", group="run")
    resume: bool = option(False, "continue the run in output_dir from its latest checkpoint", group="run")
    log_every: int = option(50, "steps between metric logs", group="run")
    save_every: int = option(500, "steps between checkpoints; one is always written at the end (0: only then)",
                             group="run")
    keep_checkpoints: int = option(2, "how many recent checkpoints to keep", group="run")
    wandb: str = option("auto", "Weights & Biases: 'auto' (online with an API key, else offline), 'online', "
                        "'offline' or 'disabled'", ("auto", "online", "offline", "disabled"), "run")
    wandb_project: str = option("alba", "W&B project name", group="run")
    tensorboard: bool = option(False, "also write the metrics as TensorBoard events to OUTPUT/tensorboard "
                               "(`tensorboard --logdir OUTPUT`; needs the tensorboard package)", group="run")
    progress: bool = option(True, "show progress bars", group="run")
    seed: int = option(0, "seed of everything drawn at random: initialisation, data order, dropout, masking",
                       group="run")

    def __post_init__(self):
        self.check()

    def check(self, positive: tuple[str, ...] = ()) -> None:
        """Choices, the given positive fields and the run options; a subclass's __post_init__ calls it."""
        check_options(self, positive=(*positive, "log_every", "keep_checkpoints"))
        if self.save_every < 0:
            raise ConfigError(f"--save_every must be 0 or more, got {self.save_every}")
        if self.overwrite and self.resume:
            raise ConfigError("--overwrite and --resume exclude each other")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def differences(self, other: "RunOptions") -> list[str]:
        """The options that differ from `other`'s, except those a resumed run may change."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if k not in self.RESUMABLE_CHANGES and a[k] != b.get(k)]

    @classmethod
    def build(cls, config_file: str | None = None, **overrides):
        return cls(**typed_options(cls, config_file, overrides, joined=cls.JOINED))


@dataclass
class LaunchOptions(RunOptions):
    """Run options of a job that scales out: the processes come from the launcher (torchrun, deepspeed,
    accelerate launch), each taking its share of every batch; with precision, DeepSpeed and accumulation."""
    RESUMABLE_CHANGES = RunOptions.RESUMABLE_CHANGES + ("grad_accum_steps", "deepspeed_config", "compile")

    grad_accum_steps: int = option(1, "micro-batches per optimizer step on each process (same global batch, less "
                                    "memory)", group="launch")
    precision: str = option("fp32", "'fp32', 'bf16' or 'fp16' (fp16: CUDA only, with loss scaling)",
                            ("fp32", "bf16", "fp16"), "launch")
    deepspeed_config: str = option("", "DeepSpeed JSON config (ZeRO stage, offload; see launch/configs/); batch size, "
                                    "accumulation, precision and clipping come from this run config and may be 'auto' "
                                    "there", group="launch")
    compile: bool = option(False, "torch.compile the whole model (in place: same weights and checkpoints); the first "
                            "steps of each batch shape wait for compiling", group="launch")

    def check(self, positive: tuple[str, ...] = ()) -> None:
        super().check((*positive, "grad_accum_steps"))


@dataclass
class OptimOptions(LaunchOptions):
    """The optimisation options every transformer job has: the peak lr and its warmup, decoupled weight decay, Adam's
    epsilon, gradient clipping and the global batch. A job redeclares a field to change its default."""
    lr: float = option(1e-3, "peak learning rate", group="train")
    warmup: float = option(0.1, "warmup: a step count (>= 1) or a fraction of all steps (< 1)", group="train")
    weight_decay: float = option(0.01, "decoupled weight decay (not applied to LayerNorm and biases)", group="train")
    adam_eps: float = option(1e-6, "epsilon of Adam/LAMB (outside the square root)", group="train")
    grad_clip: float = option(1.0, "global gradient-norm clip; 0 disables", group="train")
    batch_size: int = option(32, "examples per optimizer step, summed over all processes", group="train")

    def check(self, positive: tuple[str, ...] = ()) -> None:
        super().check((*positive, "batch_size"))
        if self.lr <= 0 or self.warmup < 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ConfigError("--lr must be positive and --warmup, --weight_decay, --grad_clip non-negative")

    def warmup_steps(self, total_steps: int) -> int:
        return int(self.warmup * total_steps) if self.warmup < 1 else int(self.warmup)


@dataclass
class RunConfig(OptimOptions):
    """The pretraining job's options."""
    NAME = "pretrain"
    # -- data
    corpus: str = option("embedded", "'embedded' (CPython's own documentation), 'synthetic' (rule-based toy corpus), "
                          "files (a file, directory or glob; see corpus_format), 'datasets:NAME[:SPLIT]', or a token "
                          "store built by `alba data build` (its tokenizer is used; a --tokenizer path must match it)",
                          group="data")
    corpus_format: str = option("auto", "'auto' (by suffix: .jsonl/.json JSON lines, .parquet Parquet, else 'text'), "
                                 "'text' (one sentence per line, blank line between documents) or 'lines' (one "
                                 "document per line)", ("auto", "text", "lines", "jsonl", "parquet"), "data")
    text_field: str = option("text", "the field holding a document's text in JSON lines, Parquet and datasets corpora",
                              group="data")
    clean_html: bool = option(False, "remove HTML markup from the corpus before sentence splitting: <br /> and block "
                               "tags become paragraph breaks, other tags go, entities are decoded (for scraped text "
                               "such as reviews)", group="data")
    encoding_errors: str = option("strict", "on a non-UTF-8 line: 'strict' stops with the file and byte offset, "
                                   "'skip' drops the line and warns with a count", ("strict", "skip"), "data")
    tokenizer: str = option("wordpiece", "'wordpiece' or 'unigram' to train one on the corpus, or the path of a "
                             "tokenizer directory / tokenizer.json to reuse", group="data")
    vocab_size: int = option(2048, "vocabulary size of a trained tokenizer (small: the vocabulary projection "
                              "dominates CPU time)", group="data")
    lowercase: bool = option(True, "lower-case text before tokenizing (trained tokenizers only)", group="data")
    max_seq_length: int = option(64, "tokens per example, [CLS] and [SEP]s included", group="data")
    short_seq_prob: float = option(0.1, "probability of a shorter random target length (reference algorithm)",
                                    group="data")
    sentence_task: str = option("sop", "sentence-pair objective: 'sop' (ALBERT order), 'nsp' (BERT next "
                                 "sentence) or 'none'", ("sop", "nsp", "none"), "data")
    masking: str = option("token", "MLM masking: 'token', 'wwm' (whole word) or 'ngram' (ALBERT: spans of 1-3 whole "
                           "words, p(n) ∝ 1/n)", ("token", "wwm", "ngram"), "data")
    static_masking: bool = option(False, "build pairs and masks once and repeat them every epoch, as the reference's "
                                   "precomputed data (dupe_factor 1) does; default: new pairs and masks each epoch",
                                   group="data")
    pack_pairs: bool = option(False, "pack several short pairs into each row of max_seq_length tokens, each pair "
                               "attending only to itself, so that fewer positions are padding; batch_size still "
                               "counts pairs, and losses are the same as unpacked", group="data")
    mask_prob: float = option(0.15, "fraction of tokens chosen for MLM", group="data")
    max_predictions: int = option(20, "at most this many MLM positions per example", group="data")
    eval_fraction: float = option(0.2, "fraction of documents held out for evaluation", group="data")
    num_workers: int = option(0, "DataLoader worker processes per training process that build pairs, masks and "
                               "batches (0: in the training process); batches are the same for any number",
                               group="data")
    # -- model
    model: str = option("albert-demo", f"model preset: {', '.join(PRESETS)} (modeling/config.py has their shapes)",
                        group="model")
    init_from: str = option("", "start from this model's weights: an alba pretraining run or checkpoint, or a "
                            "transformers BERT/ALBERT directory with its tokenizer.json. Its architecture and "
                            "tokenizer are kept (--model, --tokenizer and --vocab_size do not apply; --model_overrides "
                            "may change dropout and the like); the optimizer and schedule start fresh. A sentence "
                            "head it lacks, or has for the other task, starts from random weights", group="model")
    model_overrides: dict = option(None, "preset fields to override, e.g. --model_overrides='{\"hidden_size\": 128}'",
                                    group="model")
    # -- training
    optimizer: str = option("adamw", "'lamb' or 'adamw'", ("lamb", "adamw"), "train")
    lr: float = option(2e-3, "peak learning rate", group="train")
    schedule: str = option("linear", "after warmup: 'linear' or 'polynomial' decay to end_lr_ratio x lr at max_steps, "
                            "'inverse_sqrt' (Noam, peak at the end of warmup) or 'constant'",
                            ("linear", "polynomial", "inverse_sqrt", "constant"), "train")
    decay_power: float = option(1.0, "power of 'polynomial' decay", group="train")
    end_lr_ratio: float = option(0.0, "lr at max_steps as a fraction of the peak ('linear'/'polynomial')",
                                 group="train")
    decay_start: str = option("warmup_end", "where decay starts: 'warmup_end' (Hugging Face) or 'step_zero' (Google "
                               "BERT: the decay curve runs from step 0 and warmup replaces its first steps)",
                               ("warmup_end", "step_zero"), "train")
    lamb_trust_all: bool = option(False, "LAMB: apply the trust ratio to every tensor (NVLAMB) instead of skipping it "
                                   "where weight decay is skipped (ALBERT reference)", group="train")
    lamb_max_trust_ratio: float = option(0.0, "LAMB: clamp the trust ratio to at most this (0: no clamp)",
                                         group="train")
    shard_optimizer: bool = option(False, "partition optimizer state over the processes by whole tensors (ZeRO-1 "
                                    "style; keeps LAMB's per-tensor trust ratio exact)", group="train")
    lamb_bias_correction: bool = option(True, "LAMB: Adam-style bias correction of the moments", group="train")
    batch_size: int = option(64, "examples per optimizer step, summed over all processes", group="train")
    phases: list = option(None, "multi-phase pretraining, e.g. [{\"max_seq_length\": 128, \"max_steps\": 900}, "
                           "{\"max_seq_length\": 512, \"max_steps\": 100, \"batch_size\": 32, \"lr\": 5e-4}]: each "
                           "phase overrides these options (" + ", ".join(PHASE_KEYS) + ") for its own max_steps, with "
                           "its own warmup and decay; the run's max_steps becomes their sum", group="train")
    max_steps: int = option(1000, "optimizer steps to train", group="train")
    max_minutes: float = option(0.0, "a time budget: training stops after this many minutes of training (evaluations "
                                 "and checkpoints not counted, summed over resumes), and the lr schedule follows "
                                 "whichever runs out first, steps or time, so that warmup and decay fit the budget "
                                 "(0: no budget)", group="train")
    # -- run
    output_dir: str = option("", "where checkpoints, logs and the final model go (default: runs/pretrain-<time>)",
                              group="run")
    log_every: int = option(20, "steps between metric logs", group="run")
    eval_every: int = option(0, "steps between evaluations during training (0: only at the end)", group="run")
    save_every: int = option(200, "steps between checkpoints; one is always written at the end (0: only then)",
                             group="run")

    def __post_init__(self):
        self.model_overrides = dict(self.model_overrides or {})
        self.phases = [dict(p) for p in (self.phases or [])]
        for i, phase in enumerate(self.phases):
            unknown = sorted(set(phase) - set(PHASE_KEYS))
            if unknown or "max_steps" not in phase:
                raise ConfigError(f"--phases[{i}] must set max_steps and may set only {', '.join(PHASE_KEYS)}"
                                  + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        if self.phases and self.max_minutes:
            raise ConfigError("--max_minutes fits one schedule to a time budget; with --phases give each phase its "
                              "max_steps instead")
        if self.max_minutes < 0:
            raise ConfigError(f"--max_minutes must be 0 (no budget) or more, got {self.max_minutes}")
        if self.phases:
            # Checked like any run's options: each phase is a complete run config of its own.
            for phase in self.phase_configs():
                if phase.max_steps <= 0:
                    raise ConfigError("every phase's max_steps must be positive")
            self.max_steps = sum(p["max_steps"] for p in self.phases)
        self.check(positive=("vocab_size", "max_seq_length", "max_predictions", "max_steps"))
        if not self.init_from:
            check_model_option(self, directories=False)
        if self.num_workers < 0:
            raise ConfigError(f"--num_workers must be 0 or more, got {self.num_workers}")
        for name in ["short_seq_prob", "eval_fraction"]:
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 < self.mask_prob < 1:
            raise ConfigError(f"--mask_prob must be in (0, 1), got {self.mask_prob}")
        if not 0 <= self.end_lr_ratio <= 1 or self.decay_power <= 0 or self.lamb_max_trust_ratio < 0:
            raise ConfigError("--end_lr_ratio must be in [0, 1], --decay_power positive, --lamb_max_trust_ratio "
                              "non-negative")

    def phase_configs(self) -> list["RunConfig"]:
        """One config per phase (the run itself when it has none); each phase's max_steps is its own length."""
        if not self.phases:
            return [self]
        base = {k: v for k, v in self.to_dict().items() if k != "phases"}
        return [RunConfig.build(**{**base, **phase}) for phase in self.phases]

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    # Options a resumed run may change: how it is launched, logged and saved, not what it trains.
    # max_steps: a finished or interrupted run may be extended (its decay is stretched to the new end).
    RESUMABLE_CHANGES = LaunchOptions.RESUMABLE_CHANGES + ("max_minutes", "eval_every", "shard_optimizer",
                                                           "num_workers", "max_steps")


def check_model_option(cfg, directories: bool) -> None:
    """--model names a preset (its --model_overrides checked now, before any data is read) or, where `directories`,
    a model directory; a near miss is named, and a model directory where only presets go points to --init_from."""
    from modeling import ModelConfig

    if cfg.model in PRESETS:
        ModelConfig.from_preset(cfg.model, **cfg.model_overrides)
        return
    is_dir = (Path(cfg.model) / "config.json").is_file()
    if directories and is_dir:
        return
    if is_dir:
        raise ConfigError(f"--model takes a preset name; {cfg.model} is a model directory: pass --init_from="
                          f"{cfg.model} to start from its weights, architecture and tokenizer")
    close = difflib.get_close_matches(cfg.model, PRESETS, n=2, cutoff=0.6)
    raise ConfigError(f"--model {cfg.model!r} is not a model preset" + (" nor a directory holding config.json"
                                                                      if directories else "")
                      + (f"; did you mean {' or '.join(close)}?" if close else "") + f" (presets: {', '.join(PRESETS)})")


def check_options(cfg, positive: tuple[str, ...] = ()) -> None:
    """Every option with choices holds one of them, and the `positive` ones are above zero; errors name the flag."""
    for f in dataclasses.fields(cfg):
        choices = f.metadata.get("choices")
        if choices and getattr(cfg, f.name) not in choices:
            raise ConfigError(f"--{f.name}={getattr(cfg, f.name)!r} is not one of {', '.join(choices)}")
    for name in positive:
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"--{name} must be positive, got {getattr(cfg, name)}")


def typed_options(cls, config_file: str | None, overrides: dict, joined: tuple[str, ...] = ()) -> dict:
    """The options of the dataclass `cls`: the config file's keys, then the flags, each checked and typed; an unknown
    key is an error listing the valid ones. Keys in `joined` take comma lists, which fire reads as tuples."""
    values: dict[str, Any] = _ungrouped(cls, _read_config_file(config_file), config_file) if config_file else {}
    values.update(overrides)
    for key in joined:
        if isinstance(values.get(key), (list, tuple)):
            values[key] = ",".join(map(str, values[key]))
    valid = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ConfigError("; ".join(_unknown(u, valid) for u in unknown) + " (--help lists every option)")
    return {k: coerce(valid[k], v) for k, v in values.items()}


def _ungrouped(cls, values: dict, path: str) -> dict:
    """A config file may group its options by concern, e.g. {"model": {...}, "train": {"lr": 1e-3}, "run": {...}}:
    a mapping under a group's name (that is not itself an option holding a mapping) is that group's options."""
    options = {f.name: f for f in dataclasses.fields(cls)}
    groups = {f.metadata.get("group") for f in options.values()}
    flat = {}
    for key, value in values.items():
        if key in groups and isinstance(value, dict) and not (key in options and options[key].type in (dict, "dict")):
            strays = sorted(k for k in value if k not in options or options[k].metadata.get("group") != key)
            if strays:
                raise ConfigError(f"config file {path}: {', '.join(strays)} {'is' if len(strays) == 1 else 'are'} "
                                  f"not among the [{key}] options")
            flat.update(value)
        else:
            flat[key] = value
    return flat


# Names other trainers (transformers' TrainingArguments, run_mlm.py) give to options alba has.
KNOWN_AS = {"learning_rate": "lr", "per_device_train_batch_size": "batch_size", "train_batch_size": "batch_size",
            "num_train_epochs": "epochs", "max_train_steps": "max_steps", "warmup_ratio": "warmup",
            "warmup_steps": "warmup", "num_warmup_steps": "warmup", "max_grad_norm": "grad_clip",
            "gradient_accumulation_steps": "grad_accum_steps", "model_name_or_path": "model", "bf16": "precision",
            "fp16": "precision", "adam_epsilon": "adam_eps", "logging_steps": "log_every", "save_steps": "save_every",
            "eval_steps": "eval_every", "max_seq_len": "max_seq_length", "mlm_probability": "mask_prob",
            "resume_from_checkpoint": "resume", "overwrite_output_dir": "overwrite", "report_to": "wandb"}


def _unknown(name: str, valid) -> str:
    """What an unknown option may have meant: its name in alba when other trainers call it so, and the options
    spelt nearly alike or sharing its words."""
    close = [KNOWN_AS[name]] if KNOWN_AS.get(name) in valid else []
    close += [c for c in difflib.get_close_matches(name, valid, n=3, cutoff=0.6) if c not in close]
    words = set(name.split("_")) - {"max", "num", "train"}
    close += [v for v in sorted(valid) if v not in close and words & set(v.split("_"))][:3]
    return f"unknown option --{name}" + (f"; did you mean {' or '.join('--' + c for c in close[:3])}?" if close else "")


def _read_config_file(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file does not exist: {path}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as e:  # the parser's own message, kept on one line
        raise ConfigError(f"cannot parse config file {path}: {' '.join(str(e).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option names to values")
    return data


def coerce(f: dataclasses.Field, value):
    """Accept what fire and JSON produce (1 for 1.0, 7 for '7', JSON text for a mapping or list, which fire leaves
    a string when it holds JSON's true/false/null) but refuse values of the wrong kind."""
    name = f.type if isinstance(f.type, str) else f.type.__name__  # with or without `from __future__ import annotations`
    kind = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict, "list": list}[name]
    if kind in (dict, list) and isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--{f.name} expects a JSON {'object' if kind is dict else 'list'}: {e.msg} at "
                              f"character {e.pos} of {value!r}") from None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    elif kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return os.fspath(str(value))
    elif kind is dict and (value is None or isinstance(value, dict)):
        return value
    elif kind is list and (value is None or (isinstance(value, (list, tuple))
                                              and all(isinstance(v, dict) for v in value))):
        return None if value is None else list(value)
    raise ConfigError(f"--{f.name} expects {kind.__name__}, got {value!r}")

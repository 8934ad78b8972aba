"""The fine-tuning run configurations: typed dataclasses on the shared run and launch options, overridable from a
JSON/YAML file and from flags, with the same checking (unknown keys name the valid ones, ill-typed values are
refused) as pretraining's RunConfig."""
from __future__ import annotations

from dataclasses import dataclass

from modeling.config import PRESETS
from pretrain.config import ConfigError, OptimOptions, check_model_option, option
from pretrain.grid import check_grid


GRID_KEYS = ("lr", "batch_size", "epochs", "seed")


@dataclass
class FinetuneConfig(OptimOptions):
    NAME = "finetune"
    # -- task and data
    task: str = option("sst2", "GLUE task (cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli) or 'all'", group="data")
    data_dir: str = option("", "GLUE root (holding SST-2/, MNLI/, …) or the task's own folder, in the original TSV "
                            "layout; or hf:NAME, a `datasets` GLUE dataset (hub name such as nyu-mll/glue, or a local "
                            "copy in the hub's layout)", group="data")
    train_file: str = option("", "training TSV instead of <data_dir>/<task>/train.tsv", group="data")
    dev_file: str = option("", "evaluation TSV instead of the task's dev file(s)", group="data")
    test_file: str = option("", "test TSV to predict (GLUE submission format) instead of the task's test file(s)",
                             group="data")
    max_seq_length: int = option(128, "tokens per example, [CLS] and [SEP]s included; longer pairs are cut from "
                                  "the longer side", group="data")
    max_train_examples: int = option(0, "use only the first N training rows (0: all)", group="data")
    truncation: str = option("head", "what a single text longer than max_seq_length keeps: 'head' (its start), 'tail' "
                              "(its end) or 'head_tail' (the first quarter of the budget from the start, the rest from "
                              "the end: Sun et al. 2019's best for IMDB); pairs are cut from their longer side",
                              ("head", "tail", "head_tail"), "data")
    # -- model
    model: str = option("", "an alba pretraining run directory, a directory fine-tuned here, a transformers BERT/"
                         "ALBERT directory (with tokenizer.json), or a model preset name (random init, with a "
                         f"WordPiece tokenizer trained on the task's training text): {', '.join(PRESETS)}", group="model")
    model_overrides: dict = option(None, "preset fields to override when --model is a preset", group="model")
    vocab_size: int = option(4096, "vocabulary of the tokenizer trained when --model is a preset", group="model")
    from_scratch: bool = option(False, "keep --model's architecture and tokenizer but start from random weights: the "
                                 "control that measures what its pretraining is worth", group="model")
    classifier_dropout: float = option(0.1, "dropout before the classifier", group="model")
    # -- training (BERT's fine-tuning recipe: AdamW, warmup 10%, linear decay)
    lr: float = option(2e-5, "peak learning rate", group="train")
    epochs: int = option(3, "passes over the training set; the best epoch on dev is kept", group="train")
    grid: dict = option(None, "hyperparameter grid, e.g. '{\"lr\": [2e-5, 3e-5], \"batch_size\": [16, 32], "
                         "\"epochs\": [2, 3], \"seed\": [0, 1, 2]}': every combination is trained; per task the "
                         "setting with the best median score over seeds is reported, with the medians", group="train")
    # -- run
    do_train: bool = option(True, "fine-tune; False only evaluates (and predicts) --model as it is", group="run")
    predict: bool = option(False, "write test-set predictions of the best model in the GLUE submission format",
                            group="run")
    baseline: bool = option(True, "also train and print a bag-of-words logistic-regression baseline", group="run")
    output_dir: str = option("", "where the best model, metrics, checkpoints and results go (default: "
                             "runs/<job>-<time>)", group="run")
    keep_checkpoints: int = option(1, "how many recent checkpoints to keep", group="run")
    wandb_project: str = option("alba-finetune", "W&B project name", group="run")

    def __post_init__(self):
        self.model_overrides = dict(self.model_overrides or {})
        self.grid = check_grid(self.grid, GRID_KEYS)
        if not self.model:
            raise ConfigError("--model is required: a pretraining run, a transformers directory or a preset name")
        self.check(positive=("max_seq_length", "epochs", "vocab_size"))
        check_model_option(self, directories=True)
        if self.max_train_examples < 0:
            raise ConfigError(f"--max_train_examples must be 0 or more, got {self.max_train_examples}")
        if not 0 <= self.classifier_dropout < 1:
            raise ConfigError(f"--classifier_dropout must be in [0, 1), got {self.classifier_dropout}")
        if self.task == "all" and (self.train_file or self.dev_file or self.test_file):
            raise ConfigError("--task=all reads every task from --data_dir; --train_file/--dev_file/--test_file "
                              "name one task's files")



@dataclass
class SquadConfig(FinetuneConfig):
    """The fine-tuning options (the GLUE-only ones are ignored) plus SQuAD's; BERT's defaults."""
    NAME = "squad"
    max_seq_length: int = option(384, "tokens per window: [CLS] question [SEP] context part [SEP]", group="data")
    version: int = option(1, "SQuAD version: 1 (v1.1, every question answerable) or 2 (v2.0, null answers)",
                           group="squad")
    doc_stride: int = option(128, "tokens between the starts of consecutive windows over a long context", group="squad")
    max_query_length: int = option(64, "question tokens kept", group="squad")
    n_best: int = option(20, "start and end candidates per window in the span search", group="squad")
    max_answer_length: int = option(30, "longest answer in tokens", group="squad")
    max_eval_examples: int = option(0, "evaluate only the first N dev questions (0: all)", group="squad")

    def __post_init__(self):
        super().__post_init__()
        if self.version not in (1, 2):
            raise ConfigError(f"--version must be 1 or 2, got {self.version}")
        self.check(positive=("doc_stride", "max_query_length", "n_best", "max_answer_length"))
        if not (self.train_file or not self.do_train) or not self.dev_file:
            raise ConfigError("--dev_file (and --train_file when training) must name SQuAD JSON files")


@dataclass
class SwagConfig(FinetuneConfig):
    """The fine-tuning options (the GLUE-only ones are ignored) for SWAG's CSV files."""
    NAME = "swag"

    def __post_init__(self):
        super().__post_init__()
        if not self.dev_file or (self.do_train and not self.train_file):
            raise ConfigError("--dev_file (and --train_file when training) must name SWAG CSV files")

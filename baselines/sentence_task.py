"""What the sentence-classification baselines (text_cnn, tfidf) share: the task's options and its labelled files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, RunOptions, option


@dataclass
class SentenceTaskOptions(RunOptions):
    data_dir: str = option("", "folder of the task's TSV files (the GLUE layout), e.g. glue/SST-2 (required)",
                           group="data")
    task: str = option("sst2", "single-sentence GLUE task whose columns and labels the files have", ("sst2", "cola"),
                       "data")
    train_file: str = option("train.tsv", "training TSV inside data_dir", group="data")
    eval_file: str = option("dev.tsv", "evaluation TSV inside data_dir (with labels)", group="data")


def labelled_rows(cfg: SentenceTaskOptions):
    """The task and its training and evaluation rows as (text, label), both files read and checked (a bad row
    names file and line) before anything is written."""
    from data_pipeline import DataError
    from data_pipeline.glue import get_task, read_glue_file

    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a folder holding the task's train/dev TSV files")
    task, root = get_task(cfg.task), Path(cfg.data_dir)
    if not root.is_dir():
        raise ConfigError(f"--data_dir {root} is not a directory")
    rows = {}
    for name, file in (("train", cfg.train_file), ("eval", cfg.eval_file)):
        examples = read_glue_file(root / file, task)
        if not examples or any(e.label is None for e in examples):
            raise DataError(f"{root / file}: {'no examples' if not examples else 'no label column'}; "
                            f"training and evaluation need labelled rows")
        rows[name] = [(e.text_a, e.label) for e in examples]
    return task, rows

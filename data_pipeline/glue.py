"""The nine GLUE tasks: their files in the original GLUE TSV layout (or the `datasets` hub), label sets and the
names of their official metrics (computed in finetune/glue.py).

The TSVs are read with csv's QUOTE_NONE: GLUE text holds bare `"` characters that are not quoting (a quoting reader
would merge lines). Columns are found by header name, so train/dev files (with labels) and test files (an index
column, no labels) are read by the same code; CoLA's train/dev files have no header and fixed columns. A UTF-8 BOM
(MRPC) is dropped. Every row must have the header's number of fields and a label from the task's set: otherwise a
DataError names the file and line.
"""
from __future__ import annotations

import csv
import io
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError
from .utf8 import read_utf8

csv.field_size_limit(sys.maxsize)  # some MNLI parse-tree fields exceed csv's default 128 KiB


@dataclass(frozen=True)
class GlueTask:
    name: str
    folder: str  # the task's directory in the GLUE download
    text_columns: tuple[str, ...]  # header names of sentence A (and B)
    label_column: str
    labels: tuple[str, ...] | None  # label strings in id order; None for regression (STS-B)
    metrics: tuple[str, ...]
    eval_splits: tuple[str, ...] = ("dev",)
    test_splits: tuple[str, ...] = ("test",)
    # What each label id means, as the `datasets` GLUE features name them (a 0/1 file label says nothing).
    meanings: tuple[str, ...] | None = None

    @property
    def label_names(self) -> list[str] | None:
        return list(self.meanings or self.labels) if self.labels else None

    @property
    def num_labels(self) -> int:
        return len(self.labels) if self.labels else 1

    @property
    def is_regression(self) -> bool:
        return self.labels is None


_BINARY = ("0", "1")
_ENTAIL = ("entailment", "not_entailment")
TASKS = {t.name: t for t in (
    GlueTask("cola", "CoLA", ("sentence",), "label", _BINARY, ("matthews",), meanings=("unacceptable", "acceptable")),
    GlueTask("sst2", "SST-2", ("sentence",), "label", _BINARY, ("accuracy",), meanings=("negative", "positive")),
    GlueTask("mrpc", "MRPC", ("#1 String", "#2 String"), "Quality", _BINARY, ("f1", "accuracy"),
             meanings=("not_equivalent", "equivalent")),
    GlueTask("stsb", "STS-B", ("sentence1", "sentence2"), "score", None, ("pearson", "spearman")),
    GlueTask("qqp", "QQP", ("question1", "question2"), "is_duplicate", _BINARY, ("accuracy", "f1"),
             meanings=("not_duplicate", "duplicate")),
    GlueTask("mnli", "MNLI", ("sentence1", "sentence2"), "gold_label", ("entailment", "neutral", "contradiction"),
             ("accuracy",), eval_splits=("dev_matched", "dev_mismatched"),
             test_splits=("test_matched", "test_mismatched")),
    GlueTask("qnli", "QNLI", ("question", "sentence"), "label", _ENTAIL, ("accuracy",)),
    GlueTask("rte", "RTE", ("sentence1", "sentence2"), "label", _ENTAIL, ("accuracy",)),
    GlueTask("wnli", "WNLI", ("sentence1", "sentence2"), "label", _BINARY, ("accuracy",),
             meanings=("not_entailment", "entailment")),
)}
# CoLA's headerless train/dev rows: source, label, the author's original mark, sentence.
_COLA_COLUMNS = ("source", "label", "original_label", "sentence")
STS_RANGE = (0.0, 5.0)


def get_task(name: str) -> GlueTask:
    """'sst2', 'SST-2', 'sst-2' all name SST-2."""
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in TASKS:
        raise DataError(f"unknown GLUE task {name!r}; valid tasks: {', '.join(TASKS)}")
    return TASKS[key]


@dataclass
class GlueExample:
    guid: str  # the file's index/id column where it has one, else its line number
    text_a: str
    text_b: str | None
    label: int | float | None  # label id, STS-B score, or None in a test file


# `--data_dir=hf:NAME` reads GLUE through `datasets.load_dataset(NAME, <task>)`; NAME is a hub name (nyu-mll/glue)
# or anything else load_dataset takes, such as a local copy of the hub repository.
HUB_PREFIX = "hf:"
# GLUE split names (the TSV files' stems, which the runner keys results by) -> the hub GLUE configs' split names.
HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test", "dev_matched": "validation_matched",
              "dev_mismatched": "validation_mismatched", "test_matched": "test_matched",
              "test_mismatched": "test_mismatched"}


@dataclass(frozen=True)
class HubSplit:
    """One split of a GLUE task in a `datasets` dataset; it stands where task_file would give a local file."""
    name: str  # what load_dataset is given: a hub name or a local dataset directory
    task: str  # the dataset's config: the hub GLUE configs are named by the task names used here
    split: str  # the GLUE split name (dev, dev_matched, ...)

    @property
    def stem(self) -> str:  # as a file's stem, so the runner names dev results the same either way
        return self.split

    def __str__(self) -> str:
        return f"datasets {self.name!r} config {self.task!r} split {HUB_SPLITS.get(self.split, self.split)!r}"


def task_file(data_dir: str | Path, task: GlueTask, split: str) -> Path | HubSplit:
    """`data_dir` is the GLUE root (holding SST-2/ …) or the task's own folder; the split is `split`.tsv (original
    layout), else `split`.jsonl or `split`.parquet (the `datasets` GLUE columns) where those exist. With the `hf:`
    prefix it names a `datasets` dataset instead."""
    if str(data_dir).startswith(HUB_PREFIX):
        return HubSplit(str(data_dir)[len(HUB_PREFIX):], task.name, split)
    root = Path(data_dir)
    folder = root / task.folder if (root / task.folder).is_dir() else root
    for suffix in (".jsonl", ".parquet"):
        if not (folder / f"{split}.tsv").is_file() and (folder / f"{split}{suffix}").is_file():
            return folder / f"{split}{suffix}"
    return folder / f"{split}.tsv"


# Column names of the Hugging Face `datasets` GLUE configs (labels there are ids in this module's order; -1: test).
RECORD_COLUMNS = {"cola": ("sentence",), "sst2": ("sentence",), "mrpc": ("sentence1", "sentence2"),
                  "stsb": ("sentence1", "sentence2"), "qqp": ("question1", "question2"),
                  "mnli": ("premise", "hypothesis"), "qnli": ("question", "sentence"),
                  "rte": ("sentence1", "sentence2"), "wnli": ("sentence1", "sentence2")}


def read_glue_file(path: str | Path | HubSplit, task: GlueTask) -> list[GlueExample]:
    """A GLUE split from a TSV (original layout), JSONL or parquet file (`datasets` columns), by suffix, or from a
    `datasets` dataset (a HubSplit from task_file)."""
    if isinstance(path, HubSplit):
        return read_glue_hub(path, task)
    path = Path(path)
    if path.suffix in (".jsonl", ".parquet"):
        return read_glue_records(path, task)
    return read_glue_tsv(path, task)


def read_glue_records(path: str | Path, task: GlueTask) -> list[GlueExample]:
    """JSONL (one object per line) or parquet with the `datasets` GLUE columns; rows are named by line / row number."""
    import json
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such GLUE file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        try:
            rows = pq.read_table(path).to_pylist()
        except Exception as e:  # pyarrow's own errors: not a parquet file, damaged footer, ...
            raise DataError(f"{path}: cannot read parquet ({' '.join(str(e).split())[:200]})") from None
        where = "row"
    else:
        rows = []
        for line, text in enumerate(read_utf8(path).splitlines(), 1):
            if text.strip():
                try:
                    rows.append(json.loads(text))
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}:{line}: not JSON ({e.msg})") from None
        where = "line"
    return _record_examples(path, where, rows, task)


def read_glue_hub(source: HubSplit, task: GlueTask) -> list[GlueExample]:
    """A split loaded by `datasets.load_dataset(name, task, split=...)`: the hub GLUE columns, label -1 in test."""
    import datasets
    split = HUB_SPLITS.get(source.split, source.split)
    try:
        rows = datasets.load_dataset(source.name, source.task, split=split).to_list()
    except Exception as e:  # datasets raises many kinds (offline, unknown name/config/split, bad files): one line
        raise DataError(f"{source}: cannot load it ({type(e).__name__}: {' '.join(str(e).split())[:300]})") from None
    return _record_examples(source, "row", rows, task)


def _record_examples(source, where: str, rows, task: GlueTask) -> list[GlueExample]:
    """Rows (dicts) with the `datasets` GLUE columns; `source` and `where` ('line'/'row') name a row in errors."""
    columns = RECORD_COLUMNS[task.name]
    examples = []
    for n, row in enumerate(rows, 1):
        missing = [c for c in columns if not isinstance(row.get(c) if isinstance(row, dict) else None, str)]
        if missing:
            raise DataError(f"{source}: {where} {n}: missing text column(s) {', '.join(missing)} of GLUE "
                            f"{task.name}")
        label = row.get("label")
        if label is not None and label != -1:
            if task.is_regression:
                label = _parse_label(source, task, n, str(label))
            elif not isinstance(label, int) or not 0 <= label < task.num_labels:
                raise DataError(f"{source}: {where} {n}: label {label!r} is not a label id of GLUE {task.name} "
                                f"(0..{task.num_labels - 1}: {', '.join(task.labels)})")
        else:
            label = None
        examples.append(GlueExample(str(row.get("idx", n)), row[columns[0]],
                                    row[columns[1]] if len(columns) > 1 else None, label))
    return examples


def read_glue_tsv(path: str | Path, task: GlueTask) -> list[GlueExample]:
    """All rows of one GLUE TSV file of `task`; labels are required unless the file has no label column (test)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such GLUE file")
    with io.StringIO(read_utf8(path), newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        first = next(rows, None)
        if first is None:
            raise DataError(f"{path}: empty file")
        if task.name == "cola" and first[:1] != ["index"]:
            header, body = list(_COLA_COLUMNS), [(1, first)]  # headerless: the first line is data
        else:
            header, body = first, []
        columns = _column_positions(path, task, header)
        examples = [_example(path, task, header, columns, line, row) for line, row in body]
        examples += [_example(path, task, header, columns, rows.line_num, row) for row in rows]
    return examples


def _column_positions(path: Path, task: GlueTask, header: list[str]) -> dict[str, int]:
    wanted = [*task.text_columns, task.label_column]
    positions = {name: header.index(name) for name in wanted if name in header}
    missing = [c for c in task.text_columns if c not in positions]
    if missing:
        raise DataError(f"{path}:1: missing column(s) {', '.join(missing)} of GLUE {task.name} (header: "
                        f"{', '.join(header)})")
    for name in ("index", "id"):  # test files: the id the submission format refers to
        if name in header:
            positions["guid"] = header.index(name)
    return positions


def _example(path: Path, task: GlueTask, header: list[str], columns: dict[str, int], line: int,
             row: list[str]) -> GlueExample:
    if len(row) != len(header):
        raise DataError(f"{path}:{line}: {len(row)} fields, expected {len(header)} ({', '.join(header)})")
    texts = [row[columns[c]] for c in task.text_columns]
    label = None
    if task.label_column in columns:
        label = _parse_label(path, task, line, row[columns[task.label_column]])
    guid = row[columns["guid"]] if "guid" in columns else str(line)
    return GlueExample(guid, texts[0], texts[1] if len(texts) > 1 else None, label)


def _parse_label(path: Path, task: GlueTask, line: int, value: str) -> int | float:
    if task.labels is not None:
        if value not in task.labels:
            raise DataError(f"{path}:{line}: label {value!r} is not one of GLUE {task.name}'s labels "
                            f"{', '.join(task.labels)}")
        return task.labels.index(value)
    try:
        score = float(value)
    except ValueError:
        score = math.nan
    if not STS_RANGE[0] <= score <= STS_RANGE[1]:
        raise DataError(f"{path}:{line}: score {value!r} is not a number in [{STS_RANGE[0]:g}, {STS_RANGE[1]:g}]")
    return score

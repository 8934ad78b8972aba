"""GLUE through `datasets.load_dataset` (`--data_dir=hf:NAME`), offline: a local dataset laid out as the hub's GLUE
repository (README configs, one parquet per split, ClassLabel labels, label -1 in test) must give the rows the TSV
reader gives for the real SST-2 dev file; a dataset that cannot be loaded is a one-line error naming it and the split."""
import csv

import datasets
import pytest

from data_pipeline import DataError
from finetune.config import FinetuneConfig
from data_pipeline.glue import HubSplit, get_task, read_glue_file, read_glue_tsv, task_file
from finetune.runner import TaskData

_README = """---
configs:
{configs}
---
"""


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    # No network here, and nothing written to the user's cache: datasets reads both settings at call time.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    datasets.disable_progress_bars()


def _hub_layout(root, splits: dict[str, dict[str, list]], features: dict[str, datasets.Features]):
    """`splits` maps 'config/split' to columns; writes <config>/<split>-00000-of-00001.parquet and the README's
    YAML config list, as the hub's nyu-mll/glue repository has them."""
    configs = {}
    for key, columns in splits.items():
        config, split = key.split("/")
        (root / config).mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(columns, features=features[config]).to_parquet(
            str(root / config / f"{split}-00000-of-00001.parquet"))
        configs.setdefault(config, []).append(split)
    yaml = "\n".join(f"- config_name: {c}\n  data_files:\n" + "".join(
        f"  - split: {s}\n    path: {c}/{s}-*\n" for s in ss) for c, ss in configs.items())
    (root / "README.md").write_text(_README.format(configs=yaml), encoding="utf-8")
    return root


def _sst2_columns(dev_tsv, test=False):
    """The hub's sst2 columns built from the raw TSV lines by plain splitting (independent of data_pipeline.glue)."""
    with open(dev_tsv, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return {"sentence": [r[0] for r in rows], "label": [-1 if test else int(r[1]) for r in rows],
            "idx": list(range(len(rows)))}


_SST2 = datasets.Features({"sentence": datasets.Value("string"),
                          "label": datasets.ClassLabel(names=["negative", "positive"]), "idx": datasets.Value("int32")})


@pytest.fixture
def sst2_hub(shared_data, tmp_path):
    dev = shared_data / "glue" / "SST-2" / "dev.tsv"
    test = {k: v[:50] for k, v in _sst2_columns(dev, test=True).items()}
    train = {k: v[:100] for k, v in _sst2_columns(dev).items()}
    return _hub_layout(tmp_path / "glue", {"sst2/train": train, "sst2/validation": _sst2_columns(dev),
                                           "sst2/test": test}, {"sst2": _SST2}), dev


def test_sst2_dev_from_hub_layout_equals_tsv_reader(sst2_hub):
    root, dev_tsv = sst2_hub
    task = get_task("sst2")
    source = task_file(f"hf:{root}", task, "dev")
    assert source == HubSplit(str(root), "sst2", "dev") and source.stem == "dev"
    from_hub, from_tsv = read_glue_file(source, task), read_glue_tsv(dev_tsv, task)
    assert len(from_hub) == len(from_tsv) == 872
    assert [(e.text_a, e.text_b, e.label) for e in from_hub] == [(e.text_a, e.text_b, e.label) for e in from_tsv]
    assert [e.guid for e in from_hub[:3]] == ["0", "1", "2"]  # the hub's idx column


def test_runner_reads_train_dev_and_test_splits(sst2_hub):
    root, dev_tsv = sst2_hub
    cfg = FinetuneConfig.build(task="sst2", model="albert-test", data_dir=f"hf:{root}", predict=True)
    data = TaskData(cfg, get_task("sst2"))
    assert len(data.train) == 100 and list(data.dev) == ["dev"] and len(data.dev["dev"]) == 872
    assert list(data.test) == ["test"] and len(data.test["test"]) == 50
    assert all(e.label is None for e in data.test["test"])  # label -1: a test row
    assert [e.text_a for e in data.test["test"]] == [e.text_a for e in read_glue_tsv(dev_tsv, get_task("sst2"))[:50]]


def test_mnli_pairs_and_matched_splits(tmp_path):
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["entailment", "neutral", "contradiction"]),
                                  "idx": datasets.Value("int32")})
    m = {"premise": ["p0", "p1"], "hypothesis": ["h0", "h1"], "label": [2, 0], "idx": [0, 1]}
    mm = {"premise": ["q0"], "hypothesis": ["g0"], "label": [1], "idx": [0]}
    root = _hub_layout(tmp_path / "glue", {"mnli/validation_matched": m, "mnli/validation_mismatched": mm},
                       {"mnli": features})
    task = get_task("mnli")
    matched = read_glue_file(task_file(f"hf:{root}", task, "dev_matched"), task)
    mismatched = read_glue_file(task_file(f"hf:{root}", task, "dev_mismatched"), task)
    assert [(e.text_a, e.text_b, e.label) for e in matched] == [("p0", "h0", 2), ("p1", "h1", 0)]
    assert task.labels[matched[0].label] == "contradiction"
    assert [(e.text_a, e.text_b, e.label) for e in mismatched] == [("q0", "g0", 1)]


def test_unloadable_dataset_is_one_line_naming_dataset_and_split(sst2_hub):
    root, _ = sst2_hub
    cases = [("nyu-mll/glue", "sst2", "dev", "'validation'"),  # a hub name, but offline and not cached
             (str(root), "cola", "dev", "'validation'"),  # a config the dataset lacks
             (str(root / "missing"), "sst2", "train", "'train'")]
    for name, task_name, split, hub_split in cases:
        with pytest.raises(DataError) as info:
            read_glue_file(task_file(f"hf:{name}", get_task(task_name), split), get_task(task_name))
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"datasets {name!r} config {task_name!r} split {hub_split}: cannot load it (")

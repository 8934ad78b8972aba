import json

import pytest

from pretrain.config import ConfigError, RunConfig
from pretrain.rundir import check_output_dir, prepare_output_dir


def test_unknown_key_lists_valid_options():
    with pytest.raises(ConfigError) as e:
        RunConfig.build(learning_rate=1.0)
    msg = str(e.value)
    assert "--learning_rate" in msg and "lr" in msg and "max_steps" in msg and "\n" not in msg


def test_file_then_flags(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 0.5, "max_steps": 7}))
    cfg = RunConfig.build(str(path), max_steps=9)
    assert cfg.lr == 0.5 and cfg.max_steps == 9
    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_text("batch_size: 16\nsentence_task: nsp\n")
    cfg = RunConfig.build(str(yaml_path))
    assert cfg.batch_size == 16 and cfg.sentence_task == "nsp"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"bogus": 1}))
    with pytest.raises(ConfigError, match="--bogus"):
        RunConfig.build(str(bad))


@pytest.mark.parametrize("flags,needle", [
    ({"sentence_task": "mlm"}, "sop, nsp, none"),
    ({"max_steps": 0}, "--max_steps"),
    ({"lr": "fast"}, "--lr expects float"),
    ({"batch_size": 2.5}, "--batch_size expects int"),
    ({"overwrite": True, "resume": True}, "exclude"),
])
def test_bad_values(flags, needle):
    with pytest.raises(ConfigError, match=needle):
        RunConfig.build(**flags)


def test_types_are_coerced_from_fire_values():
    cfg = RunConfig.build(lr=1, corpus=123, overwrite="true")
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.corpus == "123" and cfg.overwrite is True


def test_output_dir_guard(tmp_path):
    out = tmp_path / "run"
    cfg = RunConfig.build(output_dir=str(out))
    assert check_output_dir(cfg) is None and not out.exists()  # checking writes nothing
    prepare_output_dir(cfg)
    with pytest.raises(ConfigError, match="already holds a run"):
        check_output_dir(RunConfig.build(output_dir=str(out)))
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        check_output_dir(RunConfig.build(output_dir=str(out), resume=True))
    with pytest.raises(ConfigError, match=r"options differ.*lr"):
        check_output_dir(RunConfig.build(output_dir=str(out), resume=True, lr=0.1))
    assert check_output_dir(RunConfig.build(output_dir=str(out), overwrite=True)) is None
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="other files"):
        check_output_dir(RunConfig.build(output_dir=str(other)))

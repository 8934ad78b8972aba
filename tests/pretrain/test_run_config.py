import json

import pytest

from pretrain.config import ConfigError, RunConfig
from pretrain.rundir import check_output_dir, prepare_output_dir


def test_unknown_key_suggests_the_option_meant():
    with pytest.raises(ConfigError) as e:
        RunConfig.build(learning_rate=1.0, max_step=3)
    msg = str(e.value)
    assert "--learning_rate; did you mean --lr?" in msg and "--max_step; did you mean --max_steps" in msg
    assert "\n" not in msg


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


def test_config_file_may_group_options_by_concern(tmp_path):
    """Sections named after the option groups hold their options; the result equals the flat file's config, a
    string `model` stays the preset option, and an option under another group's name is refused."""
    flat = {"model": "albert-test", "lr": 1e-3, "batch_size": 8, "precision": "bf16", "log_every": 5,
            "model_overrides": {"hidden_size": 96}}
    grouped = {"model": "albert-test", "train": {"lr": 1e-3, "batch_size": 8}, "launch": {"precision": "bf16"},
               "run": {"log_every": 5}, "model_overrides": {"hidden_size": 96}}
    (tmp_path / "flat.json").write_text(json.dumps(flat))
    (tmp_path / "grouped.json").write_text(json.dumps(grouped))
    a, b = RunConfig.build(str(tmp_path / "flat.json")), RunConfig.build(str(tmp_path / "grouped.json"))
    assert a == b and b.lr == 1e-3 and b.precision == "bf16" and b.model == "albert-test"
    assert RunConfig.build(str(tmp_path / "grouped.json"), lr=5e-4).lr == 5e-4  # flags still win
    (tmp_path / "nested.json").write_text(json.dumps({"model": {"model": "albert-test", "init_from": ""}}))
    assert RunConfig.build(str(tmp_path / "nested.json")).model == "albert-test"
    (tmp_path / "wrong.json").write_text(json.dumps({"run": {"lr": 1e-3}}))
    with pytest.raises(ConfigError, match=r"wrong.json: lr is not among the \[run\] options"):
        RunConfig.build(str(tmp_path / "wrong.json"))


def test_structured_flags_take_json_text():
    """fire hands over JSON that Python cannot read (true/false/null) as the text itself: it is parsed as JSON."""
    cfg = RunConfig.build(model_overrides='{"gradient_checkpointing": true, "hidden_dropout_prob": 0}',
                          phases='[{"max_steps": 3, "lr": 1e-3}, {"max_steps": 2}]')
    assert cfg.model_overrides == {"gradient_checkpointing": True, "hidden_dropout_prob": 0}
    assert cfg.phases == [{"max_steps": 3, "lr": 1e-3}, {"max_steps": 2}] and cfg.max_steps == 5
    with pytest.raises(ConfigError, match=r"--model_overrides expects a JSON object: Expecting value at character"):
        RunConfig.build(model_overrides='{"gradient_checkpointing": tru}')
    with pytest.raises(ConfigError, match="--model_overrides expects dict, got"):
        RunConfig.build(model_overrides='[1, 2]')


def test_a_time_budget_fits_one_schedule_not_phases():
    with pytest.raises(ConfigError, match="--max_minutes fits one schedule to a time budget; with --phases"):
        RunConfig.build(max_minutes=5, phases=[{"max_steps": 3}, {"max_steps": 2}])
    with pytest.raises(ConfigError, match="--max_minutes must be 0"):
        RunConfig.build(max_minutes=-1)

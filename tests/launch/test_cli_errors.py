"""Bad input ends in one line on stderr, a non-zero exit, and nothing written."""
import dataclasses

import pytest

from conftest import ROOT, one_line_error, run_cli
from pretrain.config import RunConfig

SCRIPT = ROOT / "launch" / "pretrain.py"


def test_help_lists_every_option_with_default():
    proc = run_cli(SCRIPT, "--help")
    assert proc.returncode == 0, proc.stderr
    for f in dataclasses.fields(RunConfig):
        assert f"--{f.name}={f.default!r}" in proc.stdout
    assert "--config" in proc.stdout


def test_unknown_option(tmp_path):
    """The nearest options are suggested (and the names other trainers use are known), not all of them listed."""
    line = one_line_error(run_cli(SCRIPT, "--learning_rate=3", "--max_step=5", f"--output_dir={tmp_path / 'o'}"))
    assert "unknown option --learning_rate; did you mean --lr?" in line
    assert "unknown option --max_step; did you mean --max_steps" in line and "--help lists every option" in line
    assert "corpus_format" not in line  # not a list of all options
    assert not (tmp_path / "o").exists()


def test_missing_corpus(tmp_path):
    line = one_line_error(run_cli(SCRIPT, f"--corpus={tmp_path / 'nope.txt'}", f"--output_dir={tmp_path / 'o'}",
                                  "--wandb=disabled"))
    assert "nope.txt" in line
    assert not (tmp_path / "o").exists()


def test_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n  \n")
    line = one_line_error(run_cli(SCRIPT, f"--corpus={tmp_path / 'empty.txt'}", f"--output_dir={tmp_path / 'o'}",
                                  "--wandb=disabled"))
    assert "empty.txt" in line and "no text" in line
    assert not (tmp_path / "o").exists()


def test_non_utf8_corpus_names_file_and_offset(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("First sentence here.\nCaf\xe9 au lait is served.\n".encode("latin-1"))
    line = one_line_error(run_cli(SCRIPT, f"--corpus={bad}", f"--output_dir={tmp_path / 'o'}", "--wandb=disabled"))
    assert "latin1.txt" in line and "line 2" in line and "byte" in line
    assert not (tmp_path / "o").exists()


def test_occupied_output_dir_is_refused(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "run_config.json").write_text("{}")
    line = one_line_error(run_cli(SCRIPT, f"--output_dir={out}", "--wandb=disabled"))
    assert "already holds a run" in line and "--overwrite" in line
    assert sorted(p.name for p in out.iterdir()) == ["run_config.json"]


def test_bad_value_names_choices():
    line = one_line_error(run_cli(SCRIPT, "--optimizer=sgd"))
    assert "--optimizer" in line and "lamb" in line and "adamw" in line


@pytest.mark.parametrize("launcher_flag", [["--local_rank=1"], ["--local-rank", "1"]])
def test_launcher_rank_flag_before_a_subcommand_is_dropped(launcher_flag):
    """`deepspeed` and torch.distributed.launch put --local_rank first, where fire expects the subcommand."""
    proc = run_cli(ROOT / "launch" / "finetune.py", *launcher_flag, "glue", "--help", env={"LOCAL_RANK": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "alba finetune glue" in proc.stdout


def test_model_is_checked_before_any_data_is_read(tmp_path):
    """A misspelt preset, a bad override, or a model directory where a preset goes: refused at once (the corpus
    named here does not even exist), naming the fix."""
    common = ["--corpus=/nonexistent/corpus.txt", f"--output_dir={tmp_path / 'o'}"]
    line = one_line_error(run_cli(SCRIPT, "--model=bert-bse", *common))
    assert "--model 'bert-bse' is not a model preset; did you mean bert-base" in line
    line = one_line_error(run_cli(SCRIPT, "--model=albert-test", '--model_overrides={"hidden_size": 65}', *common))
    assert "hidden_size=65 must be divisible by num_attention_heads=2" in line
    model_dir = tmp_path / "exported"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    line = one_line_error(run_cli(SCRIPT, f"--model={model_dir}", *common))
    assert f"pass --init_from={model_dir}" in line
    assert not (tmp_path / "o").exists()


def test_help_has_one_style_everywhere():
    """Groups list their commands with a line each; plain commands list their options with defaults, in the config
    commands' style (no Fire pages with short flags)."""
    top = run_cli("-m", "launch.cli", "--help")
    assert top.returncode == 0 and top.stdout.startswith("alba COMMAND")
    for word in ("pretrain", "data", "baseline", "finetune", "export", "predict", "plot"):
        line = next(l for l in top.stdout.splitlines() if l.strip().startswith(word + " "))
        assert len(line.split()) > 2, line  # described
    data = run_cli("-m", "launch.cli", "data", "--help")
    assert all(f"  {c} " in data.stdout for c in ("corpus", "tokenizer", "build", "inspect"))
    corpus = run_cli("-m", "launch.cli", "data", "corpus", "--help")
    assert "--source='embedded'" in corpus.stdout and "--overwrite=False" in corpus.stdout
    export = run_cli(ROOT / "launch" / "export.py", "-h")
    assert "--checkpoint (required" in export.stdout and "--tokenizer=''" in export.stdout
    baseline = run_cli("-m", "launch.cli", "baseline", "text_cnn", "--help")
    assert "--filter_widths=" in baseline.stdout and "[model]" in baseline.stdout
    pretrain = run_cli(SCRIPT, "--help")
    assert "albert-demo, albert-test" in pretrain.stdout  # the preset names
    for proc in (top, data, corpus, export, baseline, pretrain):
        assert proc.returncode == 0 and "SYNOPSIS" not in proc.stdout and "-s, --source" not in proc.stdout

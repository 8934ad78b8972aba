import json

import pytest

from conftest import run_cli
from pretrain.config import ConfigError
from pretrain.plot import plot_run, read_metrics


def write_log(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_plot_writes_a_png_with_the_series(tmp_path):
    write_log(tmp_path / "metrics.jsonl", [
        {"step": s, "time": 0.0, "train/loss": 5.0 / s, "train/mlm_accuracy": 0.1 * s, "train/lr": 1e-3}
        for s in range(1, 6)] + [{"step": 5, "eval/loss": 1.5, "eval/sop_accuracy": 0.7}])
    series = read_metrics(tmp_path / "metrics.jsonl")
    assert series["train/loss"] == ([1, 2, 3, 4, 5], [5.0, 2.5, 5 / 3, 1.25, 1.0])
    assert series["eval/loss"] == ([5], [1.5])
    assert "time" not in series
    png = plot_run(str(tmp_path))
    assert png == tmp_path / "curves.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_malformed_line_names_file_and_line(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1, "train/loss": 2.0}\n{"step": 2, "train/lo\n')
    with pytest.raises(ConfigError, match=r"metrics.jsonl:2: not a metrics record"):
        plot_run(str(tmp_path))
    assert not (tmp_path / "curves.png").exists()


def test_cli_on_a_missing_run(tmp_path):
    result = run_cli("-m", "launch.cli", "plot", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("alba: error: no metrics log at")

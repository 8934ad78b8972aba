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


def test_each_loss_has_its_panel_and_held_out_curves_match_their_training_colour():
    from pretrain.plot import figure
    steps = list(range(1, 11))
    series = {"train/mlm_loss": (steps, [7.0 - 0.3 * s for s in steps]), "train/sop_loss": (steps, [0.7] * 10),
              "eval/mlm_loss": ([5, 10], [5.8, 4.1]), "eval/sop_loss": ([5, 10], [0.69, 0.66]),
              "train/mlm_accuracy": (steps, [0.01 * s for s in steps]), "train/lr": (steps, [1e-3] * 10)}
    fig = figure(series, "run")
    axes = {ax.get_title(loc="left"): ax for ax in fig.axes}
    assert list(axes) == ["mlm loss", "sop loss", "accuracy", "learning rate"]
    sop = {line.get_label(): line for line in axes["sop loss"].get_lines()}
    assert set(sop) == {"train/sop_loss", "eval/sop_loss"}
    low, high = axes["sop loss"].get_ylim()
    assert high - low < 0.2  # its own axis: SOP's 0.7 is not flattened beside MLM's 7
    for panel in ("mlm loss", "sop loss"):
        lines = {line.get_label(): line for line in axes[panel].get_lines()}
        train, held_out = (lines[f"{kind}/{panel.replace(' ', '_')}"] for kind in ("train", "eval"))
        assert train.get_color() == held_out.get_color() and held_out.get_linestyle() == "--"
        assert list(held_out.get_xdata()) == [5, 10]  # a line through the evaluations
    fig.canvas.draw()
    for ax in fig.axes:  # every legend to the right of its curves
        assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1

"""What an operator's mistakes and bad luck cost: `--overwrite` never loses the old run before the new one has a
checkpoint, an unusable --output_dir is refused before any data is read, and skipped steps are reported."""
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

from conftest import ROOT, run_cli
from pretrain.checkpoint import TrainState
from pretrain.engine import Engine, make_accelerator
from pretrain.optim import build_scheduler
from pretrain.tracking import Tracker

SCRIPT = ROOT / "launch" / "pretrain.py"
ARGS = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64", "--batch_size=16",
        "--max_predictions=10", "--wandb=disabled", "--progress=False", "--log_every=5", "--max_steps=10",
        "--save_every=5"]


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    assert run_cli(SCRIPT, *ARGS, f"--output_dir={out}").returncode == 0
    old = _files(out)
    assert (out / "model.safetensors").is_file()

    diverged = run_cli(SCRIPT, *ARGS, "--lr=1e30", "--overwrite", f"--output_dir={out}")
    assert diverged.returncode == 2, diverged.stderr[-2000:]
    assert "not finite" in diverged.stderr.strip().splitlines()[-1]
    assert _files(out) == old  # the finished run is back, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # and nothing is left beside it

    replaced = run_cli(SCRIPT, *ARGS, "--seed=1", "--overwrite", f"--output_dir={out}")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert (out / "model.safetensors").read_bytes() != old[Path("model.safetensors")]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # the old run went once the new one had a checkpoint


def test_an_unusable_output_dir_is_refused_before_the_data_is_read(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for bad, reason in ((a_file / "sub", "is a file"), (a_file, "is not a directory"),
                        ("/proc/alba-run", "cannot be written")):
        proc = run_cli(SCRIPT, *ARGS, f"--output_dir={bad}")
        assert proc.returncode == 2
        assert proc.stderr.strip().count("\n") == 0 and reason in proc.stderr, proc.stderr[-2000:]
        assert "[alba] corpus" not in proc.stdout  # refused before reading the corpus
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@dataclass
class _Out:
    loss: torch.Tensor


class _Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, input_ids):
        return _Out(((self.w * input_ids.float()) ** 2).mean())

    def save_pretrained(self, directory, weights=None):
        Path(directory).mkdir(parents=True, exist_ok=True)
        save_file(self.state_dict(), Path(directory) / "model.safetensors")


def test_skipped_steps_are_counted_and_reported(tmp_path, capsys):
    """Every third batch has a non-finite loss: the optimizer skips it (never five in a row, so the run goes on),
    and the count, which the checkpoint keeps, is reported with a warning."""
    model = _Scale()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    batches = [{"input_ids": torch.tensor([math.inf if i % 3 == 2 else 1.0])} for i in range(30)]
    engine = Engine(model, optimizer, build_scheduler(optimizer, 0, 20, "linear"), make_accelerator(),
                    max_steps=20, output_dir=tmp_path, tracker=Tracker(tmp_path, {}, wandb="disabled"), seed=0,
                    log_every=5, progress=False)
    state = engine.fit(lambda epoch, start: iter(batches[start:]), TrainState())
    assert (state.step, state.skipped_steps) == (20, 9)
    assert TrainState.from_file(tmp_path / "checkpoints" / "step-00000020" / "trainer_state.json") == state
    printed = capsys.readouterr().out
    assert "warning: 9 of 29 batches (31.0%) were skipped" in printed

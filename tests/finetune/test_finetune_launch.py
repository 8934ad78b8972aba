"""Fine-tuning on the shared run skeleton: the same run from one process, two under torchrun, `accelerate launch`
and DeepSpeed ZeRO-2/3 (gloo on CPU); bf16 autocast; and a run stopped mid-epoch (or after an evaluation) and resumed is the
uninterrupted run, down to its history of evaluations and its best epoch."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, free_port, run_cli

SCRIPT = ROOT / "launch" / "finetune.py"
BIN = Path(sys.executable).parent
POSITIVE, NEGATIVE, OTHER = "good great fine".split(), "bad awful dull".split(), "film plot story acting".split()
STEPS = 8  # 2 epochs of 64 rows in batches of 16


def _write(path: Path, rows: int, seed: int) -> Path:
    g = torch.Generator().manual_seed(seed)
    lines = ["sentence\tlabel"]
    for i in range(rows):
        label = i % 2
        words = [OTHER[int(j)] for j in torch.randint(len(OTHER), (4,), generator=g)]
        words.insert(int(torch.randint(5, (1,), generator=g)), (POSITIVE if label else NEGATIVE)[i % 3])
        lines.append(f"{' '.join(words)}\t{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("sst")
    return _write(d / "train.tsv", 64, 0), _write(d / "dev.tsv", 32, 1)


def _args(data, out: Path, *extra: str) -> list[str]:
    train, dev = data
    return ["glue", "--task=sst2", f"--train_file={train}", f"--dev_file={dev}", "--model=albert-test",
            "--vocab_size=64", "--max_seq_length=16", "--batch_size=16", "--epochs=2", "--lr=3e-3",
            "--baseline=False", "--wandb=disabled", "--progress=False", "--log_every=1", "--save_every=0",
            f"--output_dir={out}", *extra]


def _losses(out: Path) -> list[float]:
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = {r["step"]: r["train/loss"] for r in records if "train/loss" in r}
    assert sorted(train) == list(range(1, STEPS + 1))
    # Each process took its share of every batch: the rows trained on are the global batches', not more.
    assert [r["train/samples"] for r in records if "train/samples" in r][-1] == 16 * STEPS
    tokens = [r["train/tokens"] for r in records if "train/tokens" in r]  # tokens seen so far, logged every step
    assert len(tokens) == STEPS and tokens[0] > 0 and all(b > a for a, b in zip(tokens, tokens[1:]))
    return [train[s] for s in sorted(train)]


def _assert_same_run(a: Path, b: Path, rel: float):
    assert _losses(b) == pytest.approx(_losses(a), rel=rel, abs=rel * 1e-2)
    ra, rb = (json.loads((p / "results.json").read_text()) for p in (a, b))
    assert rb["best_epoch"] == ra["best_epoch"]
    assert [h["dev/accuracy"] for h in rb["history"]] == [h["dev/accuracy"] for h in ra["history"]]
    wa, wb = load_file(a / "best" / "model.safetensors"), load_file(b / "best" / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wb[k], wa[k], rtol=rel, atol=rel * 1e-1, msg=k)


@pytest.fixture(scope="module")
def single(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "run"
    proc = run_cli(SCRIPT, *_args(data, out, "--classifier_dropout=0"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _launch(cmd: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    env.setdefault("TORCH_EXTENSIONS_DIR", str(Path.home() / ".cache" / "torch_extensions"))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    return proc


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(data, single, tmp_path):
    out = tmp_path / "torchrun"
    _launch([str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", str(SCRIPT),
             *_args(data, out, "--classifier_dropout=0")])
    _assert_same_run(single, out, rel=1e-4)


@pytest.mark.slow
def test_accelerate_launch_two_processes_equal_one(data, single, tmp_path):
    """With the shipped CPU config (two processes, gloo)."""
    out = tmp_path / "accelerate"
    _launch([str(BIN / "accelerate"), "launch", "--config_file", str(ROOT / "launch" / "configs" /
                                                                     "accelerate_cpu.yaml"),
             f"--main_process_port={free_port()}", str(SCRIPT), *_args(data, out, "--classifier_dropout=0")])
    _assert_same_run(single, out, rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_two_processes_equal_one(data, single, tmp_path, stage):
    out = tmp_path / f"zero{stage}"
    buffers = lambda: set(Path("/dev/shm").glob("deepspeed_allreduce_buffer_*"))  # noqa: E731
    before = buffers()
    _launch([str(BIN / "deepspeed"), "--num_gpus", "2", f"--master_port={free_port()}", str(SCRIPT),
             *_args(data, out, "--classifier_dropout=0",
                    f"--deepspeed_config={ROOT / 'launch' / 'configs' / f'zero{stage}.json'}")])
    _assert_same_run(single, out, rel=1e-4)
    assert buffers() <= before  # each process removed the 66 MB shared-memory buffer DeepSpeed leaves


def test_bf16_trains_close_to_fp32(data, single, tmp_path):
    out = tmp_path / "bf16"
    proc = run_cli(SCRIPT, *_args(data, out, "--classifier_dropout=0", "--precision=bf16"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    fp32, bf16 = _losses(single), _losses(out)
    assert bf16 != fp32  # autocast really ran in bf16 ...
    assert bf16 == pytest.approx(fp32, rel=5e-2)  # ... and trains the same model


def _roll_back(out: Path, step: int):
    """Make `out` look like a run killed just after writing its step-`step` checkpoint: the later checkpoints and
    results are gone, while the evaluations file and best model may already be ahead of the checkpoint."""
    ckpts = out / "checkpoints"
    (ckpts / "latest").write_text(f"step-{step:08d}")
    for later in [p for p in ckpts.glob("step-*") if int(p.name[5:]) > step]:
        shutil.rmtree(later)
    (out / "results.json").unlink()


@pytest.mark.parametrize("stop", [3, 6], ids=["mid-first-epoch", "after-first-evaluation"])
def test_stopped_and_resumed_run_is_the_uninterrupted_run(data, tmp_path, stop):
    """Dropout on (the classifier's 0.1): the resumed run must draw the same masks as the uninterrupted one."""
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    args = ["--save_every=3", "--keep_checkpoints=5"]
    proc = run_cli(SCRIPT, *_args(data, whole, *args))
    assert proc.returncode == 0, proc.stderr[-3000:]
    evaluations = json.loads((whole / "evaluations.json").read_text())
    assert [(e["epoch"], e["step"]) for e in evaluations] == [(1, 4), (2, 8)]
    shutil.copytree(whole, resumed)
    _roll_back(resumed, stop)
    proc = run_cli(SCRIPT, *_args(data, resumed, *args, "--resume"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"resuming at step {stop}" in proc.stdout
    _assert_same_run(whole, resumed, rel=0)
    assert json.loads((resumed / "results.json").read_text())["history"] == \
        json.loads((whole / "results.json").read_text())["history"]
    assert json.loads((resumed / "evaluations.json").read_text()) == evaluations


def test_resume_refuses_changed_options(data, tmp_path):
    out = tmp_path / "run"
    assert run_cli(SCRIPT, *_args(data, out, "--epochs=1", "--tensorboard")).returncode == 0
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))  # the tracker option reaches every job
    proc = run_cli(SCRIPT, *_args(data, out, "--epochs=1", "--lr=1e-3", "--resume"))
    assert proc.returncode == 2 and "options differ from the run" in proc.stderr and "lr" in proc.stderr


def test_resumed_grid_keeps_finished_points_and_runs_the_rest(data, tmp_path):
    out = tmp_path / "grid"
    grid = '--grid={"seed": [0, 1]}'
    assert run_cli(SCRIPT, *_args(data, out, "--epochs=1", grid)).returncode == 0
    first = out / "seed=0" / "results.json"
    kept = first.read_text()
    shutil.rmtree(out / "seed=1")  # as if the run was stopped before its second point
    (out / "results.json").unlink()
    proc = run_cli(SCRIPT, *_args(data, out, "--epochs=1", grid, "--resume"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "finished before, its results are kept" in proc.stdout
    assert first.read_text() == kept and (out / "seed=1" / "results.json").is_file()
    assert json.loads((out / "results.json").read_text())["seeds"] == 2


def test_random_start_at_a_pretrained_models_rate_is_warned(data, tmp_path):
    """BERT's fine-tuning lr (the default 2e-5) leaves a model from random weights near chance: say so."""
    proc = run_cli(SCRIPT, *_args(data, tmp_path / "low", "--lr=2e-5", "--epochs=1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning: --lr=2e-05 suits fine-tuning a pretrained model" in proc.stdout and "--lr=0.001" in proc.stdout
    proc = run_cli(SCRIPT, *_args(data, tmp_path / "high", "--epochs=1"))
    assert "warning" not in proc.stdout

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
# 'ci' (make test) runs slow end-to-end tests with reduced budgets; 'full' (make test-full) at full size.
BUDGET = os.environ.get("ALBA_TEST_BUDGET", "ci")
# One torch thread per test process (and the processes it starts), set before torch is first imported: make test runs
# a test on each core, and the figures the learning tests assert were measured so.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run a launch script or `-m launch.cli` the way a user would; returns a CompletedProcess. A single-process
    alba command runs inside this interpreter (the `alba` console script's main on its argv, output and exit
    status captured), which saves an interpreter and torch start-up per call; anything else, or with
    ALBA_TEST_SUBPROCESS=1, runs as a new process."""
    command = _alba_command(args)
    if command is not None and env is None and not os.environ.get("ALBA_TEST_SUBPROCESS"):
        return _run_in_process(args, command, cwd or ROOT)
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def one_line_error(proc) -> str:
    """The error line of an alba command that refused its input: exit status 2, no traceback, one 'alba: error:'
    line and it last (progress bars may precede it)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("alba: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.stderr
    return errors[0]


# launch/X.py -> the `alba` subcommand it is
_SCRIPTS = {"pretrain.py": "pretrain", "finetune.py": "finetune", "baseline.py": "baseline", "data.py": "data",
            "export.py": "export", "plot.py": "plot", "predict.py": "predict"}


def _alba_command(args) -> list[str] | None:
    """The `alba` command line a call runs, when it can run in this process: not under a launcher, and not with
    DeepSpeed, which forms a process group even for one process (and ends the interpreter after a run)."""
    args = [str(a) for a in args]
    if any(a.startswith("--deepspeed_config") for a in args):
        return None
    if args[:2] == ["-m", "launch.cli"]:
        return args[2:]
    script = Path(args[0])
    if script.parent == ROOT / "launch" and script.name in _SCRIPTS:
        return [_SCRIPTS[script.name], *args[1:]]
    return None


def _run_in_process(args, command: list[str], cwd) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import traceback
    import warnings

    from accelerate.state import AcceleratorState, PartialState

    from launch.cli import main

    out, err, code = io.StringIO(), io.StringIO(), 0
    saved_cwd, saved_mode, saved_argv = os.getcwd(), os.environ.get("WANDB_MODE"), sys.argv
    sys.argv = ["alba", *command]  # what the console script `alba` reads, --help and launcher flags included
    os.environ["WANDB_MODE"] = "offline"
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")  # each warning shows once per run, as in a new process
            # Printed to the captured stderr as Python prints them, not recorded by pytest's own warning capture.
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # what would end a new process with a traceback
                traceback.print_exc()
                code = 1
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        if saved_mode is None:
            os.environ.pop("WANDB_MODE", None)
        else:
            os.environ["WANDB_MODE"] = saved_mode
        AcceleratorState._reset_state(True)  # the next run builds its accelerator afresh, as a new process would
        PartialState._reset_state()
    return subprocess.CompletedProcess([sys.executable, *map(str, args)], code, out.getvalue(), err.getvalue())


def free_port() -> int:
    """A TCP port free now, for a launcher's --master_port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


_SHM, _SHM_PATTERN = Path("/dev/shm"), f"deepspeed_allreduce_buffer_{os.getuid()}_*"
_SHM_BEFORE = pytest.StashKey[set]()


# DeepSpeed's CPU all-reduce leaves a 69 MB buffer per process in /dev/shm and never unlinks it; without this, every
# test session that launches DeepSpeed would keep about a gigabyte of RAM there. The main pytest process does it (not
# an xdist worker, whose end may come while the other worker's DeepSpeed processes still use theirs).
def pytest_sessionstart(session):
    if "PYTEST_XDIST_WORKER" not in os.environ and _SHM.is_dir():
        session.config.stash[_SHM_BEFORE] = set(_SHM.glob(_SHM_PATTERN))


def pytest_sessionfinish(session):
    before = session.config.stash.get(_SHM_BEFORE, None)
    if before is not None:
        for buffer in set(_SHM.glob(_SHM_PATTERN)) - before:
            buffer.unlink(missing_ok=True)


def metric_records(run: Path) -> list[dict]:
    """The records of a run's metrics.jsonl."""
    import json
    return [json.loads(line) for line in (run / "metrics.jsonl").open()]


def cut_back(whole: Path, cut: Path, step: int, sub: str = "") -> None:
    """Copy the finished run `whole` to `cut` as if it had stopped after the checkpoint at `step`: later checkpoints,
    the final weights and results, and later metrics are left out. `sub`: the folder of the run that holds the
    checkpoints (a bAbI task's)."""
    import json
    import shutil
    shutil.copytree(whole, cut)
    for path in list((cut / sub / "checkpoints").glob("step-*")):
        if int(path.name.split("-")[1]) > step:
            shutil.rmtree(path)
    (cut / sub / "checkpoints" / "latest").write_text(f"step-{step:08d}")
    for path in (cut / sub / "model.safetensors", cut / sub / "config.json", cut / sub / "results.json",
                 cut / "results.json"):
        path.unlink(missing_ok=True)
    (cut / sub / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metric_records(whole / sub)
                                                     if r["step"] <= step))


def assert_same_run(a: Path, b: Path) -> None:
    """Two runs ended bit-identical: the same final weights, and the same logged metrics but for wall-clock
    figures."""
    import torch
    from safetensors.torch import load_file
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], rtol=0, atol=0, msg=name)
    stable = lambda run: [{k: v for k, v in r.items() if k != "time" and not k.endswith(("_per_s", "_seconds"))}
                          for r in metric_records(run)]
    assert stable(b) == stable(a)


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` skip, with their reason, where torch sees no CUDA device."""
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; torch sees none here (benchmarks/gpu/run.py runs it on one)")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)

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


def run_cli(*args, cwd=None, timeout=600, env=None):
    """Run a launch script or module the way a user would; returns the CompletedProcess."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


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


@pytest.fixture(scope="session", autouse=True)
def remove_deepspeed_shared_memory():
    """DeepSpeed's CPU all-reduce leaves a 69 MB buffer per process in /dev/shm and never unlinks it; without this,
    every test session that launches DeepSpeed would keep about a gigabyte of RAM there."""
    shm = Path("/dev/shm")
    pattern = f"deepspeed_allreduce_buffer_{os.getuid()}_*"
    before = set(shm.glob(pattern)) if shm.is_dir() else set()
    yield
    if shm.is_dir():
        for buffer in set(shm.glob(pattern)) - before:
            buffer.unlink(missing_ok=True)

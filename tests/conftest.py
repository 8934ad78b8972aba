import os
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


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA

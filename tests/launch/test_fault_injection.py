"""The reduced form of benchmarks/fault_injection.py: a dropout model killed with SIGKILL (one process, and 2
processes under torchrun, once at a random moment and once while a checkpoint is written) and resumed ends
bit-identical to the uninterrupted run. The full form (10 kills per mode, ZeRO-2 too) is in RESULTS.md."""
import json

import pytest

from conftest import BUDGET, ROOT, run_cli


@pytest.mark.slow
def test_killed_and_resumed_runs_are_bit_identical(tmp_path):
    kills = 2 if BUDGET == "ci" else 4
    report = tmp_path / "faults.json"
    proc = run_cli(ROOT / "benchmarks" / "fault_injection.py", "--modes", "single", "torchrun", "--kills", kills,
                   "--steps", 20, "--out", tmp_path / "runs", "--json", report, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    for mode in ("single", "torchrun"):
        runs = results[mode]["runs"]
        assert [r["identical"] for r in runs] == [True] * kills, runs
        assert any("checkpoint" in r["hit"] for r in runs)  # one kill struck while a checkpoint was written

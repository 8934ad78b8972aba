"""benchmarks/gpu/run.py --dry-run: the GPU check's every stage on tiny sizes on CPU, so that the one command the GPU
machine gets is known to work before it gets there."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path):
    out, wheels = tmp_path / "out", tmp_path / "no-wheels"
    wheels.mkdir()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu" / "run.py"), "--dry-run", f"--out={out}",
                           f"--wheels={wheels}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "gpu_results.json").read_text())
    assert results["install"]["status"] == "skipped" and "fetch_wheels.sh" in results["install"]["why"]
    assert results["environment"]["device"] == "cpu"
    stages = results["stages"]
    assert list(stages) == ["tests", "modeling_seq128", "modeling_seq512", "pretrain", "unpadded", "lamb"]
    assert all(s["status"] == "ok" for s in stages.values())
    assert (out / "gpu_tests.xml").is_file()  # the gpu tests' report (all skipped here)
    for name in ("modeling_seq128", "modeling_seq512"):
        (row,) = stages[name]["figures"]
        assert row["loss_difference"] < 1e-4 and row["tokens_per_s"]["alba"] > 0
    assert stages["pretrain"]["figures"]["steps"] > 0
    assert stages["unpadded"]["figures"]["results"][0]["speedup"] > 0
    assert stages["lamb"]["figures"]["results"][0]["max_abs_diff"] < 1e-6
    assert sorted(p.name for p in out.iterdir()) == ["gpu_results.json", "gpu_tests.xml"]  # nothing else to fetch

import json

import pytest

from conftest import ROOT, run_cli
from pretrain.config import ConfigError, RunConfig
from pretrain.deepspeed_config import load_deepspeed_config, resolve


def cfg(**kw):
    return RunConfig.build(**{"batch_size": 32, "grad_accum_steps": 2, "optimizer": "adamw", **kw})


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_shipped_configs_resolve_from_the_run_config(stage):
    path = ROOT / "launch" / "configs" / f"zero{stage}.json"
    ds = resolve(load_deepspeed_config(str(path)), cfg(grad_clip=0.5, precision="bf16"), world=4, path=str(path))
    assert (ds["train_batch_size"], ds["train_micro_batch_size_per_gpu"], ds["gradient_accumulation_steps"],
            ds["gradient_clipping"]) == (32, 4, 2, 0.5)
    assert ds["bf16"]["enabled"] is True and ds["fp16"]["enabled"] is False
    assert ds["zero_optimization"]["stage"] == stage


@pytest.mark.parametrize("key,value,names", [
    ("train_batch_size", 64, "train_batch_size=64 contradicts --batch_size=32"),
    ("gradient_accumulation_steps", 1, "gradient_accumulation_steps=1 contradicts --grad_accum_steps=2"),
    ("train_micro_batch_size_per_gpu", 16, "train_micro_batch_size_per_gpu=16 contradicts --batch_size"),
    ("gradient_clipping", 5.0, "gradient_clipping=5.0 contradicts --grad_clip=1.0"),
    ("fp16", {"enabled": True}, "fp16.enabled=True contradicts --precision=fp32"),
])
def test_contradictions_name_both_values(key, value, names):
    with pytest.raises(ConfigError, match=names.replace("(", r"\(").replace("/", ".")):
        resolve({key: value}, cfg(), world=2, path="ds.json")


def test_lamb_on_flat_partitions_is_refused_with_the_alternatives():
    with pytest.raises(ConfigError, match="ZeRO stage 2 .*trust ratio.*--shard_optimizer"):
        resolve({"zero_optimization": {"stage": 2}}, cfg(optimizer="lamb"), world=2, path="ds.json")
    resolve({"zero_optimization": {"stage": 0}}, cfg(optimizer="lamb"), world=2, path="ds.json")


def test_optimizer_section_is_refused():
    with pytest.raises(ConfigError, match="remove the 'optimizer' section"):
        resolve({"optimizer": {"type": "Adam"}}, cfg(), world=1, path="ds.json")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_deepspeed_config(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "zero_optimization": {"stage": 2,}\n}\n')
    with pytest.raises(ConfigError, match=r"bad.json:2:\d+: invalid JSON"):
        load_deepspeed_config(str(bad))


def test_cli_refuses_before_writing_anything(tmp_path):
    ds = tmp_path / "ds.json"
    ds.write_text(json.dumps({"train_batch_size": 8}))
    out = tmp_path / "run"
    proc = run_cli(ROOT / "launch" / "pretrain.py", "--corpus=synthetic", f"--deepspeed_config={ds}",
                   "--batch_size=16", f"--output_dir={out}", "--wandb=disabled")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"alba: error: DeepSpeed config {ds}: train_batch_size=8 contradicts --batch_size=16")
    assert not out.exists()

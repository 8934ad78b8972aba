"""What only a CUDA device can check: mixed precision, SDPA's CUDA kernels, NCCL, DeepSpeed ZeRO-2 and resume on a
GPU. Marked `gpu`: without a CUDA device they skip (tests/conftest.py); benchmarks/gpu/run.py runs them there."""
import json
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from conftest import ROOT, free_port, run_cli
from modeling import AlbaForPreTraining, ModelConfig

pytestmark = pytest.mark.gpu

SCRIPT = ROOT / "launch" / "pretrain.py"
TINY = ["--corpus=synthetic", "--model=albert-test", "--vocab_size=256", "--max_seq_length=64",
        "--batch_size=32", "--optimizer=adamw", "--lr=1e-3", "--warmup=0.1", "--max_predictions=10",
        "--wandb=disabled", "--progress=False", "--log_every=1", "--save_every=0"]


def _losses(out):
    return [r["train/loss"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
            if "train/loss" in r]


def _torchrun(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=1",
                           f"--master_port={free_port()}", str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_mixed_precision_trains_like_fp32(tmp_path):
    """bf16 autocast and fp16 with loss scaling on CUDA: the first loss is fp32's to rounding, the last ten steps'
    mean within 5% of fp32's (fp16 may skip its first steps while the loss scale settles), and fp16 logs its loss
    scale."""
    losses = {}
    for precision in ("fp32", "bf16", "fp16"):
        out = tmp_path / precision
        proc = run_cli(SCRIPT, *TINY, "--max_steps=40", f"--precision={precision}", f"--output_dir={out}")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "on cuda" in proc.stdout
        losses[precision] = _losses(out)
    tail = lambda xs: sum(xs[-10:]) / 10
    for precision in ("bf16", "fp16"):
        print(f"{precision}: first loss {losses[precision][0]:.4f}, last ten {tail(losses[precision]):.4f}; fp32 "
              f"{losses['fp32'][0]:.4f}, {tail(losses['fp32']):.4f}")
        assert losses[precision][0] == pytest.approx(losses["fp32"][0], rel=0.01), precision
        assert tail(losses[precision]) == pytest.approx(tail(losses["fp32"]), rel=0.05), precision
    assert losses["fp32"][-1] < 0.8 * losses["fp32"][0]  # it learned something
    scales = [r for r in map(json.loads, (tmp_path / "fp16" / "metrics.jsonl").read_text().splitlines())
              if "train/loss_scale" in r]
    assert scales and all(r["train/loss_scale"] > 0 for r in scales)


@pytest.mark.parametrize("dtype, atol", [(torch.float32, 1e-4), (torch.bfloat16, 3e-2)])
def test_cuda_attention_matches_cpu_and_unpadded_matches_padded(dtype, atol):
    """SDPA's CUDA kernels give the CPU's fp32 numbers (bf16 within rounding), and the unpadded jagged path (CUDA's
    variable-length kernels) equals the padded one at real tokens, in training mode as pretraining runs it."""
    torch.manual_seed(0)
    config = ModelConfig.from_preset("bert-small", vocab_size=512, hidden_dropout_prob=0.0,
                                     attention_probs_dropout_prob=0.0)
    lengths = torch.tensor([128, 77, 31, 100])
    real = torch.arange(128)[None, :] < lengths[:, None]
    ids = torch.randint(5, 512, real.shape) * real
    cpu = AlbaForPreTraining(ModelConfig(**{**config.to_dict(), "unpad": "never"})).train()
    with torch.no_grad():
        want = cpu.alba(ids, attention_mask=real.long()).sequence_output[real]
        got = {}
        for unpad in ("never", "always"):
            model = AlbaForPreTraining(ModelConfig(**{**config.to_dict(), "unpad": unpad})).cuda().train()
            model.load_state_dict(cpu.state_dict())
            with torch.autocast("cuda", dtype, enabled=dtype != torch.float32):
                got[unpad] = model.alba(ids.cuda(), attention_mask=real.long().cuda()).sequence_output.float()
    torch.testing.assert_close(got["never"].cpu()[real], want, atol=atol, rtol=0)
    torch.testing.assert_close(got["always"].cpu()[real], got["never"].cpu()[real], atol=atol, rtol=0)
    assert got["always"].cpu()[~real].abs().max() == 0


def test_nccl_with_one_process(tmp_path):
    out = tmp_path / "nccl"
    proc = _torchrun(*TINY, "--max_steps=5", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["steps"] == 5
    assert "on cuda" in proc.stdout


def test_deepspeed_zero2_on_one_gpu(tmp_path):
    pytest.importorskip("deepspeed", reason="DeepSpeed is not installed (benchmarks/gpu/fetch_wheels.sh carries it)")
    out = tmp_path / "zero2"
    proc = _torchrun(*TINY, "--max_steps=5", "--precision=bf16",
                     f"--deepspeed_config={ROOT / 'launch' / 'configs' / 'zero2.json'}", f"--output_dir={out}")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["steps"] == 5
    assert all(loss == loss for loss in _losses(out))  # finite


def test_resume_on_cuda(tmp_path):
    """A bf16 run on CUDA resumed from its step-10 checkpoint ends with the uninterrupted run's weights (to 1e-5:
    CUDA's atomic gradient sums, e.g. the embedding's, may round differently between runs)."""
    out = tmp_path / "run"
    args = [a for a in TINY if not a.startswith("--save_every")] + [
        "--precision=bf16", "--max_steps=20", "--save_every=10", "--keep_checkpoints=3", f"--output_dir={out}"]
    proc = run_cli(SCRIPT, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    final = load_file(out / "model.safetensors")
    shutil.rmtree(out / "checkpoints" / "step-00000020")
    (out / "checkpoints" / "latest").write_text("step-00000010")
    proc = run_cli(SCRIPT, *args, "--resume")
    assert proc.returncode == 0, proc.stderr[-3000:]
    resumed = load_file(out / "model.safetensors")
    assert final.keys() == resumed.keys()
    differs = max((resumed[k].float() - final[k].float()).abs().max().item() for k in final)
    print(f"largest weight difference after resuming on CUDA: {differs:.1e}")
    assert differs <= 1e-5

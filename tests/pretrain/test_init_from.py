"""--init_from: pretraining starts from the weights and tokenizer of an alba run or of a transformers directory,
with a fresh optimizer and schedule; a sentence head the start lacks or trained for the other task starts fresh."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from modeling import ConfigError as ModelConfigError
from modeling import to_hf
from pretrain.config import ConfigError, RunConfig
from pretrain.pretraining import run_pretraining


def _run(out, **flags):
    options = dict(corpus="synthetic", model="albert-test", vocab_size=256, max_seq_length=64, batch_size=16,
                   max_steps=3, optimizer="adamw", wandb="disabled", progress=False, save_every=0, log_every=1,
                   output_dir=str(out))
    return run_pretraining(RunConfig.build(**{**options, **flags}))


def test_init_from_an_alba_run_and_from_its_transformers_export(tmp_path):
    first = tmp_path / "first"
    _run(first)
    start = load_file(first / "model.safetensors")
    # At lr 1e-12 a step moves no weight measurably: the new run's final weights are the ones it started from.
    summary = _run(tmp_path / "alba", init_from=str(first), lr=1e-12, max_steps=1)
    assert summary["steps"] == 1  # a fresh schedule, not the first run's step count
    again = load_file(tmp_path / "alba" / "model.safetensors")
    assert again.keys() == start.keys()
    for name in start:
        torch.testing.assert_close(again[name], start[name], rtol=0, atol=1e-9, msg=name)
    assert (tmp_path / "alba" / "tokenizer.json").read_bytes() == (first / "tokenizer.json").read_bytes()

    hf = tmp_path / "hf"
    to_hf(first, hf, tokenizer=str(first))
    _run(tmp_path / "nsp", init_from=str(hf), lr=1e-12, max_steps=1, sentence_task="nsp")
    nsp = load_file(tmp_path / "nsp" / "model.safetensors")
    for name in start:
        if name.startswith("sentence_classifier."):  # trained for SOP: NSP starts from random weights
            assert not torch.allclose(nsp[name], start[name], atol=1e-3), name
        else:
            torch.testing.assert_close(nsp[name], start[name], rtol=0, atol=1e-6, msg=name)


    # A start without its tokenizer, or without a model, is refused before anything is written.
    with pytest.raises(ConfigError, match="holds no tokenizer.json"):
        _run(tmp_path / "bad", init_from=str(tmp_path))
    (tmp_path / "tokenizer_only").mkdir()
    shutil.copy(first / "tokenizer.json", tmp_path / "tokenizer_only")
    with pytest.raises(ModelConfigError, match="holds no config.json"):
        _run(tmp_path / "bad", init_from=str(tmp_path / "tokenizer_only"))
    assert not (tmp_path / "bad").exists()


def test_resume_may_extend_a_finished_run(tmp_path):
    """--resume with a larger --max_steps continues a finished run, its decay stretched to the new end: from the
    checkpoint on, the learning rates are those of a run planned that long from the start."""
    lrs = lambda out: {r["step"]: r["train/lr"] for r in map(json.loads, (out / "metrics.jsonl").open())  # noqa: E731
                       if "train/lr" in r}
    _run(tmp_path / "short", max_steps=4, warmup=0)
    summary = _run(tmp_path / "short", max_steps=8, warmup=0, resume=True)
    assert summary["steps"] == 8
    _run(tmp_path / "long", max_steps=8, warmup=0)
    extended, planned = lrs(tmp_path / "short"), lrs(tmp_path / "long")
    assert [extended[s] for s in range(5, 9)] == pytest.approx([planned[s] for s in range(5, 9)], rel=1e-12)
    assert extended[4] == 0.0 and planned[4] > 0  # the short run had decayed to zero at its end
    with pytest.raises(ConfigError, match="may only be extended"):
        _run(tmp_path / "short", max_steps=6, warmup=0, resume=True)
    # The first step after the extension trains at the new schedule's lr, not the finished run's last lr (zero).
    _run(tmp_path / "one", max_steps=4, warmup=0)
    ended = load_file(tmp_path / "one" / "model.safetensors")
    _run(tmp_path / "one", max_steps=5, warmup=0, resume=True)
    moved = load_file(tmp_path / "one" / "model.safetensors")
    assert any(not torch.equal(moved[k], ended[k]) for k in ended)

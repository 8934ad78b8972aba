"""Checkpoints survive a kill at any moment of a save, every kind of damage and a full disk: `--resume` finds the
newest intact checkpoint, says what it skipped, and a failed save leaves the previous checkpoints as they were."""
import errno
import json
import os
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from modeling import AlbaForPreTraining, ModelConfig
from pretrain import checkpoint as ckpt
from pretrain.checkpoint import (CheckpointError, TrainState, check_checkpoint, load_checkpoint, resumable_checkpoint,
                                 save_checkpoint)
from pretrain.config import ConfigError
from pretrain.optim import build_scheduler


def _parts(seed=0):
    torch.manual_seed(seed)
    model = AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=64))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, optimizer, build_scheduler(optimizer, 2, 10, "linear")


def _save(root, step, seed=0):
    model, optimizer, scheduler = _parts(seed)
    return save_checkpoint(root, step, model, None, optimizer.state_dict(), scheduler, TrainState(step=step))


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (no except/finally in the code under test catches it)."""


def _kill_at(monkeypatch, n):
    """Make the n-th file-system change of a save (rename, removal, file write) the last one that happens."""
    calls = {"n": 0}

    def wrap(fn):
        def killed(*a, **k):
            calls["n"] += 1
            if calls["n"] == n:
                raise _Killed
            return fn(*a, **k)
        return killed

    for name, fn in (("replace", os.replace),):
        monkeypatch.setattr(ckpt.os, name, wrap(fn))
    monkeypatch.setattr(ckpt.shutil, "rmtree", wrap(shutil.rmtree))
    return calls


@pytest.mark.parametrize("resave", [False, True], ids=["next-step", "same-step-again"])
def test_a_kill_at_any_moment_of_a_save_leaves_a_resumable_checkpoint(tmp_path, monkeypatch, resave):
    """Save step 20 (or, as a finished run resumed does, step 20 again) and kill it at every file-system change in
    turn: the newest intact checkpoint is step 20 if the save got far enough, never older than step 10."""
    n, finished = 1, False
    while not finished:
        root = tmp_path / f"kill-{n}"
        _save(root, 10)
        if resave:
            _save(root, 20)
        with monkeypatch.context() as m:
            calls = _kill_at(m, n)
            try:
                _save(root, 20, seed=1)
                finished = True
            except _Killed:
                pass
        found = resumable_checkpoint(root)
        assert found is not None, f"no checkpoint after a kill at change {n}"
        check_checkpoint(found)
        state = TrainState.from_file(found / "trainer_state.json")
        assert state.step == 20 if resave or finished else state.step in (10, 20), (n, found)
        n += 1
    assert calls["n"] >= 4  # the save was killed at each of its renames and removals


def _flip_last_byte(file):
    data = bytearray(file.read_bytes())
    data[-1] ^= 0xFF
    file.write_bytes(bytes(data))


DAMAGES = {
    "weights truncated": lambda s: (s / "model.safetensors").write_bytes((s / "model.safetensors").read_bytes()[:99]),
    "weights garbage": lambda s: (s / "model.safetensors").write_bytes(b"\x00garbage" * 50),
    "weights NaN": lambda s: save_file({k: torch.full_like(v, float("nan")) for k, v in
                                        load_file(s / "model.safetensors").items()}, s / "model.safetensors"),
    "weights missing": lambda s: (s / "model.safetensors").unlink(),
    "optimizer truncated": lambda s: (s / "optimizer.pt").write_bytes((s / "optimizer.pt").read_bytes()[:500]),
    "optimizer one byte changed": lambda s: _flip_last_byte(s / "optimizer.pt"),  # same size: only the checksum sees it
    "trainer state missing": lambda s: (s / "trainer_state.json").unlink(),
    "trainer state garbage": lambda s: (s / "trainer_state.json").write_bytes(b"\xff\xfe{{"),
    "manifest garbage": lambda s: (s / "manifest.json").write_text("[1, 2"),
    "manifest missing": lambda s: (s / "manifest.json").unlink(),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning_naming_it(tmp_path, damage):
    root = tmp_path / "checkpoints"
    _save(root, 10)
    newest = _save(root, 20)
    DAMAGES[damage](newest)
    with pytest.warns(UserWarning, match=f"skipped damaged newer checkpoint.*{newest.name}") as warned:
        assert resumable_checkpoint(root) == root / "step-00000010"
    assert str(newest) in str(warned[0].message)  # names the damaged file, not only the step


@pytest.mark.parametrize("text", [b"\xff\xfe\x00", b"../../x", b"step-99999999", b""])
def test_latest_is_a_hint_that_cannot_point_elsewhere(tmp_path, text):
    root = tmp_path / "checkpoints"
    _save(root, 10)
    (tmp_path / "x").mkdir()
    (root / "latest").write_bytes(text)
    assert resumable_checkpoint(root) == root / "step-00000010"


@pytest.mark.parametrize("bad", [{"step": "20"}, {"step": -1}, {"step": 20, "shoe_size": 3}, [20]],
                         ids=["string", "negative", "extra-key", "not-an-object"])
def test_trainer_state_is_checked_even_when_written_by_the_run(tmp_path, bad):
    """A state that was wrong when sealed (so the checksums hold) is still refused, by name."""
    root = tmp_path / "checkpoints"
    newest = _save(root, 20)
    (newest / "trainer_state.json").write_text(json.dumps(bad))
    ckpt._seal(newest)
    with pytest.raises(ConfigError, match=r"no intact checkpoint in .*trainer_state\.json is not valid trainer state"):
        resumable_checkpoint(root)


def test_weights_that_were_saved_non_finite_are_refused(tmp_path):
    model, optimizer, scheduler = _parts()
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))
    path = save_checkpoint(tmp_path, 5, model, None, optimizer.state_dict(), scheduler, TrainState(step=5))
    with pytest.raises(ValueError, match="non-finite"):
        check_checkpoint(path)


def test_a_full_disk_is_one_line_and_leaves_the_previous_checkpoints(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root, 10)
    before = _snapshot(root)

    def full(obj, file, *a, **k):
        with open(file, "wb") as f:
            f.write(b"x" * 1000)  # a partial file, as a full disk leaves it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ckpt.torch, "save", full)
    with pytest.raises(CheckpointError) as error:
        _save(root, 20)
    message = str(error.value)
    assert "\n" not in message and str(root) in message and "disk" in message and "MB" in message
    assert _snapshot(root) == before  # no .tmp-step-N left, step 10 and latest untouched


def test_resume_loads_what_was_saved(tmp_path):
    root = tmp_path / "checkpoints"
    path = _save(root, 7, seed=3)
    model, optimizer, scheduler = _parts(seed=4)
    state = load_checkpoint(resumable_checkpoint(root), model, optimizer, scheduler)
    assert state == TrainState(step=7)
    reference, *_ = _parts(seed=3)
    for (name, a), b in zip(reference.state_dict().items(), model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)
    assert path == root / "step-00000007"

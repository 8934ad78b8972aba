import json

import pytest

from pretrain.tracking import Tracker, wandb_mode


def test_wandb_mode_auto(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("NETRC", raising=False)
    assert wandb_mode("auto") == "offline"
    (tmp_path / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password abc123\n")
    (tmp_path / ".netrc").chmod(0o600)
    assert wandb_mode("auto") == "online"
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode("auto") == "disabled"
    assert wandb_mode("offline") == "offline"


def test_jsonl_and_offline_wandb(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    t = Tracker(tmp_path, {"lr": 0.1}, wandb="auto", project="alba-test")
    assert t.mode == "offline"
    t.log({"train/loss": 2.5}, step=1)
    t.log({"train/loss": 2.0}, step=2)
    t.close()
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["train/loss"] for r in rows] == [2.5, 2.0] and [r["step"] for r in rows] == [1, 2]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].glob("*.wandb"))
    # Said once, with the command that uploads it.
    out = capsys.readouterr().out
    assert out.count("W&B is offline") == 1 and f"`wandb sync {runs[0]}`" in out


def test_a_resumed_run_logs_each_step_once(tmp_path):
    """The interrupted run logged steps 1-13 (the last line cut short by the kill); its checkpoint is at step 10.
    The resumed run's log drops what came after the checkpoint before it logs those steps again."""
    lines = [json.dumps({"step": s, "train/loss": 1.0 / s}) for s in range(1, 13)] + ['{"step": 13, "tr']
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines))
    t = Tracker(tmp_path, {}, wandb="disabled", resume_step=10)
    t.log({"train/loss": 0.5}, step=11)
    t.close()
    rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 12)) and rows[-1]["train/loss"] == 0.5


def test_a_resumed_run_continues_its_wandb_run(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    first = Tracker(tmp_path, {"lr": 0.1}, wandb="offline", project="alba-test")
    first.log({"train/loss": 2.5}, step=1)
    run_id = first.run.id
    first.close()
    resumed = Tracker(tmp_path, {"lr": 0.1}, wandb="offline", project="alba-test", resume_step=1)
    assert resumed.run.id == run_id
    resumed.close()
    (tmp_path / "other").mkdir()
    fresh = Tracker(tmp_path / "other", {"lr": 0.1}, wandb="offline", project="alba-test")
    assert fresh.run.id != run_id  # a new run directory is a new W&B run
    fresh.close()


def test_tensorboard_events_and_a_resume_that_rewrites_later_steps(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    first = Tracker(tmp_path, {}, wandb="disabled", tensorboard=True)
    for step in range(1, 6):
        first.log({"train/loss": 10.0 - step, "train/note": "text is skipped"}, step=step)
    first.close()
    resumed = Tracker(tmp_path, {}, wandb="disabled", tensorboard=True, resume_step=3)  # steps 4 and 5 again
    for step in (4, 5):
        resumed.log({"train/loss": 100.0 + step}, step=step)
    resumed.close()
    board = EventAccumulator(str(tmp_path / "tensorboard"))
    board.Reload()
    assert [(e.step, e.value) for e in board.Scalars("train/loss")] == [(1, 9.0), (2, 8.0), (3, 7.0), (4, 104.0),
                                                                        (5, 105.0)]

"""The run skeleton (`pretrain.job`) and the engine's one evaluation loop, on a toy classifier: what a job gets
without writing it (output dir checks, results.json, resume, the final metrics in the log), and evaluation counts
checked against a direct computation."""
import json
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from modeling.config import SavedConfig
from modeling.model import AlbaPreTrainedModel
from pretrain.config import ConfigError, RunOptions, option
from pretrain.job import Training, prepare_run_dir, run_training


@dataclass
class ToyOptions(RunOptions):
    NAME = "toy"
    RESUMABLE_CHANGES = (*RunOptions.RESUMABLE_CHANGES, "stop_at")
    steps: int = option(12, "training steps", group="train")
    stop_at: int = option(0, "stop at this step (0: at the end)", group="train")


@dataclass
class ToyOutput:
    loss: torch.Tensor
    label_correct: torch.Tensor
    label_total: torch.Tensor


@dataclass
class ToyConfig(SavedConfig):
    width: int = 4


class Toy(AlbaPreTrainedModel):
    config_class = ToyConfig

    def __init__(self, config: ToyConfig):
        super().__init__(config)
        self.linear = nn.Linear(config.width, 2)

    def forward(self, input_ids, labels):
        logits = self.linear(input_ids)
        return ToyOutput(nn.functional.cross_entropy(logits, labels), (logits.argmax(-1) == labels).sum(),
                         torch.tensor(len(labels)))


def _data(n=64):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=g)
    return x, (x[:, 0] > 0).long()


def _run(tmp_path, **flags):
    cfg = ToyOptions.build(output_dir=str(tmp_path / "run"), wandb="disabled", progress=False, log_every=4,
                           save_every=4, **flags)
    out, checkpoint = prepare_run_dir(cfg)
    torch.manual_seed(cfg.seed)
    model = Toy(ToyConfig())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    x, y = _data()
    batches = lambda epoch, start: ({"input_ids": x[i:i + 8], "labels": y[i:i + 8]}  # noqa: E731
                                    for i in range(8 * start, len(x), 8))
    evaluated = []

    def evaluate(engine, state):
        evaluated.append(state.step)
        return engine.evaluate({"input_ids": x[i:i + 10], "labels": y[i:i + 10]} for i in range(0, len(x), 10))

    def finish(engine, state):
        if state.step < cfg.steps:
            return None
        final = evaluate(engine, state)
        return {f"eval/{k}": v for k, v in final.items()}, {"accuracy": final["label_accuracy"]}

    training = Training(model, optimizer, scheduler, cfg.stop_at or cfg.steps, batches, "toy", evaluate, eval_every=5)
    result = run_training(cfg, out, checkpoint, training, finish)
    return result, model, evaluated


def test_run_writes_results_and_logs_the_final_metrics(tmp_path, capsys):
    result, model, evaluated = _run(tmp_path)
    out = tmp_path / "run"
    assert json.loads((out / "results.json").read_text()) == result
    assert result["steps"] == 12 and result["train_seconds"] > 0
    assert evaluated == [5, 10, 12]  # every eval_every steps, then the final one
    # The engine's evaluation equals a direct count over all 64 rows (in 7 batches of up to 10).
    x, y = _data()
    with torch.no_grad():
        direct = (model(x, y).label_correct / 64).item()
    assert result["accuracy"] == pytest.approx(direct, abs=1e-12)
    records = [json.loads(line) for line in (out / "metrics.jsonl").open()]
    assert records[-1]["step"] == 12 and records[-1]["eval/label_accuracy"] == result["accuracy"]
    assert "[alba] toy" in capsys.readouterr().out
    assert model.training  # evaluation leaves the model in training mode


def test_a_run_that_stops_early_writes_no_results_and_resumes_exactly(tmp_path):
    whole, whole_model, _ = _run(tmp_path / "a")
    stopped, _, _ = _run(tmp_path / "b", stop_at=8)
    assert stopped is None and not (tmp_path / "b" / "run" / "results.json").exists()
    with pytest.raises(ConfigError, match="options differ"):  # what it trains may not change on resume
        _run(tmp_path / "b", resume=True, seed=1)
    resumed, resumed_model, _ = _run(tmp_path / "b", resume=True)
    assert resumed["steps"] == whole["steps"] and resumed["accuracy"] == whole["accuracy"]
    for a, b in zip(whole_model.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_output_dir_is_checked_before_anything_is_written(tmp_path):
    _run(tmp_path)
    with pytest.raises(ConfigError, match="already holds a run"):
        _run(tmp_path)
    with pytest.raises(ConfigError, match="holds no run to resume"):
        _run(tmp_path / "empty", resume=True)
    with pytest.raises(ConfigError, match="exclude each other"):
        ToyOptions.build(overwrite=True, resume=True)

"""What the bAbI baselines (memn2n, memnn) share: the task options, a task's files read and split, batches and
evaluation on the engine, the per-task run with its resume, and the table of test errors."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from pretrain.config import ConfigError, RunOptions, option
from pretrain.checkpoint import resumable_checkpoint
from pretrain.job import Training, prepare_run_dir, run_training

EVAL_BATCH = 256  # questions per evaluation batch


@dataclass
class BabiTaskOptions(RunOptions):
    JOINED = ("task",)

    data_dir: str = option("", "bAbI directory holding qaN_<name>_train.txt and qaN_<name>_test.txt (required)",
                            group="data")
    task: str = option("1", "task number(s): '1', '1,2,3' or 'all' (1-20); each task trains its own model",
                        group="data")
    valid_fraction: float = option(0.1, "fraction of the training stories held out for validation", group="data")
    output_dir: str = option("", "where checkpoints, logs and results go, one sub-directory per task "
                              "(default: runs/<job>-<time>)", group="run")

    def check(self, positive: tuple[str, ...] = ()) -> None:
        super().check(positive)
        if not 0 < self.valid_fraction < 1:
            raise ConfigError(f"--valid_fraction must be in (0, 1), got {self.valid_fraction}")
        self.tasks()

    def tasks(self) -> list[int]:
        if self.task == "all":
            return list(range(1, 21))
        try:
            numbers = [int(t) for t in self.task.split(",")]
        except ValueError:
            numbers = []
        if not numbers or any(not 1 <= n <= 20 for n in numbers):
            raise ConfigError(f"--task={self.task!r} must be 'all' or task numbers 1-20 separated by commas")
        return numbers


def load_task(cfg: BabiTaskOptions, task: int, memory_size: int | None, batch_size: int,
              supporting_hops: int = 0) -> dict:
    """Read a task's files (a bad file stops here, before anything is written; with `supporting_hops`, every
    question must name 1 to that many supporting facts) and split off the validation stories by a seeded shuffle."""
    import numpy as np

    from data_pipeline.babi import BabiVocabulary, check_supporting, make_examples, read_babi, task_files

    paths = task_files(cfg.data_dir, task)
    stories, test_stories = (read_babi(path) for path in paths)
    if supporting_hops:
        for path, read in zip(paths, (stories, test_stories)):
            check_supporting(path, read, supporting_hops)
    order = np.random.default_rng([cfg.seed, task]).permutation(len(stories))
    held = set(order[:round(cfg.valid_fraction * len(stories))].tolist())
    vocab = BabiVocabulary(stories)
    data = {"vocab": vocab,
            "train": make_examples([s for i, s in enumerate(stories) if i not in held], vocab, memory_size),
            "valid": make_examples([s for i, s in enumerate(stories) if i in held], vocab, memory_size),
            "test": make_examples(test_stories, vocab, memory_size)}
    if len(data["train"]) < batch_size or not data["valid"]:
        raise ConfigError(f"task {task}: {len(data['train'])} training and {len(data['valid'])} validation "
                          f"questions are too few for --batch_size={batch_size} and "
                          f"--valid_fraction={cfg.valid_fraction}")
    return data


def tensors(examples: Sequence, memory_size: int | None, hops: int = 0) -> dict:
    """A batch of examples as torch tensors; with `hops`, the supporting facts' slots too."""
    import torch

    from data_pipeline.babi import collate, supporting_slots

    arrays = collate(examples, memory_size)
    if hops:
        arrays["supporting"] = supporting_slots(examples, hops)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def sampled_batches(cfg, examples: Sequence, make: Callable[[list[int], int], dict]):
    """The engine's batches: each epoch in the seeded order of the shared sampler, `make(indices, epoch)` each."""
    from pretrain.sampler import GlobalBatchSampler

    def batches(epoch: int, start: int):
        sampler = GlobalBatchSampler(len(examples), cfg.batch_size, cfg.seed)
        sampler.set_epoch(epoch, start)
        for indices in sampler:
            yield make(indices, epoch)
    return batches


def evaluate(engine, examples: Sequence, batch: Callable[[Sequence], dict]) -> dict:
    metrics = engine.evaluate(batch(examples[i:i + EVAL_BATCH]) for i in range(0, len(examples), EVAL_BATCH))
    return {**metrics, "error": 1 - metrics["answer_accuracy"]}


def fit_task(cfg: RunOptions, task: int, data: dict, out: Path, training: Training,
             batch: Callable[[Sequence], dict]) -> float:
    """Train one task's model through the shared engine (resuming from its own checkpoints), then save it and
    return its test error."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(data["vocab"].words) + "\n", encoding="utf-8")

    def finish(engine, state):
        valid_metrics, test_metrics = evaluate(engine, data["valid"], batch), evaluate(engine, data["test"], batch)
        engine.unwrapped.save_pretrained(out)
        return ({**{f"eval/{k}": v for k, v in valid_metrics.items()},
                 **{f"test/{k}": v for k, v in test_metrics.items()}},
                {"task": task, "test_error": test_metrics["error"], "valid_error": valid_metrics["error"]})

    checkpoint = resumable_checkpoint(out / "checkpoints") if cfg.resume else None
    return run_training(cfg, out, checkpoint, training, finish,
                        tracked={**cfg.to_dict(), "task": task})["test_error"]


def error_table(errors: dict[int, float], model: str, paper: dict[int, float]) -> str:
    """Test error (%) per task, one row each, then the mean and the failed tasks (error > 5%), as in the papers'
    tables; `paper` holds the published errors to print beside them."""
    from data_pipeline.babi import TASK_NAMES
    rows = [(f"{t}: {TASK_NAMES[t]}", f"{100 * e:.1f}", paper.get(t)) for t, e in sorted(errors.items())]
    rows.append(("Mean error (%)", f"{100 * sum(errors.values()) / len(errors):.1f}", None))
    rows.append(("Failed tasks (err. > 5%)", str(sum(e > 0.05 for e in errors.values())), None))
    lines = ["", "bAbI test error (%)", f"{'Task':<28}{'alba ' + model:>12}{'paper':>8}"]
    lines += [f"{name:<28}{value:>12}{'-' if p is None else f'{p:.1f}':>8}" for name, value, p in rows]
    return "\n".join(lines)


def run_tasks(cfg: BabiTaskOptions, load: Callable[[int], dict],
              train_task: Callable[[int, dict, Path], float], model: str, paper: dict[int, float]) -> None:
    """Every task of --task: all files read and checked before anything is written, then one model each in
    OUTPUT/task-N (a finished task in a resumed run is not trained again), the table, and OUTPUT/results.json."""
    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a bAbI directory holding qaN_<name>_train.txt/_test.txt")
    data = {task: load(task) for task in cfg.tasks()}
    out, _ = prepare_run_dir(cfg, need_checkpoint=False)  # each task keeps its own checkpoints
    errors = {}
    for task in cfg.tasks():
        done = out / f"task-{task}" / "results.json"
        errors[task] = (json.loads(done.read_text(encoding="utf-8"))["test_error"] if cfg.resume and done.is_file()
                        else train_task(task, data[task], out / f"task-{task}"))
    print(error_table(errors, model, paper))
    (out / "results.json").write_text(json.dumps({"test_error": errors}, indent=1) + "\n", encoding="utf-8")

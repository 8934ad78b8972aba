"""`alba baseline memn2n`: end-to-end memory networks (Sukhbaatar et al. 2015) on bAbI, one model per task, trained
by the shared engine; prints each task's test error next to the paper's."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, RunOptions, option
from pretrain.checkpoint import resumable_checkpoint
from pretrain.job import Training, prepare_run_dir, run_training


@dataclass
class MemN2NRunConfig(RunOptions):
    """Defaults: Sukhbaatar et al. (2015), bAbI with PE + LS + RN, one model per task."""
    NAME, JOINED = "memn2n", ("task",)

    # -- data
    data_dir: str = option("", "bAbI directory holding qaN_<name>_train.txt and qaN_<name>_test.txt (required)",
                            group="data")
    task: str = option("1", "task number(s): '1', '1,2,3' or 'all' (1-20); each task trains its own model",
                        group="data")
    valid_fraction: float = option(0.1, "fraction of the training stories held out for validation (linear start "
                                    "watches its loss)", group="data")
    memory_size: int = option(50, "memory slots: the most recent sentences before the question", group="data")
    random_noise: float = option(0.1, "random noise: empty memories inserted during training, as a fraction of "
                                  "the story's sentences (0 disables)", group="data")
    # -- model
    embedding_size: int = option(20, "embedding size d", group="model")
    hops: int = option(3, "memory hops K", group="model")
    encoding: str = option("position", "sentence encoding: 'position' (PE) or 'bow' (bag of words)",
                            ("position", "bow"), "model")
    temporal: bool = option(True, "temporal encoding T_A, T_C", group="model")
    tying: str = option("adjacent", "weight tying: 'adjacent' or 'layerwise'", ("adjacent", "layerwise"), "model")
    init_std: float = option(0.1, "weights start N(0, init_std)", group="model")
    # -- training
    linear_start: bool = option(True, "linear start: no softmax over memories until the validation loss stops "
                                 "falling", group="train")
    epochs: int = option(100, "training epochs", group="train")
    batch_size: int = option(32, "questions per SGD step", group="train")
    lr: float = option(0.01, "SGD learning rate", group="train")
    linear_start_lr: float = option(0.005, "learning rate while linear start lasts", group="train")
    lr_halve_every: int = option(25, "halve the learning rate every this many epochs", group="train")
    grad_clip: float = option(40.0, "global gradient-norm clip", group="train")
    # -- run (and the shared run options)
    output_dir: str = option("", "where checkpoints, logs and results go, one sub-directory per task "
                              "(default: runs/memn2n-<time>)", group="run")

    def __post_init__(self):
        self.check(positive=("memory_size", "embedding_size", "hops", "epochs", "batch_size", "lr_halve_every"))
        if not 0 < self.valid_fraction < 1 or self.random_noise < 0:
            raise ConfigError("--valid_fraction must be in (0, 1) and --random_noise non-negative")
        if self.lr <= 0 or self.linear_start_lr <= 0 or self.init_std <= 0 or self.grad_clip < 0:
            raise ConfigError("--lr, --linear_start_lr and --init_std must be positive, --grad_clip non-negative")
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


# Sukhbaatar et al. (2015), Table 1, 10k training questions, PE LS RN (REFERENCE.md); a comparison, not a target.
PAPER_TEST_ERROR = {1: 0.0}


def error_table(errors: dict[int, float]) -> str:
    """Test error (%) per task, one row each, then the mean and the failed tasks (error > 5%), as in Table 1."""
    from data_pipeline.babi import TASK_NAMES
    rows = [(f"{t}: {TASK_NAMES[t]}", f"{100 * e:.1f}", PAPER_TEST_ERROR.get(t)) for t, e in sorted(errors.items())]
    rows.append(("Mean error (%)", f"{100 * sum(errors.values()) / len(errors):.1f}", None))
    rows.append(("Failed tasks (err. > 5%)", str(sum(e > 0.05 for e in errors.values())), None))
    lines = ["", "bAbI test error (%)", f"{'Task':<28}{'alba MemN2N':>12}{'paper':>8}"]
    lines += [f"{name:<28}{value:>12}{'-' if paper is None else f'{paper:.1f}':>8}" for name, value, paper in rows]
    return "\n".join(lines)


def load_task(cfg: MemN2NRunConfig, task: int) -> dict:
    """Read a task's files (a bad file stops here, before anything is written) and split off the validation
    stories by a seeded shuffle."""
    import numpy as np

    from data_pipeline.babi import BabiVocabulary, make_examples, read_babi, task_files

    train_path, test_path = task_files(cfg.data_dir, task)
    stories, test_stories = read_babi(train_path), read_babi(test_path)
    order = np.random.default_rng([cfg.seed, task]).permutation(len(stories))
    held = set(order[:round(cfg.valid_fraction * len(stories))].tolist())
    vocab = BabiVocabulary(stories)
    data = {"vocab": vocab,
            "train": make_examples([s for i, s in enumerate(stories) if i not in held], vocab, cfg.memory_size),
            "valid": make_examples([s for i, s in enumerate(stories) if i in held], vocab, cfg.memory_size),
            "test": make_examples(test_stories, vocab, cfg.memory_size)}
    if len(data["train"]) < cfg.batch_size or not data["valid"]:
        raise ConfigError(f"task {task}: {len(data['train'])} training and {len(data['valid'])} validation "
                          f"questions are too few for --batch_size={cfg.batch_size} and "
                          f"--valid_fraction={cfg.valid_fraction}")
    return data


def _evaluate(engine, examples, memory_size: int) -> dict:
    import torch

    from data_pipeline.babi import collate

    metrics = engine.evaluate({k: torch.from_numpy(v) for k, v in collate(examples[i:i + 256], memory_size).items()}
                              for i in range(0, len(examples), 256))
    return {**metrics, "error": 1 - metrics["answer_accuracy"]}


def train_task(cfg: MemN2NRunConfig, task: int, data: dict, out: Path) -> float:
    """Train one task's model through the shared engine (validating each epoch, which also ends linear start) and
    return its test error. A finished task in a resumed run is not trained again."""
    import numpy as np
    import torch

    from data_pipeline.babi import collate, with_empty_memories
    from modeling.baselines.memn2n import MemN2N, MemN2NConfig
    from pretrain.sampler import GlobalBatchSampler

    result_file = out / "results.json"
    if cfg.resume and result_file.is_file():
        return json.loads(result_file.read_text(encoding="utf-8"))["test_error"]
    vocab, train, valid, test = data["vocab"], data["train"], data["valid"], data["test"]
    steps_per_epoch = len(train) // cfg.batch_size
    torch.manual_seed(cfg.seed)
    model = MemN2N(MemN2NConfig(len(vocab), cfg.embedding_size, cfg.hops, cfg.memory_size, cfg.encoding,
                                cfg.temporal, cfg.tying, cfg.init_std, cfg.linear_start))
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)

    def lr_factor(step: int) -> float:
        halved = 0.5 ** (step // steps_per_epoch // cfg.lr_halve_every)
        return halved if bool(model.softmax_on) else halved * cfg.linear_start_lr / cfg.lr

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab.words) + "\n", encoding="utf-8")

    def batches(epoch: int, start: int):
        sampler = GlobalBatchSampler(len(train), cfg.batch_size, cfg.seed)
        sampler.set_epoch(epoch, start)
        for indices in sampler:
            # The noise of a question is a function of (seed, epoch, index): a resumed run draws the same.
            chosen = [with_empty_memories(train[i], cfg.random_noise, np.random.default_rng([cfg.seed, epoch, i]))
                      if cfg.random_noise else train[i] for i in indices]
            yield {k: torch.from_numpy(v) for k, v in collate(chosen, cfg.memory_size).items()}

    def validate(engine, state) -> dict:
        """Validation metrics; linear start ends at the first epoch whose validation loss is not below the best."""
        metrics = _evaluate(engine, valid, cfg.memory_size)
        if not bool(model.softmax_on):
            if metrics["loss"] < float(model.best_linear_loss):
                model.best_linear_loss.fill_(metrics["loss"])
            else:
                model.enable_softmax()
                for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
                    group["lr"] = base * lr_factor(scheduler.last_epoch)
        return {**metrics, "softmax_on": float(model.softmax_on)}

    def finish(engine, state):
        valid_metrics = _evaluate(engine, valid, cfg.memory_size)
        test_metrics = _evaluate(engine, test, cfg.memory_size)
        engine.unwrapped.save_pretrained(out)
        return ({**{f"eval/{k}": v for k, v in valid_metrics.items()},
                 **{f"test/{k}": v for k, v in test_metrics.items()}},
                {"task": task, "test_error": test_metrics["error"], "valid_error": valid_metrics["error"]})

    describe = (f"bAbI task {task}: {len(train)} training, {len(valid)} validation, {len(test)} test questions; "
                f"vocabulary {len(vocab)}; {model.num_parameters()} parameters")
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch, batches, describe, validate,
                        eval_every=steps_per_epoch, grad_clip=cfg.grad_clip)
    checkpoint = resumable_checkpoint(out / "checkpoints") if cfg.resume else None
    return run_training(cfg, out, checkpoint, training, finish,
                        tracked={**cfg.to_dict(), "task": task})["test_error"]


def run(cfg: MemN2NRunConfig):
    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a bAbI directory holding qaN_<name>_train.txt/_test.txt")
    data = {task: load_task(cfg, task) for task in cfg.tasks()}  # every file is valid before anything is written
    out, _ = prepare_run_dir(cfg, need_checkpoint=False)  # each task keeps its own checkpoints
    errors = {task: train_task(cfg, task, data[task], out / f"task-{task}") for task in cfg.tasks()}
    print(error_table(errors))
    (out / "results.json").write_text(json.dumps({"test_error": errors}, indent=1) + "\n", encoding="utf-8")


TITLE = ("alba baseline memn2n: end-to-end memory network (Sukhbaatar et al. 2015) on bAbI; prints each task's test "
         "error")

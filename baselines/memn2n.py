"""`alba baseline memn2n`: end-to-end memory networks (Sukhbaatar et al. 2015) on bAbI, one model per task, trained
by the shared engine; prints each task's test error next to the paper's."""
from __future__ import annotations

from dataclasses import dataclass

from pretrain.config import ConfigError, option
from pretrain.job import Training

from .babi_task import BabiTaskOptions, evaluate, fit_task, load_task, run_tasks, sampled_batches, tensors


@dataclass
class MemN2NRunConfig(BabiTaskOptions):
    """Defaults: Sukhbaatar et al. (2015), bAbI with PE + LS + RN, one model per task."""
    NAME = "memn2n"

    # -- data
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

    def __post_init__(self):
        self.check(positive=("memory_size", "embedding_size", "hops", "epochs", "batch_size", "lr_halve_every"))
        if self.random_noise < 0:
            raise ConfigError("--random_noise must be non-negative")
        if self.lr <= 0 or self.linear_start_lr <= 0 or self.init_std <= 0 or self.grad_clip < 0:
            raise ConfigError("--lr, --linear_start_lr and --init_std must be positive, --grad_clip non-negative")


# Sukhbaatar et al. (2015), Table 1, 10k training questions, PE LS RN (REFERENCE.md); a comparison, not a target.
PAPER_TEST_ERROR = {1: 0.0}


def train_task(cfg: MemN2NRunConfig, task: int, data: dict, out) -> float:
    """Train one task's model through the shared engine (validating each epoch, which also ends linear start) and
    return its test error."""
    import numpy as np
    import torch

    from data_pipeline.babi import with_empty_memories
    from modeling.baselines.memn2n import MemN2N, MemN2NConfig

    vocab, train, valid = data["vocab"], data["train"], data["valid"]
    steps_per_epoch = len(train) // cfg.batch_size
    torch.manual_seed(cfg.seed)
    model = MemN2N(MemN2NConfig(len(vocab), cfg.embedding_size, cfg.hops, cfg.memory_size, cfg.encoding,
                                cfg.temporal, cfg.tying, cfg.init_std, cfg.linear_start))
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)

    def lr_factor(step: int) -> float:
        halved = 0.5 ** (step // steps_per_epoch // cfg.lr_halve_every)
        return halved if bool(model.softmax_on) else halved * cfg.linear_start_lr / cfg.lr

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    batch = lambda examples: tensors(examples, cfg.memory_size)

    def noisy(indices: list[int], epoch: int) -> dict:
        # The noise of a question is a function of (seed, epoch, index): a resumed run draws the same.
        return batch([with_empty_memories(train[i], cfg.random_noise, np.random.default_rng([cfg.seed, epoch, i]))
                      if cfg.random_noise else train[i] for i in indices])

    def validate(engine, state) -> dict:
        """Validation metrics; linear start ends at the first epoch whose validation loss is not below the best."""
        metrics = evaluate(engine, valid, batch)
        if not bool(model.softmax_on):
            if metrics["loss"] < float(model.best_linear_loss):
                model.best_linear_loss.fill_(metrics["loss"])
            else:
                model.enable_softmax()
                for group, base in zip(optimizer.param_groups, scheduler.base_lrs):
                    group["lr"] = base * lr_factor(scheduler.last_epoch)
        return {**metrics, "softmax_on": float(model.softmax_on)}

    describe = (f"bAbI task {task}: {len(train)} training, {len(valid)} validation, {len(data['test'])} test "
                f"questions; vocabulary {len(vocab)}; {model.num_parameters()} parameters")
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch,
                        sampled_batches(cfg, train, noisy), describe, validate, eval_every=steps_per_epoch,
                        grad_clip=cfg.grad_clip)
    return fit_task(cfg, task, data, out, training, batch)


def run(cfg: MemN2NRunConfig):
    run_tasks(cfg, lambda task: load_task(cfg, task, cfg.memory_size, cfg.batch_size),
              lambda task, data, out: train_task(cfg, task, data, out), "MemN2N", PAPER_TEST_ERROR)


TITLE = ("alba baseline memn2n: end-to-end memory network (Sukhbaatar et al. 2015) on bAbI; prints each task's test "
         "error")

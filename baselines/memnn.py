"""`alba baseline memnn`: the memory network of Weston, Chopra & Bordes (2015) on bAbI, k hard hops trained with the
margin ranking loss under strong supervision (the supporting facts of the files), one model per task, by the shared
engine; prints each task's test error next to the paper's."""
from __future__ import annotations

from dataclasses import dataclass

from pretrain.config import ConfigError, option
from pretrain.job import Training

from .babi_task import BabiTaskOptions, evaluate, fit_task, load_task, run_tasks, sampled_batches, tensors


@dataclass
class MemNNRunConfig(BabiTaskOptions):
    """Defaults: Weston et al. (2015), §5.2: n = 100, γ = 0.1, 10 epochs, k = 2 with the write-time features. The
    paper's SGD takes one question per step at lr 0.01; here a step sums the terms of 32 questions, at lr 0.001
    (0.01 diverges with the sum), which is faster on the same data: --batch_size=1 --lr=0.01 is the paper's."""
    NAME = "memnn"

    # -- model
    embedding_size: int = option(100, "embedding size n (the rows of U_O and U_R)", group="model")
    hops: int = option(2, "memory hops k: supporting facts chosen before answering", group="model")
    time_features: bool = option(True, "the write-time features of §3.4 (pairwise s_Ot); without them the hops "
                                  "cannot tell an old fact from a new one", group="model")
    init_std: float = option(0.1, "weights start N(0, init_std) (the paper does not say)", group="model")
    # -- training
    margin: float = option(0.1, "margin γ of the ranking loss", group="train")
    epochs: int = option(10, "training epochs", group="train")
    batch_size: int = option(32, "questions per SGD step (their loss terms are summed)", group="train")
    lr: float = option(0.001, "SGD learning rate", group="train")

    def __post_init__(self):
        self.check(positive=("embedding_size", "hops", "epochs", "batch_size"))
        if self.lr <= 0 or self.margin <= 0 or self.init_std <= 0:
            raise ConfigError("--lr, --margin and --init_std must be positive")


# Weston et al. (2015b), the strongly supervised MemNN on bAbI; a comparison, not a target.
PAPER_TEST_ERROR = {1: 0.0}


def train_task(cfg: MemNNRunConfig, task: int, data: dict, out) -> float:
    """Train one task's model through the shared engine, validating each epoch, and return its test error."""
    import torch

    from modeling.baselines.memnn import MemNN, MemNNConfig

    vocab, train, valid = data["vocab"], data["train"], data["valid"]
    steps_per_epoch = len(train) // cfg.batch_size
    torch.manual_seed(cfg.seed)
    model = MemNN(MemNNConfig(len(vocab), cfg.embedding_size, cfg.hops, cfg.margin, cfg.time_features,
                              cfg.init_std))
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # the paper keeps lr fixed
    batch = lambda examples: tensors(examples, None, cfg.hops)  # memory: the whole story before the question
    describe = (f"bAbI task {task}: {len(train)} training, {len(valid)} validation, {len(data['test'])} test "
                f"questions; vocabulary {len(vocab)}; {model.num_parameters()} parameters")
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch,
                        sampled_batches(cfg, train, lambda indices, epoch: batch([train[i] for i in indices])),
                        describe, lambda engine, state: evaluate(engine, valid, batch), eval_every=steps_per_epoch)
    return fit_task(cfg, task, data, out, training, batch)


def run(cfg: MemNNRunConfig):
    run_tasks(cfg, lambda task: load_task(cfg, task, None, cfg.batch_size, supporting_hops=cfg.hops),
              lambda task, data, out: train_task(cfg, task, data, out), "MemNN", PAPER_TEST_ERROR)


TITLE = ("alba baseline memnn: memory network (Weston et al. 2015), strongly supervised hard hops, on bAbI; prints "
         "each task's test error")

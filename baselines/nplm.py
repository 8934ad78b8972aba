"""`alba baseline nplm`: the neural probabilistic language model of Bengio et al. (2003), an n-gram window of
shared word embeddings through a tanh layer to a softmax (see modeling/baselines/nplm.py), trained by the shared
engine on the Penn Treebank text the recurrent LMs use; prints its test perplexity and that of interpolated
Kneser-Ney on the same ids."""
from __future__ import annotations

import json
from dataclasses import dataclass

from pretrain.config import ConfigError, option
from pretrain.job import Training, prepare_run_dir, run_training

from .babi_task import sampled_batches
from .lm_task import LmDataOptions, load_ids, ngram_probabilities


@dataclass
class NplmRunConfig(LmDataOptions):
    """Defaults: the architecture of the paper's best single network on the Brown corpus (MLP1: n = 5, m = 60,
    h = 50, direct connections); without them the network trains slower and, on this small split, stays far
    worse (measured: 201 with m = 100, h = 200, dropout 0.5). The paper's online SGD (lr 1e-3 / (1 + 1e-8 t),
    weight decay 1e-4) takes too long for a CPU baseline: Adam on 64 windows per step reaches its best in 5
    epochs, and dropout 0.3 (not in the paper) holds off the overfitting of 59k training words."""
    NAME = "nplm"
    RESUMABLE_CHANGES = (*LmDataOptions.RESUMABLE_CHANGES, "mix_weight")
    JOINED = ("ensemble",)

    # -- model
    order: int = option(5, "n: each word is predicted from the n-1 words before it", group="model")
    embedding_size: int = option(60, "m: the size of a word's feature vector (a row of C)", group="model")
    hidden_size: int = option(50, "h: the tanh hidden units", group="model")
    direct: bool = option(True, "the direct connections W from the words' features to the output", group="model")
    dropout: float = option(0.3, "dropout on the features x and the tanh units (not in the paper)", group="model")
    word_dropout: float = option(0.0, "the probability that a context word is dropped whole in training (its m "
                                 "features zeroed; not in the paper)", group="model")
    init_range: float = option(0.05, "weights and C start uniform in +-init_range, biases at 0", group="model")
    # -- training
    epochs: int = option(5, "passes over the training windows", group="train")
    batch_size: int = option(64, "windows per step (their NLL averaged)", group="train")
    lr: float = option(1e-3, "Adam learning rate", group="train")
    lr_decay: float = option(1.0, "learning-rate factor per epoch", group="train")
    weight_decay: float = option(0.0, "L2 penalty on the weights and C, not the biases (the paper: 1e-4)",
                                  group="train")
    # -- evaluation
    mix_weight: float = option(0.5, "the network's weight in the mixture with Kneser-Ney reported beside it "
                                "(the paper's 'mix' models: a fixed 0.5 with its trigram)", group="eval")
    ensemble: str = option("", "comma-separated folders of finished nplm runs on this split: instead of training, "
                           "their networks' test probabilities are averaged (the model and training options are "
                           "then unused)", group="eval")

    def __post_init__(self):
        self.check(positive=("embedding_size", "hidden_size", "epochs", "batch_size"))
        if self.order < 2:
            raise ConfigError(f"--order must be at least 2 (one word of context), got {self.order}")
        if not (0 <= self.dropout < 1 and 0 <= self.word_dropout < 1) or min(self.lr, self.init_range) <= 0 \
                or self.weight_decay < 0:
            raise ConfigError("--dropout and --word_dropout must be in [0, 1), --lr and --init_range positive, "
                              "--weight_decay non-negative")
        if not 0 < self.lr_decay <= 1 or not 0 <= self.mix_weight <= 1:
            raise ConfigError("--lr_decay must be in (0, 1] and --mix_weight in [0, 1]")


def run(cfg: NplmRunConfig):
    import torch

    from data_pipeline.lm_corpus import EOS
    from modeling.baselines.nplm import NeuralProbabilisticLM, NplmConfig, contexts, window_perplexity, \
        window_probabilities

    description, vocab, ids = load_ids(cfg)  # a bad file stops here, before anything is written
    pad = vocab.index[EOS]  # the stream starts a line: before it, as if a line had just ended
    if cfg.ensemble:
        return _evaluate_ensemble(cfg, description, vocab, ids, pad)
    inputs, targets = contexts(ids["train"], cfg.order, pad), torch.as_tensor(ids["train"][1:])
    if len(targets) < cfg.batch_size:
        raise ConfigError(f"{description}: {len(targets)} training windows are too few for --batch_size="
                          f"{cfg.batch_size}")
    out, checkpoint = prepare_run_dir(cfg)
    torch.manual_seed(cfg.seed)
    model = NeuralProbabilisticLM(NplmConfig(
        len(vocab), order=cfg.order, embedding_size=cfg.embedding_size, hidden_size=cfg.hidden_size,
        direct=cfg.direct, dropout=cfg.dropout, word_dropout=cfg.word_dropout, init_range=cfg.init_range))
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    weights = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    optimizer = torch.optim.Adam([{"params": weights, "weight_decay": cfg.weight_decay},
                                  {"params": biases, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = len(targets) // cfg.batch_size
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cfg.lr_decay ** (step // steps_per_epoch))
    (out / "vocab.json").write_text(json.dumps(vocab.words) + "\n", encoding="utf-8")

    def finish(engine, state):
        result = _test_result(cfg, vocab, ids, window_probabilities(engine.unwrapped, ids["test"], pad).tolist())
        if ids["valid"] is not None:
            result["valid_perplexity"] = window_perplexity(engine.unwrapped, ids["valid"], pad)
        engine.unwrapped.save_pretrained(out)
        return {f"test/{k}": v for k, v in result.items()}, result

    shape = f"n={cfg.order}, m={cfg.embedding_size}, h={cfg.hidden_size}, {'' if cfg.direct else 'no '}direct"
    describe = (f"word LM on {description}: {len(ids['train'])} training and {len(ids['test'])} test tokens, "
                f"vocabulary {len(vocab)}; NPLM {shape}, {model.num_parameters()} parameters, {steps_per_epoch} "
                f"steps per epoch")
    batches = sampled_batches(cfg, targets, lambda rows, epoch: {"input_ids": inputs[rows], "labels": targets[rows]})
    validate = (lambda engine, state: {"perplexity": window_perplexity(engine.unwrapped, ids["valid"], pad)})
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch, batches, describe,
                        validate if ids["valid"] is not None else None, eval_every=steps_per_epoch)
    result = run_training(cfg, out, checkpoint, training, finish)
    _report(cfg, description, f"NPLM {shape} ({cfg.epochs} epochs)", result)


def _test_result(cfg: NplmRunConfig, vocab, ids, network: list[float]) -> dict:
    """The network's test perplexity, Kneser-Ney's on the same targets, and their mixture's."""
    from modeling.baselines.ngram import perplexity

    ngram = ngram_probabilities(cfg, vocab, ids["train"], ids["test"])
    return {"test_perplexity": perplexity(network), "ngram_test_perplexity": perplexity(ngram),
            "mixture_test_perplexity": perplexity([cfg.mix_weight * p + (1 - cfg.mix_weight) * q
                                                   for p, q in zip(network, ngram)])}


def _report(cfg: NplmRunConfig, description: str, name: str, result: dict) -> None:
    print(f"\nTest perplexity per word ({description}):\n"
          f"  {name}: {result['test_perplexity']:.2f}\n"
          f"  Kneser-Ney {cfg.ngram_order}-gram: {result['ngram_test_perplexity']:.2f}\n"
          f"  mixture, {cfg.mix_weight:g} NPLM + {1 - cfg.mix_weight:g} Kneser-Ney: "
          f"{result['mixture_test_perplexity']:.2f}")


def _evaluate_ensemble(cfg: NplmRunConfig, description: str, vocab, ids, pad: int) -> None:
    """The mean of the listed runs' probabilities of each test word: their networks differ in seed or shape, so
    they err on different words. Each run must have been trained on this split (its vocab.json is this one)."""
    from pathlib import Path

    import torch

    from modeling.baselines.ngram import perplexity
    from modeling.baselines.nplm import NeuralProbabilisticLM, window_probabilities

    names, members = cfg.ensemble.split(","), []
    for folder in map(Path, names):  # every member is checked before anything is written
        words = folder / "vocab.json"
        if not words.is_file():
            raise ConfigError(f"--ensemble: {folder} has no vocab.json: expected the folder of a finished nplm run")
        if json.loads(words.read_text(encoding="utf-8")) != list(vocab.words):
            raise ConfigError(f"--ensemble: {words} is not the vocabulary of {description} in --data_dir "
                              f"{cfg.data_dir}: that run was trained on other text")
        members.append(NeuralProbabilisticLM.from_pretrained(folder))
    out, _ = prepare_run_dir(cfg, need_checkpoint=False)
    each = torch.stack([window_probabilities(m, ids["test"], pad) for m in members])
    result = {**_test_result(cfg, vocab, ids, each.mean(0).tolist()),
              "members": {name: perplexity(p.tolist()) for name, p in zip(names, each)}}
    (out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    _report(cfg, description, f"mean of {len(names)} NPLMs ({', '.join(names)})", result)


TITLE = ("alba baseline nplm: neural probabilistic language model (Bengio et al. 2003), n-gram window embeddings "
         "and a tanh layer with optional direct connections, on Penn Treebank text; prints its test perplexity and "
         "that of an interpolated Kneser-Ney n-gram model on the same split")

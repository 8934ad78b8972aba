"""`alba baseline rnn_lm`: a recurrent word language model (Zaremba et al. 2014) trained with stateful truncated
BPTT by the shared engine, next to an interpolated Kneser-Ney n-gram model on the same split; prints both
perplexities."""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from pretrain.config import ConfigError, option, typed_options
from pretrain.job import Training, prepare_run_dir, run_training

from .lm_task import LmDataOptions, load_ids, ngram_perplexity

# "small" and "medium": Zaremba et al. (2014), the non-regularized and regularized PTB models (REFERENCE.md §6),
# made for PTB's 930k training words; the values and the schedule lr * decay^max(0, epoch + 1 - decay_after) are
# those of the authors' TensorFlow code (the paper's text says medium divides by 1.2, i.e. x0.83, per epoch).
# "split": for the split (the first 80% of ptb.valid.txt, 59k words, against the rest), where "small"
# overfits (measured, seed 0: test perplexity 175.7 after its 13 epochs, Kneser-Ney 3-gram 156.3); one wider layer,
# dropout and a tied softmax reach 143.1 after 10 epochs.
PRESETS = {
    "small": dict(hidden_size=200, num_layers=2, unroll=20, batch_size=20, lr=1.0, grad_clip=5.0, decay_after=4,
                  lr_decay=0.5, epochs=13, dropout=0.0, init_range=0.1, tie_weights=False),
    "medium": dict(hidden_size=650, num_layers=2, unroll=35, batch_size=20, lr=1.0, grad_clip=5.0, decay_after=6,
                   lr_decay=0.8, epochs=39, dropout=0.5, init_range=0.05, tie_weights=False),
    "split": dict(hidden_size=300, num_layers=1, unroll=20, batch_size=20, lr=1.0, grad_clip=5.0, decay_after=4,
                  lr_decay=0.6, epochs=10, dropout=0.4, init_range=0.1, tie_weights=True),
}


@dataclass
class RnnLmRunConfig(LmDataOptions):
    """Defaults: the "split" preset; --preset sets another, and any flag given overrides it."""
    NAME = "rnn_lm"

    # -- data (and the shared ones of LmDataOptions)
    units: str = option("word", "what the model predicts: 'word' (each line's words and <eos>) or 'char' (each "
                         "line's characters and a newline; perplexity is then per character, also shown as bits)",
                         ("word", "char"), "data")
    # -- model
    preset: str = option("split", "'small' (Zaremba et al.: 2x200, no dropout, 13 epochs), 'medium' (2x650, "
                          "dropout 0.5, 39 epochs), both for the full PTB, or 'split' (1x300, dropout 0.4, tied "
                          "softmax, 10 epochs) for 80% of ptb.valid.txt; the flags below override it",
                          tuple(PRESETS), "model")
    cell: str = option("lstm", "recurrent cell: 'lstm', 'gru' or 'rnn' (Elman)", ("lstm", "gru", "rnn"), "model")
    hidden_size: int = option(300, "units per layer (and embedding size)", group="model")
    num_layers: int = option(1, "stacked recurrent layers", group="model")
    dropout: float = option(0.4, "dropout on the non-recurrent connections", group="model")
    init_range: float = option(0.1, "every weight starts uniform in +-init_range", group="model")
    tie_weights: bool = option(True, "the softmax reuses the embedding matrix (Press & Wolf 2017; not in "
                                "Zaremba et al.)", group="model")
    # -- training
    epochs: int = option(10, "training epochs", group="train")
    unroll: int = option(20, "BPTT steps: tokens per stream per batch", group="train")
    batch_size: int = option(20, "parallel streams", group="train")
    lr: float = option(1.0, "SGD learning rate (the loss is summed over time steps, averaged over streams)",
                        group="train")
    lr_decay: float = option(0.6, "learning-rate factor per epoch after --decay_after epochs", group="train")
    decay_after: int = option(4, "epochs at the full learning rate", group="train")
    grad_clip: float = option(5.0, "global gradient-norm clip", group="train")
    sample_length: int = option(0, "after training, print this many units sampled from the model (0: none)",
                                 group="run")
    temperature: float = option(1.0, "sampling temperature: below 1 sharper, above 1 flatter", group="run")

    def __post_init__(self):
        self.check(positive=("hidden_size", "num_layers", "epochs", "unroll", "batch_size"))
        if not 0 <= self.dropout < 1:
            raise ConfigError("--dropout must be in [0, 1)")
        if self.temperature <= 0 or self.sample_length < 0:
            raise ConfigError("--temperature must be positive and --sample_length non-negative")
        if self.lr <= 0 or self.init_range <= 0 or not 0 < self.lr_decay <= 1 or self.grad_clip < 0:
            raise ConfigError("--lr and --init_range must be positive, --lr_decay in (0, 1], --grad_clip "
                              "non-negative")

    @classmethod
    def build(cls, config_file: str | None = None, **overrides) -> "RnnLmRunConfig":
        values = typed_options(cls, config_file, overrides)
        preset = values.get("preset", next(f.default for f in dataclasses.fields(cls) if f.name == "preset"))
        if preset not in PRESETS:
            raise ConfigError(f"--preset={preset!r} is not one of {', '.join(PRESETS)}")
        return cls(**typed_options(cls, None, {**PRESETS[preset], **values}))  # flags win over the preset


def run(cfg: RnnLmRunConfig):
    import torch

    from data_pipeline.lm_corpus import StreamBatches
    from modeling.baselines.rnn_lm import LanguageModelConfig, RecurrentLanguageModel, stream_perplexity

    description, vocab, ids = load_ids(cfg, cfg.units)  # a bad file stops here, before anything is written
    batches = StreamBatches(ids["train"], cfg.batch_size, cfg.unroll, source="the training text")
    out, checkpoint = prepare_run_dir(cfg)
    torch.manual_seed(cfg.seed)
    model = RecurrentLanguageModel(LanguageModelConfig(len(vocab), cfg.cell, cfg.hidden_size, cfg.num_layers,
                                                       cfg.dropout, cfg.init_range, cfg.batch_size,
                                                       cfg.tie_weights))
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    steps_per_epoch = len(batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cfg.lr_decay ** max(0, step // steps_per_epoch + 1 - cfg.decay_after))
    (out / "vocab.json").write_text(json.dumps(vocab.words) + "\n", encoding="utf-8")

    def finish(engine, state):
        result = {"test_perplexity": stream_perplexity(engine.unwrapped, ids["test"])}
        if ids["valid"] is not None:
            result["valid_perplexity"] = stream_perplexity(engine.unwrapped, ids["valid"])
        result["ngram_test_perplexity"] = ngram_perplexity(cfg, vocab, ids["train"], ids["test"])
        engine.unwrapped.save_pretrained(out)
        return {f"test/{k}": v for k, v in result.items()}, result

    describe = (f"{cfg.units} LM on {description}: {len(ids['train'])} training and {len(ids['test'])} "
                f"test tokens, vocabulary {len(vocab)}; {cfg.num_layers}x{cfg.hidden_size} {cfg.cell}, "
                f"{model.num_parameters()} parameters, {steps_per_epoch} steps per epoch")
    validate = (lambda engine, state: {"perplexity": stream_perplexity(engine.unwrapped, ids["valid"])})
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch, batches, describe,
                        validate if ids["valid"] is not None else None, eval_every=steps_per_epoch,
                        grad_clip=cfg.grad_clip)
    result = run_training(cfg, out, checkpoint, training, finish)
    bits = lambda ppl: f" ({math.log2(ppl):.3f} bits per character)" if cfg.units == "char" else ""  # noqa: E731
    print(f"\nTest perplexity per {cfg.units} ({description}):\n"
          f"  {cfg.num_layers}x{cfg.hidden_size} {cfg.cell} ({cfg.epochs} epochs): {result['test_perplexity']:.2f}"
          f"{bits(result['test_perplexity'])}\n"
          f"  Kneser-Ney {cfg.ngram_order}-gram: {result['ngram_test_perplexity']:.2f}"
          f"{bits(result['ngram_test_perplexity'])}")
    if cfg.sample_length:
        print(f"\nSample at temperature {cfg.temperature:g}:\n{render_sample(cfg, model, vocab, ids)}")


def render_sample(cfg: RnnLmRunConfig, model, vocab, ids) -> str:
    """Units drawn after the first unit of the test text, as text: words joined by spaces, <eos> a line break."""
    import torch

    from data_pipeline.lm_corpus import EOS
    from modeling.baselines.rnn_lm import sample

    drawn = sample(model, [int(ids["test"][0])], cfg.sample_length, cfg.temperature,
                   torch.Generator(device=model.embedding.weight.device).manual_seed(cfg.seed))
    units = [vocab.words[i] for i in drawn]
    if cfg.units == "char":
        return "".join(units)
    return " ".join(units).replace(f" {EOS} ", "\n").replace(EOS, "\n")


TITLE = ("alba baseline rnn_lm: recurrent word language model (Zaremba et al. 2014) with stateful truncated BPTT "
         "on Penn Treebank text; prints its test perplexity and that of an interpolated Kneser-Ney n-gram model on "
         "the same split")

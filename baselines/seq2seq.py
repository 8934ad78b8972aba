"""`alba baseline seq2seq`: the encoder-decoders the seed grew out of, trained by the shared engine on sentence-aligned
text (Multi30k's layout) and scored by perplexity and sacrebleu BLEU with greedy and beam-search decoding;
`alba baseline seq2seq translate RUN "text"` translates with a finished run."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, RunOptions, option

# arch -> (module of modeling.baselines, model class)
_MODELS = {"cho": ("seq2seq_rnn", "ChoModel"), "sutskever": ("seq2seq_rnn", "SutskeverModel"),
           "bahdanau": ("seq2seq_rnn", "BahdanauModel"), "transformer": ("transformer_seq2seq", "TransformerSeq2Seq"),
           "convs2s": ("convs2s", "ConvS2S")}
ARCHS = tuple(_MODELS)
# Each architecture's training, where the run leaves it to the paper ("auto"): the papers' own where they train
# within a CPU budget (the Transformer's Adam and Noam schedule, ConvS2S's clipping at 0.1, Sutskever's at 5);
# Adam where their choice needs many more updates than 30 minutes give (Adadelta for Cho and Bahdanau, Nesterov
# momentum 0.99 for ConvS2S, and Sutskever's SGD at 0.7 with halving: its rate is per sentence-summed loss, about
# 20 tokens, and --optimizer=sgd --schedule=halving runs it).
ARCH_TRAINING = {
    "transformer": {"optimizer": "adam", "lr": 0.5, "schedule": "noam", "grad_clip": 0.0},
    "convs2s": {"optimizer": "adam", "lr": 5e-4, "schedule": "constant", "grad_clip": 0.1},
    "bahdanau": {"optimizer": "adam", "lr": 1e-3, "schedule": "constant", "grad_clip": 1.0},
    "cho": {"optimizer": "adam", "lr": 1e-3, "schedule": "constant", "grad_clip": 1.0},
    "sutskever": {"optimizer": "adam", "lr": 1e-3, "schedule": "constant", "grad_clip": 5.0},
}
OPTIMIZERS = ("auto", "adam", "sgd", "adadelta", "nesterov")
SCHEDULES = ("auto", "noam", "constant", "halving")
EVAL_BATCH = 100  # sentences per decoding batch


@dataclass
class Seq2SeqRunConfig(RunOptions):
    """Defaults: German -> English on Multi30k, each model small enough to train in 30 minutes on 2 CPU cores."""
    NAME = "seq2seq"
    RESUMABLE_CHANGES = (*RunOptions.RESUMABLE_CHANGES, "beam", "alpha")

    # -- data
    data_dir: str = option("", "directory of the parallel text, files <split>.<language> aligned line by line "
                            "(required; e.g. Multi30k's train.de / train.en)", group="data")
    source: str = option("de", "source language (file suffix)", group="data")
    target: str = option("en", "target language (file suffix)", group="data")
    train_split: str = option("train", "training split (file stem)", group="data")
    valid_split: str = option("val", "validation split, for perplexity during training ('' for none)", group="data")
    test_split: str = option("test_2016_flickr", "test split: perplexity and BLEU at the end", group="data")
    vocab_size: int = option(8000, "joint subword vocabulary of source and target, trained on the training split",
                              group="data")
    max_length: int = option(100, "training pairs with a side longer than this many subwords are left out",
                              group="data")
    # -- model
    arch: str = option("transformer", "cho (GRU, context at every step), sutskever (deep LSTM, reversed source), "
                        "bahdanau (attention), transformer, convs2s", ARCHS, "model")
    model: dict = option(None, "the architecture's config fields to change, e.g. {\"d_model\": 512} (see "
                          "modeling/baselines/ for each one's fields and defaults)", group="model")
    # -- training
    epochs: int = option(30, "passes over the training pairs (the time budget usually ends training first)",
                          group="train")
    max_minutes: float = option(30.0, "time budget of training in minutes (0: none)", group="train")
    batch_tokens: int = option(4096, "padded source + target tokens per batch (length-bucketed batches)",
                                group="train")
    optimizer: str = option("auto", "adam, sgd, adadelta or nesterov (SGD, momentum 0.99); auto: the "
                             "architecture's (ARCH_TRAINING)", OPTIMIZERS, "train")
    lr: float = option(0.0, "learning rate; with the noam schedule its factor (0: the architecture's)",
                       group="train")
    schedule: str = option("auto", "noam (Vaswani et al.: d^-0.5 min(step^-0.5, step warmup^-1.5)), constant, or "
                            "halving (Sutskever et al.: halve every --halve_every epochs after --halve_after)",
                            SCHEDULES, "train")
    warmup: int = option(500, "noam: warmup steps", group="train")
    halve_after: float = option(3.0, "halving: epochs at the full rate", group="train")
    halve_every: float = option(0.5, "halving: epochs between halvings", group="train")
    grad_clip: float = option(-1.0, "clip the gradient's global norm (0: never; -1: the architecture's)",
                               group="train")
    # -- evaluation
    beam: int = option(5, "beam size of the beam-search BLEU (greedy is reported too)", group="eval")
    alpha: float = option(1.0, "length penalty ((5 + |Y|) / 6)^alpha of beam search (0: none; the Transformer's "
                          "beam beats greedy on Multi30k val from 0.6 up, most at 1.5-2)", group="eval")

    def __post_init__(self):
        self.check(positive=("vocab_size", "max_length", "epochs", "batch_tokens", "warmup", "beam"))
        self.model = model_fields(self.arch, dict(self.model or {}))
        if self.source == self.target:
            raise ConfigError(f"--source and --target are both {self.source!r}")
        if self.max_minutes < 0 or self.halve_after < 0 or self.halve_every <= 0 or self.alpha < 0:
            raise ConfigError("--max_minutes, --halve_after and --alpha must be 0 or more, --halve_every positive")
        defaults = ARCH_TRAINING[self.arch]
        self.optimizer = defaults["optimizer"] if self.optimizer == "auto" else self.optimizer
        self.schedule = defaults["schedule"] if self.schedule == "auto" else self.schedule
        self.lr = self.lr or defaults["lr"]
        self.grad_clip = defaults["grad_clip"] if self.grad_clip == -1 else self.grad_clip
        if self.lr <= 0 or self.grad_clip < 0:
            raise ConfigError("--lr must be positive and --grad_clip 0 or more (-1: the architecture's)")
        if self.schedule == "noam" and self.arch != "transformer":
            raise ConfigError("--schedule noam scales by the Transformer's d_model: use it with --arch transformer")


def model_class(arch: str):
    import importlib

    module, name = _MODELS[arch]
    return getattr(importlib.import_module(f"modeling.baselines.{module}"), name)


def model_fields(arch: str, model: dict) -> dict:
    """--model checked against the architecture's config fields and typed (fire leaves JSON's true/false inside a
    mapping as strings)."""
    import dataclasses

    from pretrain.config import coerce

    fields = {f.name: f for f in dataclasses.fields(model_class(arch).config_class) if f.name not in ("vocab_size",
                                                                                                     "arch")}
    unknown = sorted(set(model) - set(fields))
    if unknown:
        raise ConfigError(f"--model: {arch} has no field(s) {', '.join(unknown)}; its fields: "
                          f"{', '.join(sorted(fields))}")
    try:
        return {name: coerce(fields[name], value) for name, value in model.items()}
    except ConfigError as e:
        raise ConfigError(f"--model: {e}") from None


def build_model(cfg: Seq2SeqRunConfig, vocab_size: int):
    cls = model_class(cfg.arch)
    return cls(cls.config_class(vocab_size=vocab_size, **cfg.model))


def load_translator(run_dir: str | Path):
    """(model, tokenizer) of a finished run directory."""
    from data_pipeline.tokenizer import load_tokenizer
    from modeling.model import CONFIG_NAME

    run_dir = Path(run_dir)
    config = run_dir / CONFIG_NAME
    if not config.is_file():
        raise ConfigError(f"{run_dir} has no {CONFIG_NAME}: expected the directory of a finished seq2seq run")
    arch = json.loads(config.read_text(encoding="utf-8")).get("arch")
    if arch not in ARCHS:
        raise ConfigError(f"{config}: arch {arch!r} is not one of {', '.join(ARCHS)}")
    return model_class(arch).from_pretrained(run_dir).eval(), load_tokenizer(run_dir)


def translate_texts(model, tokenizer, texts: list[str], beam: int = 5, alpha: float = 1.0,
                    progress: bool = False) -> list[str]:
    """Detokenised translations, beam search (beam 1: greedy), in batches of similar length."""
    import torch
    from tqdm import tqdm

    from modeling.baselines.decoding import beam_search, greedy_decode

    from .translation_data import encode_sources, pad_rows

    ids = encode_sources(tokenizer, texts)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    device = next(model.parameters()).device
    out: list[str] = [""] * len(ids)
    was_training = model.training
    model.eval()
    try:
        for start in tqdm(range(0, len(order), EVAL_BATCH), desc=f"translate (beam {beam})", disable=not progress,
                          leave=False):
            rows = order[start:start + EVAL_BATCH]
            src = pad_rows([ids[i] for i in rows]).to(device)
            with torch.no_grad():
                found = greedy_decode(model, src) if beam == 1 else beam_search(model, src, beam, alpha)
            for i, hyp in zip(rows, found):
                out[i] = tokenizer.decode(hyp, skip_special_tokens=True)
    finally:
        model.train(was_training)
    return out


def bleu(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU of detokenised text with sacrebleu's defaults (13a tokenisation, exponential smoothing)."""
    import sacrebleu

    return sacrebleu.corpus_bleu(hypotheses, [references]).score


def make_optimizer(cfg: Seq2SeqRunConfig, model, steps_per_epoch: int):
    import torch

    params = model.parameters()
    if cfg.optimizer == "adam":
        betas, eps = ((0.9, 0.98), 1e-9) if cfg.schedule == "noam" else ((0.9, 0.999), 1e-8)  # Vaswani et al.'s
        optimizer = torch.optim.Adam(params, lr=cfg.lr, betas=betas, eps=eps)
    elif cfg.optimizer == "adadelta":
        optimizer = torch.optim.Adadelta(params, lr=cfg.lr, rho=0.95, eps=1e-6)  # Bahdanau et al.'s settings
    else:
        optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=0.99 if cfg.optimizer == "nesterov" else 0.0,
                                    nesterov=cfg.optimizer == "nesterov")
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg, model.config, steps_per_epoch))


def lr_factor(cfg: Seq2SeqRunConfig, model_config, steps_per_epoch: int):
    """The schedule as a factor of --lr at optimizer step `step` (0-based: the first update is step 1's rate)."""
    if cfg.schedule == "noam":
        d, warmup = model_config.d_model, cfg.warmup
        return lambda step: d ** -0.5 * min((step + 1) ** -0.5, (step + 1) * warmup ** -1.5)
    if cfg.schedule == "halving":
        after, every = cfg.halve_after * steps_per_epoch, cfg.halve_every * steps_per_epoch
        return lambda step: 0.5 ** (math.floor((step - after) / every) + 1) if step >= after else 1.0
    return lambda step: 1.0


def run(cfg: Seq2SeqRunConfig):
    import torch

    from data_pipeline.parallel import read_parallel, split_files
    from data_pipeline.tokenizer import save_tokenizer
    from pretrain.job import Training, prepare_run_dir, run_training

    from .translation_data import collate, encode_pairs, token_batches, train_joint_tokenizer

    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a directory of aligned files <split>.<language>")
    splits = {"train": cfg.train_split, "valid": cfg.valid_split, "test": cfg.test_split}
    pairs = {name: read_parallel(*split_files(cfg.data_dir, stem, cfg.source, cfg.target))
             for name, stem in splits.items() if stem}  # a bad file stops here, before anything is written
    tokenizer = train_joint_tokenizer(pairs["train"], cfg.vocab_size, cfg.progress)  # deterministic: also on resume
    ids = {name: encode_pairs(tokenizer, p) for name, p in pairs.items()}
    train = [(s, t) for s, t in ids["train"] if len(s) - 1 <= cfg.max_length and len(t) <= cfg.max_length]
    if not train:
        raise ConfigError(f"no training pair is within --max_length={cfg.max_length} subwords")
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, tokenizer.get_vocab_size())
    out, checkpoint = prepare_run_dir(cfg)  # the data, tokenizer and model are sound: now write
    save_tokenizer(tokenizer, out)
    steps_per_epoch = len(token_batches(train, cfg.batch_tokens, cfg.seed, 0))
    optimizer, scheduler = make_optimizer(cfg, model, steps_per_epoch)

    def batches(epoch: int, start: int):
        for rows in token_batches(train, cfg.batch_tokens, cfg.seed, epoch)[start:]:
            yield collate([train[i] for i in rows])

    def held_out(name: str):
        return (collate(ids[name][i:i + EVAL_BATCH]) for i in range(0, len(ids[name]), EVAL_BATCH))

    def validate(engine, state):
        metrics = engine.evaluate(held_out("valid"))
        return {**metrics, "perplexity": math.exp(metrics["token_loss"])}

    def finish(engine, state):
        model = engine.unwrapped
        test = engine.evaluate(held_out("test"))
        sources, references = [s for s, _ in pairs["test"]], [t for _, t in pairs["test"]]
        result = {"test_perplexity": math.exp(test["token_loss"])}
        for name, beam in (("greedy", 1), (f"beam{cfg.beam}", cfg.beam)):
            translations = translate_texts(model, tokenizer, sources, beam, cfg.alpha, cfg.progress)
            (out / f"{cfg.test_split}.{name}.{cfg.target}").write_text("\n".join(translations) + "\n",
                                                                      encoding="utf-8")
            result[f"test_bleu_{name}"] = bleu(translations, references)
        if "valid" in ids:
            result["valid_perplexity"] = validate(engine, state)["perplexity"]
        if hasattr(model, "attention_weights"):
            from .alignment_plot import draw_alignments
            draw_alignments(model, tokenizer, [ids["test"][i] for i in range(3)], out / "attention.png")
        model.save_pretrained(out)
        return {f"test/{k}": v for k, v in result.items()}, result

    describe = (f"{cfg.source} -> {cfg.target} on {cfg.data_dir}: {len(train)} training pairs "
                f"({len(ids['train']) - len(train)} over --max_length), vocabulary {tokenizer.get_vocab_size()}; "
                f"{cfg.arch}, {model.num_parameters()} parameters; {steps_per_epoch} steps per epoch of "
                f"{cfg.batch_tokens} tokens; {cfg.optimizer} lr {cfg.lr:g}, {cfg.schedule} schedule"
                + (f"; at most {cfg.max_minutes:g} minutes" if cfg.max_minutes else ""))
    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch, batches, describe,
                        validate if "valid" in ids else None, eval_every=steps_per_epoch, grad_clip=cfg.grad_clip,
                        engine_options={"max_minutes": cfg.max_minutes, "schedule_follows_budget": False})
    result = run_training(cfg, out, checkpoint, training, finish)
    if result is not None:
        print(f"\n{cfg.arch}, {cfg.source} -> {cfg.target}, {cfg.test_split} ({result['steps']} steps, "
              f"{result['train_seconds'] / 60:.1f} minutes of training):\n"
              f"  perplexity {result['test_perplexity']:.2f}\n"
              f"  BLEU greedy {result['test_bleu_greedy']:.2f}, beam {cfg.beam} {result[f'test_bleu_beam{cfg.beam}']:.2f}")


def translate(run_dir: str, text: str, beam: int = 5, alpha: float = 1.0):
    """Print the translation of `text` by the model of a finished seq2seq run.

    Args:
        run_dir: the run's output directory (config.json, model.safetensors, tokenizer.json)
        text: the source sentence
        beam: beam size (1: greedy)
        alpha: length penalty of beam search
    """
    if beam < 1 or alpha < 0:
        raise ConfigError("--beam must be at least 1 and --alpha 0 or more")
    if not text.strip():
        raise ConfigError("the text to translate is empty")
    model, tokenizer = load_translator(run_dir)
    print(translate_texts(model, tokenizer, [text], beam, alpha)[0])


TITLE = ("alba baseline seq2seq: encoder-decoder translation baselines (Cho et al. 2014, Sutskever et al. 2014, "
         "Bahdanau et al. 2015, the Transformer, ConvS2S) on sentence-aligned text such as Multi30k, with greedy and "
         "beam-search BLEU (sacrebleu) and perplexity; `alba baseline seq2seq translate RUN \"text\"` translates")

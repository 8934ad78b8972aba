"""`alba baseline text_cnn`: Kim's (2014) convolutional sentence classifier, or with --model=char the character-level
CNN of Zhang et al. (2015, small), on a single-sentence GLUE task (SST-2 by default), trained by the shared engine;
prints the dev accuracy after every epoch and at the end."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, option
from pretrain.grid import check_grid, grid_points
from pretrain.job import create_run_dir, is_main_process, prepare_run_dir

from .sentence_task import SentenceTaskOptions, fit_classifier, labelled_rows, positive_ints

PAD, UNK = "<pad>", "<unk>"
# What --grid may vary: Zhang & Wallace's (2015) axes, and the seed.
GRID_KEYS = ("filter_widths", "num_filters", "activation", "pooling", "dropout", "max_norm", "seed")
# Kim (2014), Table 2, SST-2 (full training set, phrases included); a comparison, not a target.
PAPER_ACCURACY = {"rand": 82.7, "static": 86.8, "non-static": 87.2, "multichannel": 88.1}


@dataclass
class TextCnnRunConfig(SentenceTaskOptions):
    """Defaults: Kim (2014), CNN-rand."""
    NAME, JOINED = "text_cnn", ("filter_widths",)

    # -- model
    model: str = option("word", "'word': Kim's word CNN (the options below up to --max_norm); 'char': the "
                         "character-level CNN of Zhang et al. 2015, small (--char_length, --char_lr)", ("word", "char"),
                         "model")
    char_length: int = option(1014, "--model=char: characters kept per text (at least 123)", group="model")
    char_lr: float = option(0.01, "--model=char: SGD learning rate (momentum 0.9), halved every 3 epochs, 10 times at "
                             "most, as in the paper", group="model")
    mode: str = option("rand", "embeddings: 'rand' (uniform, trained), 'static' (pretrained, frozen), 'non-static' "
                        "(pretrained, trained) or 'multichannel' (a frozen and a trained copy)",
                        ("rand", "static", "non-static", "multichannel"), "model")
    vectors: str = option("", "word2vec text-format file of pretrained vectors (e.g. the vectors.txt of `alba "
                           "baseline word2vec`); required unless --mode=rand", group="model")
    embedding_size: int = option(300, "word vector size of --mode=rand (the pretrained modes take the file's)",
                                  group="model")
    filter_widths: str = option("3,4,5", "convolution widths, comma-separated", group="model")
    num_filters: int = option(100, "feature maps per width", group="model")
    dropout: float = option(0.5, "dropout on the pooled features", group="model")
    max_norm: float = option(3.0, "L2 bound on each output weight row, enforced after every step (0: none)",
                              group="model")
    activation: str = option("relu", "of the convolutions: relu (Kim's), or the alternatives of Zhang & Wallace's "
                              "sensitivity analysis: tanh, sigmoid, softplus, cube, tanh_cube, identity", group="model")
    pooling: str = option("max", "over each map's windows: max (Kim's 1-max), mean, or kmaxK (the K largest)",
                           group="model")
    # -- training
    epochs: int = option(25, "training epochs", group="train")
    batch_size: int = option(50, "sentences per Adadelta step", group="train")
    rho: float = option(0.95, "Adadelta decay", group="train")
    eps: float = option(1e-6, "Adadelta epsilon", group="train")
    grid: dict = option(None, "a sensitivity analysis (Zhang & Wallace 2015): every combination of the values given, "
                         "e.g. '{\"filter_widths\": [\"3\", \"3,4,5\", \"7\"], \"num_filters\": [100, 400], \"seed\": "
                         "[0, 1, 2]}' (keys: " + ", ".join(GRID_KEYS) + "), each point in its own folder; prints each "
                         "setting's median, min and max accuracy over the seeds", group="train")

    def __post_init__(self):
        if isinstance(self.filter_widths, (list, tuple)):  # fire reads --filter_widths=3,4,5 as a tuple
            self.filter_widths = ",".join(map(str, self.filter_widths))
        self.widths()
        self.check(positive=("embedding_size", "num_filters", "epochs", "batch_size"))
        if not 0 <= self.dropout < 1 or self.max_norm < 0 or not 0 < self.rho < 1 or self.eps <= 0:
            raise ConfigError("--dropout must be in [0, 1), --max_norm non-negative, --rho in (0, 1), --eps positive")
        if self.char_length < 123 or self.char_lr <= 0:
            raise ConfigError("--char_length must be at least 123 (the six convolutions' span) and --char_lr positive")
        if self.model == "word" and self.mode != "rand" and not self.vectors:
            raise ConfigError(f"--mode={self.mode} needs --vectors: a word2vec text-format file")
        self.grid = check_grid(self.grid, GRID_KEYS)
        from modeling.baselines.text_cnn import TextCNNConfig
        for point in grid_points(self.grid, GRID_KEYS):  # every setting is checked before anything runs
            values = {"activation": self.activation, "pooling": self.pooling, **point}
            try:
                TextCNNConfig(vocab_size=1, activation=values["activation"], pooling=values["pooling"])
            except ValueError as e:
                raise ConfigError(f"--activation/--pooling: {e}") from None

    def widths(self) -> tuple[int, ...]:
        return positive_ints(self, "filter_widths")


def load_data(cfg: TextCnnRunConfig) -> dict:
    """Both files read and checked (bad rows name file and line); for the word CNN the vocabulary (training words;
    in the pretrained modes also evaluation words that have a vector, as the paper's vocabulary covers all its data)
    and the starting vectors, for the character CNN the quantized texts."""
    import numpy as np

    from data_pipeline import DataError
    from data_pipeline.vocabulary import Vocabulary
    from modeling.baselines.text_cnn import starting_vectors
    from modeling.baselines.word_vectors import WordVectors

    task, raw = labelled_rows(cfg)
    root = Path(cfg.data_dir)
    if cfg.model == "char":
        from modeling.baselines.char_cnn import quantize
        return {"task": task, "vocab": None, **{name: (list(quantize([w for w, _ in rows], cfg.char_length)),
                                                       np.array([y for _, y in rows])) for name, rows in raw.items()}}
    split = {name: [(text.split(), y) for text, y in rows] for name, rows in raw.items()}
    pretrained = None
    if cfg.mode != "rand":
        try:
            pretrained = WordVectors.load_word2vec_format(cfg.vectors)
        except (OSError, ValueError) as e:
            raise DataError(f"--vectors: {e}") from None
    words = [w for w, _ in split["train"]]
    if pretrained is not None:
        words += [[t for t in w if t in pretrained.index] for w, _ in split["eval"]]
    vocab = Vocabulary.build(words, source=str(root / cfg.train_file), reserved=(PAD, UNK))
    data = {"task": task, "vocab": vocab, "vectors": None, "found": 0,
            **{name: ([vocab.encode(w, unknown=1) for w, _ in rows], np.array([y for _, y in rows]))
               for name, rows in split.items()}}
    if pretrained is not None:
        data["vectors"], data["found"] = starting_vectors(vocab.words, pretrained, 0.25,
                                                          np.random.default_rng(cfg.seed))
    return data


def collate(sentences, labels) -> dict:
    """Right-padded ids (0 = padding), the mask and the labels; every row keeps at least one slot."""
    import numpy as np
    import torch

    width = max(1, max(len(s) for s in sentences))
    ids = np.zeros((len(sentences), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(sentences):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
            "labels": torch.as_tensor(np.asarray(labels), dtype=torch.long)}


def _model(cfg: TextCnnRunConfig, data: dict, steps_per_epoch: int):
    """The model, its optimizer and schedule (each paper's)."""
    import torch

    from modeling.baselines.char_cnn import CharCNN, CharCNNConfig
    from modeling.baselines.text_cnn import TextCNN, TextCNNConfig, adadelta_with_max_norm

    torch.manual_seed(cfg.seed)
    if cfg.model == "char":
        model = CharCNN(CharCNNConfig(data["task"].num_labels, cfg.char_length))
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.char_lr, momentum=0.9)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: 0.5 ** min(10, step // (3 * steps_per_epoch)))
        return model, optimizer, scheduler
    vectors = data["vectors"]
    model = TextCNN(TextCNNConfig(len(data["vocab"]), data["task"].num_labels, cfg.mode,
                                  cfg.embedding_size if vectors is None else vectors.shape[1], cfg.widths(),
                                  cfg.num_filters, cfg.dropout, cfg.max_norm, activation=cfg.activation,
                                  pooling=cfg.pooling), vectors)
    optimizer = adadelta_with_max_norm(model, cfg.rho, cfg.eps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # Adadelta sets its own steps
    return model, optimizer, scheduler


def run(cfg: TextCnnRunConfig):
    if cfg.grid:
        return _run_grid(cfg)
    data = load_data(cfg)  # a bad file stops here, before anything is written
    _check_size(cfg, data)
    out, checkpoint = prepare_run_dir(cfg)
    result = _fit(cfg, data, out, checkpoint)
    print(f"\n{data['task'].name} {cfg.eval_file} accuracy, {_model_name(cfg)}, {cfg.epochs} epochs on "
          f"{cfg.train_file}: {100 * result['eval_accuracy']:.2f}%"
          + (f" (Kim 2014, full SST-2 training set: {PAPER_ACCURACY[cfg.mode]}%)"
             if cfg.task == "sst2" and cfg.model == "word" else ""))


def _check_size(cfg: TextCnnRunConfig, data: dict):
    if len(data["train"][0]) < cfg.batch_size:
        raise ConfigError(f"{len(data['train'][0])} training sentences are too few for --batch_size={cfg.batch_size}")


def _model_name(cfg: TextCnnRunConfig) -> str:
    return "character CNN" if cfg.model == "char" else f"text CNN ({cfg.mode})"


def _fit(cfg: TextCnnRunConfig, data: dict, out: Path, checkpoint: Path | None) -> dict:
    train_ids, eval_ids = data["train"][0], data["eval"][0]
    steps_per_epoch = len(train_ids) // cfg.batch_size
    model, optimizer, scheduler = _model(cfg, data, steps_per_epoch)
    if data["vocab"]:
        (out / "vocab.json").write_text(json.dumps(list(data["vocab"].words)) + "\n", encoding="utf-8")
    describe = (f"{_model_name(cfg)} on {data['task'].name}: {len(train_ids)} training and {len(eval_ids)} "
                "evaluation sentences" + (f", vocabulary {len(data['vocab'])}" if data["vocab"] else "")
                + (f" ({data['found']} with a pretrained vector)" if data.get("vectors") is not None else "")
                + f"; {model.num_parameters()} parameters")
    return fit_classifier(cfg, out, checkpoint, model, optimizer, scheduler,
                          lambda split, rows: collate([data[split][0][i] for i in rows], data[split][1][rows]),
                          {"train": len(train_ids), "eval": len(eval_ids)}, describe,
                          {"model": cfg.model, "mode": cfg.mode})


def _run_grid(cfg: TextCnnRunConfig):
    """Every point of --grid trained in a folder of its own (resumable); each setting's median, min and max dev
    accuracy over its seeds printed and written to results.json."""
    from pretrain.grid import run_grid
    from pretrain.rundir import check_output_dir

    _check_size(cfg, load_data(cfg))  # a bad file stops here, before anything is written
    check_output_dir(cfg, need_checkpoint=False)  # each point keeps its own checkpoints
    out = create_run_dir(cfg)

    def one(part: TextCnnRunConfig, checkpoint: Path | None) -> dict:
        return _fit(part, load_data(part), create_run_dir(part), checkpoint)

    summary, _ = run_grid(cfg, out, GRID_KEYS, one, lambda result: {"eval_accuracy": result["eval_accuracy"]},
                          lambda medians: medians["eval_accuracy"])
    if is_main_process():
        (out / "results.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(f"\n{cfg.eval_file} accuracy (%) over {summary['seeds']} seed(s) per setting: median (min - max)")
    for row in sorted(summary["grid"], key=lambda r: -r["median"]["eval_accuracy"]):
        setting = ", ".join(f"{k}={v}" for k, v in row["setting"].items()) or "(the options given)"
        print(f"  {100 * row['median']['eval_accuracy']:.2f} ({100 * row['min']['eval_accuracy']:.2f} - "
              f"{100 * row['max']['eval_accuracy']:.2f})  {setting}")


TITLE = ("alba baseline text_cnn: convolutional sentence classifier (Kim 2014; --model=char: Zhang et al. 2015) on a "
         "single-sentence GLUE task; prints the dev accuracy")

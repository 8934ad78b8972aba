"""`alba baseline dcnn`: the dynamic convolutional neural network of Kalchbrenner, Grefenstette & Blunsom (2014) on a
single-sentence GLUE task (SST-2 by default), trained with Adagrad by the shared engine; prints the dev accuracy
after every epoch and at the end."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, option
from pretrain.job import prepare_run_dir

from .sentence_task import SentenceTaskOptions, fit_classifier, labelled_rows, positive_ints
from .text_cnn import PAD, UNK, collate

# Kalchbrenner et al. (2014), Table 1, SST binary (full training set); a comparison, not a target.
PAPER_ACCURACY = 86.8


@dataclass
class DcnnRunConfig(SentenceTaskOptions):
    """Defaults: the paper's binary sentiment network (§5.2), where it states them; batch size, learning rate, L2
    weight and dropout are not given there, and were chosen on SST-2 dev."""
    NAME, JOINED = "dcnn", ("filter_widths", "feature_maps")

    # -- model
    embedding_size: int = option(48, "word vector size d (even: folding halves it)", group="model")
    filter_widths: str = option("7,5", "wide convolution width m of each layer, comma-separated", group="model")
    feature_maps: str = option("6,14", "feature maps of each layer, comma-separated", group="model")
    k_top: int = option(4, "k of the top layer's k-max pooling; layer l of L keeps max(k_top, ceil((L-l)/L s))",
                        group="model")
    dropout: float = option(0.5, "dropout on the top layer's features", group="model")
    # -- training
    epochs: int = option(4, "training epochs (on SST-2 train-8k, dev accuracy peaks within 2-4, then falls)",
                         group="train")
    batch_size: int = option(50, "sentences per Adagrad step", group="train")
    lr: float = option(0.05, "Adagrad learning rate", group="train")
    weight_decay: float = option(1e-4, "L2 regularisation: weight_decay x w added to every gradient", group="train")

    def __post_init__(self):
        for name in self.JOINED:  # fire reads --filter_widths=7,5 as a tuple
            if isinstance(getattr(self, name), (list, tuple)):
                setattr(self, name, ",".join(map(str, getattr(self, name))))
        if len(self.layers("filter_widths")) != len(self.layers("feature_maps")):
            raise ConfigError(f"--filter_widths={self.filter_widths} and --feature_maps={self.feature_maps} must "
                              f"name the same number of layers")
        self.check(positive=("embedding_size", "k_top", "epochs", "batch_size"))
        if self.embedding_size % 2:
            raise ConfigError(f"--embedding_size={self.embedding_size} must be even: folding halves it")
        if not 0 <= self.dropout < 1 or self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError("--dropout must be in [0, 1), --lr positive and --weight_decay non-negative")

    def layers(self, name: str) -> tuple[int, ...]:
        """--filter_widths or --feature_maps: one value per layer."""
        return positive_ints(self, name)


def load_data(cfg: DcnnRunConfig) -> dict:
    """Both files read and checked (bad rows name file and line); the vocabulary of the training words, and each
    split as word ids and labels."""
    import numpy as np

    from data_pipeline.vocabulary import Vocabulary

    task, raw = labelled_rows(cfg)
    split = {name: [(text.split(), y) for text, y in rows] for name, rows in raw.items()}
    vocab = Vocabulary.build([w for w, _ in split["train"]], source=str(Path(cfg.data_dir) / cfg.train_file),
                             reserved=(PAD, UNK))
    return {"task": task, "vocab": vocab, **{name: ([vocab.encode(w, unknown=1) for w, _ in rows],
                                                    np.array([y for _, y in rows])) for name, rows in split.items()}}


def run(cfg: DcnnRunConfig):
    import json

    import torch

    from modeling.baselines.dcnn import DCNN, DCNNConfig

    data = load_data(cfg)  # a bad file stops here, before anything is written
    sizes = {split: len(data[split][0]) for split in ("train", "eval")}
    if sizes["train"] < cfg.batch_size:
        raise ConfigError(f"{sizes['train']} training sentences are too few for --batch_size={cfg.batch_size}")
    out, checkpoint = prepare_run_dir(cfg)
    (out / "vocab.json").write_text(json.dumps(list(data["vocab"].words)) + "\n", encoding="utf-8")
    torch.manual_seed(cfg.seed)
    model = DCNN(DCNNConfig(len(data["vocab"]), data["task"].num_labels, cfg.embedding_size,
                            cfg.layers("filter_widths"), cfg.layers("feature_maps"), cfg.k_top, cfg.dropout))
    optimizer = torch.optim.Adagrad(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)  # Adagrad scales its own steps
    describe = (f"DCNN on {data['task'].name}: {sizes['train']} training and {sizes['eval']} evaluation sentences, "
                f"vocabulary {len(data['vocab'])}; {model.num_parameters()} parameters")
    result = fit_classifier(cfg, out, checkpoint, model, optimizer, scheduler,
                            lambda split, rows: collate([data[split][0][i] for i in rows], data[split][1][rows]),
                            sizes, describe, {})
    print(f"\n{data['task'].name} {cfg.eval_file} accuracy, DCNN, {cfg.epochs} epochs on {cfg.train_file}: "
          f"{100 * result['eval_accuracy']:.2f}%"
          + (f" (Kalchbrenner et al. 2014, full SST-2 training set: {PAPER_ACCURACY}%)" if cfg.task == "sst2" else ""))


TITLE = ("alba baseline dcnn: dynamic convolutional network (Kalchbrenner et al. 2014: wide convolutions, folding, "
         "dynamic k-max pooling, Adagrad) on a single-sentence GLUE task; prints the dev accuracy")

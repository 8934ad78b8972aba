"""`alba baseline tfidf`: TF-IDF features (data_pipeline/tfidf.py: the term-frequency and idf variants, word n-grams)
and a logistic regression trained on them by the shared engine, on a single-sentence GLUE task (SST-2 by default);
prints the dev accuracy after every epoch and at the end."""
from __future__ import annotations

import json
from dataclasses import dataclass

from data_pipeline.tfidf import IDF_VARIANTS, TF_VARIANTS
from pretrain.config import ConfigError, option
from pretrain.job import prepare_run_dir

from .sentence_task import SentenceTaskOptions, fit_classifier, labelled_rows


@dataclass
class TfidfRunConfig(SentenceTaskOptions):
    """Defaults: scikit-learn's TfidfVectorizer (raw tf, smoothed log idf, L2 rows) on unigrams and bigrams."""
    NAME = "tfidf"

    # -- model
    tf: str = option("raw", "term frequency: 'raw' count, 'binary', 'log' (1 + ln count), 'double_norm' (0.5 + 0.5 "
                     "count / the document's largest count) or 'max_norm' (count / the largest)", TF_VARIANTS, "model")
    idf: str = option("log", "inverse document frequency: 'log' (ln((1 + N) / (1 + df)) + 1), 'reciprocal' (N / df, "
                      "no logarithm) or 'none'", IDF_VARIANTS, "model")
    ngrams: int = option(2, "word n-grams of 1 up to this length", group="model")
    min_df: int = option(1, "keep terms found in at least this many training sentences", group="model")
    l2_rows: bool = option(True, "scale each sentence's vector to unit length", group="model")
    # -- training
    epochs: int = option(3, "training epochs (more overfit the 8k SST-2 sentences: 79.4% after 3, 78.2% after 10)", group="train")
    batch_size: int = option(32, "sentences per step", group="train")
    lr: float = option(1e-2, "Adam learning rate", group="train")
    weight_decay: float = option(1e-4, "L2 penalty on the weights (AdamW's decoupled decay)", group="train")

    def __post_init__(self):
        self.check(positive=("ngrams", "min_df", "epochs", "batch_size"))
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError("--lr must be positive and --weight_decay non-negative")


def run(cfg: TfidfRunConfig):
    import torch

    from data_pipeline.tfidf import Tfidf
    from modeling.baselines.linear import LinearClassifier, LinearClassifierConfig

    task, labelled = labelled_rows(cfg)
    rows = {name: ([text for text, _ in pairs], torch.tensor([y for _, y in pairs])) for name, pairs in labelled.items()}
    if len(rows["train"][0]) < cfg.batch_size:
        raise ConfigError(f"{len(rows['train'][0])} training sentences are too few for --batch_size={cfg.batch_size}")
    vectorizer = Tfidf(cfg.tf, cfg.idf, cfg.ngrams, cfg.min_df, l2=cfg.l2_rows).fit(rows["train"][0])
    features = {name: vectorizer.transform(texts).to(torch.float32).to_sparse_csr() for name, (texts, _) in
                rows.items()}
    out, checkpoint = prepare_run_dir(cfg)
    (out / "vocabulary.json").write_text(json.dumps(list(vectorizer.vocabulary)) + "\n", encoding="utf-8")
    torch.manual_seed(cfg.seed)
    model = LinearClassifier(LinearClassifierConfig(len(vectorizer.vocabulary), task.num_labels))
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    describe = (f"TF-IDF ({cfg.tf} tf, {cfg.idf} idf, 1-{cfg.ngrams}-grams) + logistic regression on {task.name}: "
                f"{len(rows['train'][1])} training and {len(rows['eval'][1])} evaluation sentences, "
                f"{len(vectorizer.vocabulary)} terms")
    result = fit_classifier(cfg, out, checkpoint, model, optimizer, scheduler,
                            lambda split, indices: {"features": _dense_rows(features[split], indices),
                                                    "labels": rows[split][1][indices]},
                            {split: len(y) for split, (_, y) in rows.items()}, describe,
                            {"tf": cfg.tf, "idf": cfg.idf, "ngrams": cfg.ngrams,
                             "vocabulary": len(vectorizer.vocabulary)})
    print(f"\n{task.name} {cfg.eval_file} accuracy, TF-IDF + logistic regression, {cfg.epochs} epochs on "
          f"{cfg.train_file}: {100 * result['eval_accuracy']:.2f}%")


def _dense_rows(matrix, indices):
    """Rows of a sparse CSR matrix as a dense batch (a batch is small; the whole matrix stays sparse)."""
    import torch

    return torch.stack([matrix[i].to_dense() for i in indices])


TITLE = ("alba baseline tfidf: TF-IDF (tf and idf variants, word n-grams) + logistic regression on a single-sentence "
         "GLUE task; prints the dev accuracy")

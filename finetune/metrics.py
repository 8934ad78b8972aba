"""The official GLUE metrics, computed with numpy: accuracy, F1 of the positive class, Matthews correlation, Pearson
and Spearman correlation. Each returns a float in the metric's own range (not x100)."""
from __future__ import annotations

import numpy as np


def _pair(predictions, labels) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(predictions), np.asarray(labels)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(f"predictions {p.shape} and labels {y.shape} must be 1-D and of the same length")
    if not len(p):
        raise ValueError("no predictions to score")
    return p, y


def accuracy(predictions, labels) -> float:
    p, y = _pair(predictions, labels)
    return float((p == y).mean())


def f1(predictions, labels, positive=1) -> float:
    """F1 of the positive class (MRPC, QQP); 0 when there are no true positives."""
    p, y = _pair(predictions, labels)
    tp = int(((p == positive) & (y == positive)).sum())
    fp = int(((p == positive) & (y != positive)).sum())
    fn = int(((p != positive) & (y == positive)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def matthews(predictions, labels) -> float:
    """Matthews correlation (CoLA), in the multi-class form of Gorodkin (2004) that reduces to the binary
    (tp tn - fp fn) / sqrt(...); 0 when a marginal is constant (undefined)."""
    p, y = _pair(predictions, labels)
    classes, codes = np.unique(np.concatenate([p, y]), return_inverse=True)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=np.float64)
    np.add.at(confusion, (codes[len(p):], codes[:len(p)]), 1)  # rows: truth, columns: prediction
    n, correct = confusion.sum(), np.trace(confusion)
    true_totals, pred_totals = confusion.sum(1), confusion.sum(0)
    cov = correct * n - true_totals @ pred_totals
    denom = np.sqrt((n * n - pred_totals @ pred_totals) * (n * n - true_totals @ true_totals))
    return float(cov / denom) if denom else 0.0


def pearson(predictions, labels) -> float:
    p, y = (a.astype(np.float64) for a in _pair(predictions, labels))
    p, y = p - p.mean(), y - y.mean()
    denom = np.sqrt((p @ p) * (y @ y))
    return float(p @ y / denom) if denom else 0.0


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing the mean of the ranks they span (as Spearman's coefficient needs)."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x), dtype=np.float64)
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2  # mean of the 1-based ranks s+1 .. e
    return ranks


def spearman(predictions, labels) -> float:
    p, y = _pair(predictions, labels)
    return pearson(_average_ranks(p), _average_ranks(y))


METRICS = {"accuracy": accuracy, "f1": f1, "matthews": matthews, "pearson": pearson, "spearman": spearman}

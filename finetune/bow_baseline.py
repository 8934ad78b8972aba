"""A bag-of-words baseline for sentence(-pair) tasks: logistic (or, for regression, linear) regression on word and
bigram counts, trained full-batch with L-BFGS. It shows what the task gives without any pretraining or word order
beyond bigrams: the number a fine-tuned encoder has to beat."""
from __future__ import annotations

import re
import warnings
from collections import Counter

import torch
import torch.nn.functional as F

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _features(text_a: str, text_b: str | None) -> list[str]:
    feats = []
    for side, text in (("a", text_a), ("b", text_b)):
        if text is None:
            continue
        words = _TOKEN.findall(text.lower())
        feats += [f"{side}:{w}" for w in words] + [f"{side}:{u} {v}" for u, v in zip(words, words[1:])]
    return feats


class BagOfWords:
    def __init__(self, num_labels: int, min_count: int = 1, l2: float = 1e-4, iterations: int = 100):
        self.num_labels, self.min_count, self.l2, self.iterations = num_labels, min_count, l2, iterations

    def _matrix(self, pairs) -> torch.Tensor:
        rows, cols = [], []
        for i, (a, b) in enumerate(pairs):
            for f in _features(a, b):
                j = self.vocab.get(f)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        counts = torch.sparse_coo_tensor(torch.tensor([rows, cols], dtype=torch.long), torch.ones(len(rows)),
                                         (len(pairs), len(self.vocab)), check_invariants=True).coalesce()
        # Damped counts (a repeated word is evidence, not proportionally more); sparse: n x |vocab| is mostly 0.
        damped = torch.sparse_coo_tensor(counts.indices(), torch.log1p(counts.values()), counts.shape,
                                         is_coalesced=True, check_invariants=True)
        with warnings.catch_warnings():  # CSR is "beta" in torch; here it is only a faster sparse x dense product
            warnings.simplefilter("ignore", UserWarning)
            return damped.to_sparse_csr()

    def fit(self, pairs: list[tuple[str, str | None]], labels) -> "BagOfWords":
        counts = Counter(f for a, b in pairs for f in set(_features(a, b)))
        self.vocab = {f: i for i, f in enumerate(sorted(f for f, c in counts.items() if c >= self.min_count))}
        x = self._matrix(pairs)
        y = torch.as_tensor(labels)
        out = self.num_labels
        self.weight = torch.zeros(x.shape[1], out, requires_grad=True)
        self.bias = torch.zeros(out, requires_grad=True)
        optimizer = torch.optim.LBFGS([self.weight, self.bias], max_iter=self.iterations, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            scores = torch.sparse.mm(x, self.weight) + self.bias
            loss = (F.mse_loss(scores.squeeze(-1), y.float()) if out == 1 else F.cross_entropy(scores, y))
            loss = loss + self.l2 * self.weight.pow(2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return self

    @torch.no_grad()
    def predict(self, pairs: list[tuple[str, str | None]]) -> torch.Tensor:
        """Class ids, or scores for regression."""
        scores = torch.sparse.mm(self._matrix(pairs), self.weight) + self.bias
        return scores.squeeze(-1) if self.num_labels == 1 else scores.argmax(-1)

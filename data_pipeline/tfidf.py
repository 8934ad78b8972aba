"""TF-IDF features of texts: word n-gram counts weighted by a term-frequency variant and an inverse document
frequency, each row optionally L2-normalised. The defaults are the standard variant, equal to scikit-learn's
TfidfVectorizer: tokens of 2+ word characters, lower-cased; raw counts; idf = ln((1 + N) / (1 + df)) + 1; L2 rows.

Term frequency of a term t in a document d, from its count c(t, d) (0 for an absent term stays 0):
    raw          c                          binary       1
    log          1 + ln c                   max_norm     c / max_t' c(t', d)
    double_norm  0.5 + 0.5 c / max_t' c(t', d)
Inverse document frequency over N training documents, df(t) of which hold t:
    log          ln((1 + N) / (1 + df)) + 1   (smoothed, as if one more document held every term)
    reciprocal   N / df                       (the ratio itself, without the logarithm)
    none         1
"""
from __future__ import annotations

import math
import re
from collections import Counter

import torch

TF_VARIANTS = ("raw", "binary", "log", "double_norm", "max_norm")
IDF_VARIANTS = ("log", "reciprocal", "none")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default


class Tfidf:
    def __init__(self, tf: str = "raw", idf: str = "log", ngrams: int = 1, min_df: int = 1, lowercase: bool = True,
                 l2: bool = True, token_pattern: str = TOKEN_PATTERN):
        if tf not in TF_VARIANTS or idf not in IDF_VARIANTS:
            raise ValueError(f"tf must be one of {', '.join(TF_VARIANTS)} and idf one of {', '.join(IDF_VARIANTS)}")
        self.tf, self.idf_kind, self.ngrams, self.min_df, self.lowercase, self.l2 = tf, idf, ngrams, min_df, \
            lowercase, l2
        self.token = re.compile(token_pattern)

    def terms(self, text: str) -> list[str]:
        """The n-grams (1..ngrams) of a text, n-grams as space-joined tokens."""
        tokens = self.token.findall(text.lower() if self.lowercase else text)
        return [" ".join(tokens[i:i + n]) for n in range(1, self.ngrams + 1) for i in range(len(tokens) - n + 1)]

    def fit(self, texts: list[str]) -> "Tfidf":
        """The vocabulary (terms in at least min_df documents, sorted) and each term's idf."""
        df = Counter(t for text in texts for t in set(self.terms(text)))
        kept = sorted(t for t, count in df.items() if count >= self.min_df)
        self.vocabulary = {t: i for i, t in enumerate(kept)}
        n = len(texts)
        weights = {"log": lambda d: math.log((1 + n) / (1 + d)) + 1, "reciprocal": lambda d: n / d,
                   "none": lambda d: 1.0}[self.idf_kind]
        self.idf = torch.tensor([weights(df[t]) for t in kept], dtype=torch.float64)
        return self

    def transform(self, texts: list[str]) -> torch.Tensor:
        """A sparse (documents x vocabulary) float64 matrix; terms outside the vocabulary are left out."""
        rows, cols, values = [], [], []
        for row, text in enumerate(texts):
            counts = Counter(t for t in self.terms(text) if t in self.vocabulary)
            if not counts:
                continue
            top = max(counts.values())
            weighted = {t: self._tf(c, top) * float(self.idf[self.vocabulary[t]]) for t, c in counts.items()}
            norm = math.sqrt(sum(w * w for w in weighted.values())) if self.l2 else 1.0
            for t, w in weighted.items():
                rows.append(row)
                cols.append(self.vocabulary[t])
                values.append(w / norm if norm else 0.0)
        return torch.sparse_coo_tensor(torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1),
                                       torch.tensor(values, dtype=torch.float64),
                                       (len(texts), len(self.vocabulary)), check_invariants=True).coalesce()

    def _tf(self, count: int, top: int) -> float:
        return {"raw": count, "binary": 1.0, "log": 1 + math.log(count), "double_norm": 0.5 + 0.5 * count / top,
                "max_norm": count / top}[self.tf]

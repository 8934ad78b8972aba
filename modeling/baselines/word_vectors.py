"""Trained word vectors: the word2vec text format, nearest neighbours, analogies (3CosAdd) and the two standard
evaluations, Spearman correlation with human similarity scores and analogy accuracy, computed as gensim's
KeyedVectors does (case-insensitive, questions with an unknown word skipped)."""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import numpy as np


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks, tied values sharing their mean rank."""
    return float(np.corrcoef(_ranks(np.asarray(x, float)), _ranks(np.asarray(y, float)))[0, 1])


def _ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="stable")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a))
    _, groups, counts = np.unique(a, return_inverse=True, return_counts=True)
    sums = np.bincount(groups, weights=ranks)
    return sums[groups] / counts[groups]


class WordVectors:
    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words but {len(vectors)} vectors")
        self.words = list(words)
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("the words are not unique")
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.unit = self.vectors / np.maximum(norms, 1e-12)
        # Case-insensitive lookup: the first (most frequent) spelling of a word wins, as in gensim.
        self.lower: dict[str, int] = {}
        for i, w in enumerate(self.words):
            self.lower.setdefault(w.lower(), i)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index[word]]

    def save_word2vec_format(self, path: str | os.PathLike) -> None:
        """`V D` then one `word x1 ... xD` line per word; floats with 9 significant digits, exact for float32.
        Written to a temporary file then renamed, so a failure leaves no partial file."""
        path = os.fspath(path)
        bad = next((w for w in self.words if not w or any(c.isspace() for c in w)), None)
        if bad is not None:
            raise ValueError(f"{path}: the word {bad!r} is empty or holds whitespace, which the text format cannot store")
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{len(self.words)} {self.vectors.shape[1]}\n")
            for word, row in zip(self.words, self.vectors):
                f.write(word + " " + " ".join(f"{x:.9g}" for x in row.tolist()) + "\n")
        os.replace(tmp, path)

    @classmethod
    def load_word2vec_format(cls, path: str | os.PathLike) -> "WordVectors":
        path = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            header = f.readline().split()
            try:
                count, dim = map(int, header)
            except ValueError:
                raise ValueError(f"{path}:1: expected the header 'VOCAB_SIZE DIM', got {' '.join(header)!r}") from None
            words, rows = [], np.empty((count, dim), dtype=np.float32)
            for lineno, line in enumerate(f, 2):
                fields = line.rstrip("\n").rstrip(" ").split(" ")
                if len(words) == count:
                    raise ValueError(f"{path}:{lineno}: more vectors than the {count} the header announces")
                if len(fields) != dim + 1:
                    raise ValueError(f"{path}:{lineno}: expected a word and {dim} numbers, got {len(fields)} fields")
                try:
                    rows[len(words)] = np.array(fields[1:], dtype=np.float32)
                except ValueError:
                    raise ValueError(f"{path}:{lineno}: a vector component is not a number") from None
                words.append(fields[0])
        if len(words) != count:
            raise ValueError(f"{path}: the header announces {count} vectors but the file holds {len(words)}")
        return cls(words, rows)

    def similarity(self, a: str, b: str) -> float:
        return float(self.unit[self.index[a]] @ self.unit[self.index[b]])

    def most_similar(self, positive: Iterable[str] = (), negative: Iterable[str] = (), topn: int = 10,
                     restrict: int | None = None) -> list[tuple[str, float]]:
        """The `topn` words of highest cosine with the mean of the unit vectors of `positive` minus those of
        `negative` (3CosAdd: b - a + c for 'a is to b as c is to ?'), the query words excluded; `restrict`
        searches only the first (most frequent) words."""
        positive, negative = list(positive), list(negative)
        ids = [self.index[w] for w in positive + negative]
        signs = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        return self._nearest(ids, signs, topn, restrict)

    def _nearest(self, ids: list[int], signs: np.ndarray, topn: int, restrict: int | None):
        query = (signs[:, None] * self.unit[ids]).mean(0)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        scores = self.unit[:restrict] @ query
        scores[[i for i in ids if i < len(scores)]] = -np.inf
        best = np.argsort(-scores, kind="stable")[:topn]
        return [(self.words[i], float(scores[i])) for i in best if np.isfinite(scores[i])]

    def analogy(self, a: str, b: str, c: str) -> str:
        """d such that a is to b as c is to d."""
        return self.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]

    def evaluate_similarity(self, pairs: Iterable[tuple[str, str, float]]) -> dict[str, float]:
        """Spearman correlation between the cosines and the human scores of the pairs whose words are both known
        (case-insensitive), and how many pairs were known and unknown."""
        model, human, unknown = [], [], 0
        for a, b, score in pairs:
            i, j = self.lower.get(a.lower()), self.lower.get(b.lower())
            if i is None or j is None:
                unknown += 1
                continue
            model.append(float(self.unit[i] @ self.unit[j]))
            human.append(score)
        rho = spearman(model, human) if len(model) > 1 else float("nan")
        return {"spearman": rho, "pairs": len(model), "unknown": unknown}

    def evaluate_analogies(self, sections: dict[str, list[tuple[str, str, str, str]]],
                           restrict: int = 300000) -> dict[str, float]:
        """Accuracy of 3CosAdd over the questions whose four words are among the first `restrict` words (as
        gensim: case-insensitive, the three question words excluded from the answers), overall and per section."""
        result, right, asked = {}, 0, 0
        for name, questions in sections.items():
            ok = total = 0
            for question in questions:
                ids = [self.lower.get(w.lower()) for w in question]
                if any(i is None or i >= restrict for i in ids):
                    continue
                a, b, c, d = ids
                guess = self._nearest([b, c, a], np.array([1, 1, -1], np.float32), 1, restrict)
                ok += bool(guess) and guess[0][0].lower() == self.words[d].lower()
                total += 1
            result[name] = ok / total if total else float("nan")
            right, asked = right + ok, asked + total
        result["total"] = right / asked if asked else float("nan")
        result["questions"] = asked
        return result

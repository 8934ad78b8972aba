"""Tokenized documents held flat, in a token store's layout: per shard the token ids back to back, each sentence's
end offset and each document's end sentence. A store's shards stay memory-mapped, so nothing here grows with the
corpus in memory; subsets (the train / held-out split) are arrays of document numbers in a scratch file."""
from __future__ import annotations

import tempfile
from typing import Iterable, Sequence

import numpy as np

# Rows per write when spilling to a scratch file: bounds what is built in memory at once.
SPILL_ROWS = 1 << 12


def scratch_array(chunks: Iterable[np.ndarray], dtype, width: int | None = None,
                  writable: bool = False) -> np.ndarray:
    """The concatenation of `chunks`, written to an unlinked temporary file (in $TMPDIR) and memory-mapped back:
    the pages belong to the page cache, not to the process, and vanish with the array."""
    file, n = tempfile.TemporaryFile(prefix="alba-"), 0
    for chunk in chunks:
        chunk = np.ascontiguousarray(chunk, dtype=dtype)
        file.write(chunk.tobytes())
        n += len(chunk)
    shape = (n,) if width is None else (n, width)
    if n == 0:
        return np.zeros(shape, dtype=dtype)
    file.flush()
    return np.memmap(file, dtype=dtype, mode="r+" if writable else "r", shape=shape)


def _end_before(ends: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Where item `index` starts, given every item's end offset: the previous item's end, 0 for the first."""
    return np.where(index > 0, ends[np.maximum(index - 1, 0)], 0)


class TokenDocs:
    """A sequence of documents: `docs[k]` is document k as a list of sentences (lists of ids). The walk that makes
    sentence pairs reads only `sentences(k)`, and a pair's tokens are read by `tokens(start, end)` (offsets into the
    documents' shared token space), so a pair plan is five integers per pair."""

    def __init__(self, shards: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 selection: np.ndarray | None = None):
        self.shards = list(shards)
        self.token_base = np.cumsum([0] + [len(t) for t, _, _ in self.shards])
        self.doc_base = np.cumsum([0] + [len(d) for _, _, d in self.shards])
        self.selection = selection  # global document numbers of this subset, ascending; None: all

    @classmethod
    def from_lists(cls, docs: Iterable[Iterable[Sequence[int]]]) -> TokenDocs:
        """From nested lists (document -> sentence -> ids). Empty sentences are dropped, empty documents kept (a
        document's number seeds its pairs)."""
        tokens, sentence_ends, document_ends = [], [], []
        for doc in docs:
            for sentence in doc:
                if len(sentence):
                    tokens.extend(sentence)
                    sentence_ends.append(len(tokens))
            document_ends.append(len(sentence_ends))
        return cls([(np.asarray(tokens, dtype=np.int64), np.asarray(sentence_ends, dtype=np.int64),
                     np.asarray(document_ends, dtype=np.int64))])

    def __len__(self) -> int:
        return int(self.doc_base[-1]) if self.selection is None else len(self.selection)

    def _locate(self, k: int) -> tuple[int, int]:
        if not 0 <= k < len(self):
            raise IndexError(f"document {k} of {len(self)}")
        g = k if self.selection is None else int(self.selection[k])
        shard = int(np.searchsorted(self.doc_base, g, side="right")) - 1
        return shard, g - int(self.doc_base[shard])

    def sentences(self, k: int) -> tuple[int, list[int]]:
        """Document k's first token offset and its sentences' lengths."""
        shard, d = self._locate(k)
        _, sentence_ends, document_ends = self.shards[shard]
        first, last = (int(document_ends[d - 1]) if d else 0), int(document_ends[d])
        ends = sentence_ends[max(first - 1, 0):last].tolist()  # from the previous sentence's end, if any
        start = ends.pop(0) if first else 0
        lengths = np.diff([start, *ends]).tolist()
        return int(self.token_base[shard]) + start, lengths

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Ids at offsets [start, end) of the token space; a range never crosses a shard (documents do not)."""
        if end <= start:
            return np.zeros(0, dtype=np.int64)
        shard = int(np.searchsorted(self.token_base, start, side="right")) - 1
        base = int(self.token_base[shard])
        return self.shards[shard][0][start - base:end - base]

    def __getitem__(self, k: int) -> list[list[int]]:
        start, lengths = self.sentences(k)
        ids = self.tokens(start, start + sum(lengths)).tolist()
        out, pos = [], 0
        for n in lengths:
            out.append(ids[pos:pos + n])
            pos += n
        return out

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    def subset(self, indices: Iterable[int]) -> TokenDocs:
        """The documents at `indices` (ascending positions in this sequence)."""
        indices = np.fromiter(indices, dtype=np.int64) if not isinstance(indices, np.ndarray) else indices
        pieces = [indices[s:s + SPILL_ROWS + 1] for s in range(0, len(indices), SPILL_ROWS)]  # views
        ascending = all(np.all(p[1:] > p[:-1]) for p in pieces)
        if not ascending or len(indices) and (indices[0] < 0 or indices[-1] >= len(self)):
            raise ValueError("subset indices must be ascending positions of this sequence")
        chosen = (p[:SPILL_ROWS] if self.selection is None else self.selection[p[:SPILL_ROWS]] for p in pieces)
        return TokenDocs(self.shards, scratch_array(chosen, np.int64))

    def _doc_chunks(self):
        """(shard, document numbers in the shard) for this sequence's documents, a bounded number at a time."""
        for shard, (lo, hi) in enumerate(zip(self.doc_base[:-1], self.doc_base[1:])):
            if self.selection is None:
                for s in range(int(lo), int(hi), SPILL_ROWS):
                    yield shard, np.arange(s, min(s + SPILL_ROWS, int(hi))) - lo
                continue
            a, b = np.searchsorted(self.selection, [lo, hi])
            for s in range(int(a), int(b), SPILL_ROWS):
                yield shard, np.asarray(self.selection[s:min(s + SPILL_ROWS, int(b))]) - lo

    def _sentence_counts(self):
        """How many sentences each document holds, a bounded number of documents at a time."""
        for shard, local in self._doc_chunks():
            ends = np.asarray(self.shards[shard][2])
            yield ends[local] - _end_before(ends, local)

    def num_sentences(self) -> int:
        return int(sum(counts.sum() for counts in self._sentence_counts()))

    def nonempty(self) -> np.ndarray | None:
        """Positions of the documents that hold a sentence; None (and nothing held) when all do."""
        if all(counts.all() for counts in self._sentence_counts()):
            return None
        parts, offset = [], 0
        for counts in self._sentence_counts():
            parts.append(np.flatnonzero(counts) + offset)
            offset += len(counts)
        return np.concatenate(parts)

    def _token_ranges(self):
        """(shard, start, end) token ranges of this sequence's documents, neighbours merged."""
        for shard, local in self._doc_chunks():
            sentence_ends, document_ends = np.asarray(self.shards[shard][1]), np.asarray(self.shards[shard][2])
            first, last = _end_before(document_ends, local), document_ends[local]  # sentence numbers
            start, end = _end_before(sentence_ends, first), _end_before(sentence_ends, last)  # token offsets
            breaks = np.flatnonzero(start[1:] != end[:-1]) + 1
            for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(local)]):
                yield shard, int(start[lo]), int(end[hi - 1])

    def num_tokens(self) -> int:
        return sum(end - start for _, start, end in self._token_ranges())

    def token_counts(self, size: int) -> np.ndarray:
        """How often each id in [0, size) occurs in these documents, read a bounded piece at a time."""
        counts = np.zeros(size, dtype=np.int64)
        for shard, start, end in self._token_ranges():
            for s in range(start, end, SPILL_ROWS * 64):
                counts += np.bincount(self.shards[shard][0][s:min(end, s + SPILL_ROWS * 64)], minlength=size)[:size]
        return counts

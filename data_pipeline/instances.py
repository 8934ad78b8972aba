"""Sentence-pair instances for NSP / SOP (or single segments), by the reference algorithm of BERT and ALBERT.

An epoch's instances are a plan of five integers per pair (the token ranges of A and B and the label) in a scratch
file, and a pair's tokens are read only when it is used: memory does not grow with the corpus (data_pipeline/
token_docs.py)."""
import array
import dataclasses
import itertools
import random
from typing import Sequence

import numpy as np

from .errors import DataError
from .token_docs import SPILL_ROWS, TokenDocs, scratch_array

TASKS = ("sop", "nsp", "none")
NO_LABEL = -100  # what PyTorch's cross-entropy ignores
MIN_SEQ_LENGTH = 8


@dataclasses.dataclass(frozen=True)
class Instance:
    """Segments A and B (token ids, no special tokens) and the sentence-level label.

    NSP, as HF's `next_sentence_label`: 0 = B continues A (IsNext), 1 = B is from another document (NotNext).
    SOP, as HF's `sentence_order_label`: 0 = A then B in document order, 1 = swapped. Task "none": B is empty and
    the label is NO_LABEL (-100).
    """
    tokens_a: list[int]
    tokens_b: list[int]
    label: int


class Instances(Sequence):
    """One epoch's instances in their shuffled order; item i is read from the documents when asked for."""

    def __init__(self, docs: TokenDocs, plan: np.ndarray, order: np.ndarray):
        self.docs, self.plan, self.order = docs, plan, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i: int) -> Instance:
        if not -len(self) <= i < len(self):
            raise IndexError(f"instance {i} of {len(self)}")
        a_lo, a_hi, b_lo, b_hi, label = self.plan[self.order[i]].tolist()
        return Instance(self.docs.tokens(a_lo, a_hi).tolist(), self.docs.tokens(b_lo, b_hi).tolist(), label)


def create_instances(docs, max_seq_length: int = 128, short_seq_prob: float = 0.1,
                     task: str = "sop", seed: int = 0, epoch: int = 0) -> Instances:
    """One epoch's instances from tokenized documents (document -> sentence -> ids); a pure function of its arguments.

    Per document, with an RNG seeded from (seed, epoch, document index), so no result depends on processes or
    workers (REFERENCE.md section 2):
    - the target length is max_seq_length - 3 ([CLS], [SEP], [SEP]), or with probability `short_seq_prob` a
      uniform integer in [2, max_seq_length - 3]. Drawn anew for every chunk, not once per document as in the
      original code, so that `short_seq_prob` really is the fraction of short instances whatever the documents'
      lengths;
    - sentences accumulate into a chunk until its length reaches the target or the document ends; A is the chunk's
      first `a_end` sentences, `a_end` uniform in [1, len(chunk) - 1] (1 for a one-sentence chunk);
    - "nsp": with probability 0.5, and always for a one-sentence chunk, B is taken from a uniformly chosen other
      document, from a random sentence on, up to (target - len(A)) tokens; the chunk's unused sentences are put
      back (the walk rewinds to them). Otherwise B is the rest of the chunk;
    - "sop": B is the rest of the chunk, and A and B are swapped with probability 0.5. A one-sentence chunk is
      split inside its sentence at a uniform point (a one-token sentence yields nothing), so every SOP pair holds
      two consecutive pieces of one document; the original code took a random document's B there instead;
    - "none": A is the whole chunk and B is empty;
    - while len(A) + len(B) > max_seq_length - 3, one token goes from the longer segment (B on a tie), from its
      front or back with probability 0.5 each.
    Finally the epoch's instances are shuffled with an RNG seeded from (seed, epoch). Empty sentences are ignored.
    `docs`: TokenDocs, or nested lists (document -> sentence -> ids).
    """
    if task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if max_seq_length < MIN_SEQ_LENGTH:
        raise DataError(f"max_seq_length must be at least {MIN_SEQ_LENGTH}; got {max_seq_length}")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise DataError(f"short_seq_prob must be in [0, 1]; got {short_seq_prob}")
    docs = docs if isinstance(docs, TokenDocs) else TokenDocs.from_lists(docs)
    nonempty = docs.nonempty()
    n_nonempty = len(docs) if nonempty is None else len(nonempty)
    if not n_nonempty or (task == "nsp" and n_nonempty < 2):
        raise DataError(f"task {task!r} needs at least {2 if task == 'nsp' else 1} non-empty document(s); "
                        f"got {n_nonempty}")
    builder = _Builder(docs, nonempty, n_nonempty, max_seq_length - 3, short_seq_prob, task)
    plan = scratch_array(builder.rows(seed, epoch), np.int64, width=5)
    return Instances(docs, plan, _shuffled_order(len(plan), random.Random(f"alba-shuffle/{seed}/{epoch}")))


def _shuffled_order(n: int, rng: random.Random) -> np.ndarray:
    """random.shuffle's permutation of range(n) (the same Fisher-Yates draws), made in a scratch file."""
    order = scratch_array((np.arange(s, min(s + SPILL_ROWS, n)) for s in range(0, n, SPILL_ROWS)), np.int64,
                          writable=True)
    for i in reversed(range(1, n)):
        j = rng.randrange(i + 1)
        order[i], order[j] = order[j], order[i]
    return order


class _Builder:
    """The per-document walk over sentence lengths; pieces are (start, end) token offsets. String seeds are hashed
    with SHA-512 by `random`, stable across processes."""

    def __init__(self, docs: TokenDocs, nonempty, n_nonempty: int, max_num_tokens: int, short_seq_prob: float,
                 task: str):
        self.docs, self.nonempty, self.n_nonempty = docs, nonempty, n_nonempty
        self.max_num_tokens, self.short_seq_prob, self.task = max_num_tokens, short_seq_prob, task

    def rows(self, seed: int, epoch: int):
        """Plan rows (a_start, a_end, b_start, b_end, label) of every document in order, a bounded block at a time."""
        block = array.array("q")
        for k in range(len(self.docs)):
            start, lengths = self.docs.sentences(k)
            if lengths:
                for row in self.document(k, start, lengths, random.Random(f"alba-instances/{seed}/{epoch}/{k}")):
                    block.extend(row)
            if len(block) >= 5 * SPILL_ROWS:
                yield np.frombuffer(block, dtype=np.int64).reshape(-1, 5)
                block = array.array("q")
        if block:
            yield np.frombuffer(block, dtype=np.int64).reshape(-1, 5)

    def target(self, rng: random.Random) -> int:
        if rng.random() < self.short_seq_prob:
            return rng.randint(2, self.max_num_tokens)
        return self.max_num_tokens

    def document(self, index: int, start: int, lengths: list[int], rng: random.Random) -> list[tuple]:
        ends = list(itertools.accumulate(lengths, initial=start))
        starts, ends = ends[:-1], ends[1:]
        out, first, length, target, j = [], 0, 0, self.target(rng), 0
        while j < len(lengths):
            length += lengths[j]
            j += 1
            if j < len(lengths) and length < target:
                continue
            size = j - first
            if self.task == "none":
                pair = ((starts[first], ends[j - 1]), (0, 0), NO_LABEL)
            else:
                a_end = first + (rng.randint(1, size - 1) if size > 1 else 1)
                piece_a = (starts[first], ends[a_end - 1])
                if self.task == "sop":
                    pair = self.ordered_pair(piece_a, (starts[a_end], ends[j - 1]) if size > 1 else None, rng)
                elif size == 1 or rng.random() < 0.5:
                    pair = (piece_a, self.random_segment(index, target - (piece_a[1] - piece_a[0]), rng), 1)
                    j = a_end
                else:
                    pair = (piece_a, (starts[a_end], ends[j - 1]), 0)
            if pair is not None:
                out.append(_truncated(*pair, self.max_num_tokens, rng))
            first, length, target = j, 0, self.target(rng)
        return out

    def random_segment(self, index: int, max_tokens: int, rng: random.Random) -> tuple[int, int]:
        """Sentences of a uniformly chosen other document, from a random one on, until `max_tokens` is reached."""
        k = rng.randrange(self.n_nonempty - 1)
        position = lambda k: k if self.nonempty is None else int(self.nonempty[k])  # noqa: E731
        other = position(k) if position(k) < index else position(k + 1)
        start, lengths = self.docs.sentences(other)
        first = rng.randrange(len(lengths))
        start += sum(lengths[:first])
        end = start
        for n in lengths[first:]:
            end += n
            if end - start >= max_tokens:
                break
        return start, end

    @staticmethod
    def ordered_pair(piece_a: tuple[int, int], piece_b: tuple[int, int] | None, rng: random.Random):
        """(A, B, label) of two consecutive pieces, swapped with probability 0.5; a lone sentence (piece_b None) is
        cut at a uniform point inside it; None if it is one token long."""
        if piece_b is None:
            lo, hi = piece_a
            if hi - lo < 2:
                return None
            cut = lo + rng.randint(1, hi - lo - 1)
            piece_a, piece_b = (lo, cut), (cut, hi)
        if rng.random() < 0.5:
            return piece_b, piece_a, 1
        return piece_a, piece_b, 0


def _truncated(piece_a: tuple[int, int], piece_b: tuple[int, int], label: int, max_num_tokens: int,
               rng: random.Random) -> tuple:
    """Drop tokens one at a time from the longer piece (B on a tie), from its front or back at random."""
    (a_lo, a_hi), (b_lo, b_hi) = piece_a, piece_b
    while (a_hi - a_lo) + (b_hi - b_lo) > max_num_tokens:
        from_a = (a_hi - a_lo) > (b_hi - b_lo)
        front = rng.random() < 0.5
        if from_a:
            a_lo, a_hi = (a_lo + 1, a_hi) if front else (a_lo, a_hi - 1)
        else:
            b_lo, b_hi = (b_lo + 1, b_hi) if front else (b_lo, b_hi - 1)
    return a_lo, a_hi, b_lo, b_hi, label

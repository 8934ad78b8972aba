"""Sentence-pair instances for NSP / SOP (or single segments), by the reference algorithm of BERT and ALBERT."""
import dataclasses
import random

from .errors import DataError

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


def create_instances(docs: list[list[list[int]]], max_seq_length: int = 128, short_seq_prob: float = 0.1,
                     task: str = "sop", seed: int = 0, epoch: int = 0) -> list[Instance]:
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
    """
    if task not in TASKS:
        raise DataError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if max_seq_length < MIN_SEQ_LENGTH:
        raise DataError(f"max_seq_length must be at least {MIN_SEQ_LENGTH}; got {max_seq_length}")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise DataError(f"short_seq_prob must be in [0, 1]; got {short_seq_prob}")
    docs = [[s for s in doc if len(s)] for doc in docs]
    nonempty = [i for i, doc in enumerate(docs) if doc]
    if not nonempty or (task == "nsp" and len(nonempty) < 2):
        raise DataError(f"task {task!r} needs at least {2 if task == 'nsp' else 1} non-empty document(s); "
                        f"got {len(nonempty)}")
    builder = _Builder(docs, nonempty, max_seq_length - 3, short_seq_prob, task)
    instances = []
    for i in nonempty:
        instances.extend(builder.document(i, random.Random(f"alba-instances/{seed}/{epoch}/{i}")))
    random.Random(f"alba-shuffle/{seed}/{epoch}").shuffle(instances)
    return instances


class _Builder:
    """The per-document walk; string seeds are hashed with SHA-512 by `random`, stable across processes."""

    def __init__(self, docs, nonempty, max_num_tokens, short_seq_prob, task):
        self.docs, self.nonempty, self.max_num_tokens = docs, nonempty, max_num_tokens
        self.short_seq_prob, self.task = short_seq_prob, task

    def target(self, rng: random.Random) -> int:
        if rng.random() < self.short_seq_prob:
            return rng.randint(2, self.max_num_tokens)
        return self.max_num_tokens

    def document(self, index: int, rng: random.Random) -> list[Instance]:
        doc, out = self.docs[index], []
        chunk, length, target, j = [], 0, self.target(rng), 0
        while j < len(doc):
            chunk.append(doc[j])
            length += len(doc[j])
            j += 1
            if j < len(doc) and length < target:
                continue
            if self.task == "none":
                pair = (_concat(chunk), [], NO_LABEL)
            else:
                a_end = rng.randint(1, len(chunk) - 1) if len(chunk) > 1 else 1
                if self.task == "sop":
                    pair = self.ordered_pair(chunk, a_end, rng)
                elif len(chunk) == 1 or rng.random() < 0.5:
                    tokens_a = _concat(chunk[:a_end])
                    pair = (tokens_a, self.random_segment(index, target - len(tokens_a), rng), 1)
                    j -= len(chunk) - a_end
                else:
                    pair = (_concat(chunk[:a_end]), _concat(chunk[a_end:]), 0)
            if pair is not None:
                out.append(_truncated(*pair, self.max_num_tokens, rng))
            chunk, length, target = [], 0, self.target(rng)
        return out

    def random_segment(self, index: int, max_tokens: int, rng: random.Random) -> list[int]:
        """Sentences of a uniformly chosen other document, from a random one on, until `max_tokens` is reached."""
        k = rng.randrange(len(self.nonempty) - 1)
        other = self.docs[self.nonempty[k] if self.nonempty[k] < index else self.nonempty[k + 1]]
        segment = []
        for sentence in other[rng.randrange(len(other)):]:
            segment.extend(sentence)
            if len(segment) >= max_tokens:
                break
        return segment

    @staticmethod
    def ordered_pair(chunk: list[list[int]], a_end: int, rng: random.Random):
        """(A, B, label) of two consecutive pieces of the chunk, swapped with probability 0.5; None if impossible."""
        if len(chunk) > 1:
            tokens_a, tokens_b = _concat(chunk[:a_end]), _concat(chunk[a_end:])
        elif len(chunk[0]) > 1:
            cut = rng.randint(1, len(chunk[0]) - 1)
            tokens_a, tokens_b = chunk[0][:cut], chunk[0][cut:]
        else:
            return None
        if rng.random() < 0.5:
            return tokens_b, tokens_a, 1
        return tokens_a, tokens_b, 0


def _concat(sentences: list[list[int]]) -> list[int]:
    return [t for s in sentences for t in s]


def _truncated(tokens_a: list[int], tokens_b: list[int], label: int, max_num_tokens: int,
               rng: random.Random) -> Instance:
    """Drop tokens one at a time from the longer segment, front or back at random (kept as index windows)."""
    a_lo, a_hi, b_lo, b_hi = 0, len(tokens_a), 0, len(tokens_b)
    while (a_hi - a_lo) + (b_hi - b_lo) > max_num_tokens:
        from_a = (a_hi - a_lo) > (b_hi - b_lo)
        front = rng.random() < 0.5
        if from_a:
            a_lo, a_hi = (a_lo + 1, a_hi) if front else (a_lo, a_hi - 1)
        else:
            b_lo, b_hi = (b_lo + 1, b_hi) if front else (b_lo, b_hi - 1)
    return Instance(list(tokens_a[a_lo:a_hi]), list(tokens_b[b_lo:b_hi]), label)

"""TokenDocs, the flat (memory-mapped for a store) form of tokenized documents, and the bound it gives: planning an
epoch's pairs holds a fixed amount of memory, whatever the corpus holds."""
import random
import tracemalloc
from collections import Counter

import numpy as np
import pytest

from data_pipeline import TokenDocs, create_instances, instances, token_docs

from test_instance_creation import fake_corpus


@pytest.fixture(scope="module")
def docs():
    docs = fake_corpus(60, (1, 9), (1, 12), seed=7)
    docs[3], docs[8] = [], [[], [9, 9, 9], []]  # an empty document and empty sentences
    return docs


def test_documents_read_back_as_given_without_empty_sentences(docs):
    flat = TokenDocs.from_lists(docs)
    expected = [[s for s in d if s] for d in docs]
    assert len(flat) == len(docs) and list(flat) == expected
    assert flat.num_sentences() == sum(map(len, expected))
    assert flat.nonempty().tolist() == [i for i, d in enumerate(expected) if d]
    assert TokenDocs.from_lists(expected[:3]).nonempty() is None
    assert flat.num_tokens() == sum(len(s) for d in expected for s in d)
    counts = Counter(t for d in expected for s in d for t in s)
    size = max(counts) + 1
    assert flat.token_counts(size).tolist() == [counts[i] for i in range(size)]


def test_subsets_of_subsets_select_the_same_documents_as_lists(docs):
    flat = TokenDocs.from_lists(docs)
    expected = [[s for s in d if s] for d in docs]
    outer = sorted(random.Random(0).sample(range(len(docs)), 30))
    inner = [0, 2, 3, 17, 29]
    sub = flat.subset(outer).subset(inner)
    chosen = [expected[outer[i]] for i in inner]
    assert list(sub) == chosen and sub.num_tokens() == sum(len(s) for d in chosen for s in d)
    assert sub.num_sentences() == sum(map(len, chosen)) and sub.nonempty() is None
    with pytest.raises(ValueError, match="ascending"):
        flat.subset([4, 2])
    with pytest.raises(IndexError):
        sub[5]


def _shards(n_docs, seed):
    """A store-like corpus of `n_docs` documents of 2 sentences of 16 tokens (one pair each), as three shards."""
    rng = np.random.default_rng(seed)
    shards = []
    for part in np.array_split(np.arange(n_docs), 3):
        tokens = rng.integers(5, 1000, size=len(part) * 2 * 16).astype(np.uint16)
        shards.append((tokens, np.arange(1, len(part) * 2 + 1, dtype=np.int64) * 16,
                       np.arange(1, len(part) + 1, dtype=np.int64) * 2))
    return shards


def _peak_bytes(shards, select):
    docs = TokenDocs(shards)
    every_other = np.arange(0, len(docs), 2)
    tracemalloc.start()
    try:
        docs = docs.subset(every_other) if select else docs
        instances = create_instances(docs, 64, task="sop", seed=0)
        instances[len(instances) - 1]
        return tracemalloc.get_traced_memory()[1], len(instances)
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("select", [False, True])
def test_planning_pairs_holds_a_fixed_amount_of_memory(select, monkeypatch):
    """Four times the documents may not add even one 8-byte number per pair: the plan, its order and the subset's
    document numbers live in scratch files, and the tokens are never copied. Blocks are made small so that both
    corpora fill several."""
    monkeypatch.setattr(instances, "SPILL_ROWS", 256)
    monkeypatch.setattr(token_docs, "SPILL_ROWS", 256)
    small_peak, small_n = _peak_bytes(_shards(3000, 0), select)
    large_peak, large_n = _peak_bytes(_shards(12000, 1), select)
    assert large_n > 3.5 * small_n > 4 * 256
    assert large_peak - small_peak < 4 * (large_n - small_n)

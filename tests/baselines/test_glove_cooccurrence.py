"""GloVe's co-occurrence counts: 1/distance weighting in a symmetric window within a sentence, words outside the
vocabulary dropped first, and the sharded, merged count equal to the all-in-memory one and to a count by hand."""
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
import torch

from data_pipeline.cooccurrence import CooccurrenceCounter, read_cooccurrences
from data_pipeline.glove_batches import CooccurrenceBatches
from data_pipeline.vocabulary import Vocabulary


def count(tmp_path, sentences, vocab, window, max_pairs=1_000_000, name="x"):
    directory = tmp_path / name
    directory.mkdir()
    counter = CooccurrenceCounter(len(vocab), window, directory, max_pairs)
    for s in sentences:
        counter.add(vocab.encode(s))
    stats = counter.finish(directory / "cooccurrence.bin")
    return read_cooccurrences(directory / "cooccurrence.bin"), stats, directory


def as_dict(records, vocab):
    return {(vocab.words[r["i"]], vocab.words[r["j"]]): float(r["x"]) for r in records}


def test_one_over_distance_in_a_symmetric_window_by_hand(tmp_path):
    sentences = [["a", "b", "c", "a"], ["b", "z", "a"], ["c"]]
    vocab = Vocabulary(("a", "b", "c"), np.array([3, 2, 2]))  # z is not in the vocabulary: dropped before windows
    records, stats, _ = count(tmp_path, sentences, vocab, window=2)
    # Sentence 1: a-b at 1, b-c at 1, c-a at 1, a-c at 2, b-a at 2; sentence 2 (z gone): b-a at 1; none across lines.
    expected = {("a", "b"): 1 + 1 / 2 + 1, ("a", "c"): 1 / 2 + 1, ("b", "c"): 1, ("a", "a"): 0}
    expected = {**expected, **{(j, i): x for (i, j), x in expected.items()}}
    assert as_dict(records, vocab) == {k: v for k, v in expected.items() if v}
    assert stats.shards == 0
    narrow, _, _ = count(tmp_path, sentences, vocab, window=1, name="w1")
    assert as_dict(narrow, vocab) == {("a", "b"): 2, ("b", "a"): 2, ("b", "c"): 1, ("c", "b"): 1,
                                      ("c", "a"): 1, ("a", "c"): 1}


def test_sharded_count_equals_the_in_memory_count_and_a_count_by_fractions(tmp_path):
    rng = np.random.default_rng(0)
    sentences = [[f"w{min(int(k), 60)}" for k in rng.zipf(1.3, rng.integers(1, 40))] for _ in range(150)]
    vocab = Vocabulary.build(sentences, min_count=2)
    window = 6
    whole, whole_stats, _ = count(tmp_path, sentences, vocab, window, name="whole")
    sharded, stats, directory = count(tmp_path, sentences, vocab, window, max_pairs=64, name="sharded")
    assert whole_stats.shards == 0 and stats.shards >= 10 and stats.peak_entries <= 64  # the spill happened
    assert not list(directory.glob("*shard*"))  # merged, then deleted
    assert sharded.tobytes() == whole.tobytes()
    keys = sharded["i"].astype(np.int64) * len(vocab) + sharded["j"]
    assert (np.diff(keys) > 0).all()  # sorted by (i, j), each pair once
    exact = defaultdict(Fraction)
    for s in sentences:
        ids = vocab.encode(s)
        for p in range(len(ids)):
            for d in range(1, window + 1):
                if p + d < len(ids):
                    exact[ids[p], ids[p + d]] += Fraction(1, d)
                    exact[ids[p + d], ids[p]] += Fraction(1, d)
    assert {(int(r["i"]), int(r["j"])): float(r["x"]) for r in sharded} == {k: float(v) for k, v in exact.items()}


def test_batches_cover_every_entry_once_per_epoch_in_a_fresh_order_and_resume(tmp_path):
    rng = np.random.default_rng(1)
    sentences = [[f"w{int(k)}" for k in rng.integers(0, 30, 25)] for _ in range(40)]
    vocab = Vocabulary.build(sentences)
    records, _, directory = count(tmp_path, sentences, vocab, window=3)
    make = lambda: CooccurrenceBatches(directory / "cooccurrence.bin", batch_size=50, chunk_size=230, epochs=2,
                                       seed=4)
    epochs = [list(make()(e)) for e in range(2)]
    assert len(epochs[0]) == len(make()) and list(make()(2)) == []
    for batches in epochs:
        seen = np.concatenate([b["word_ids"].numpy() * len(vocab) + b["context_ids"].numpy() for b in batches])
        assert sorted(seen.tolist()) == (records["i"].astype(np.int64) * len(vocab) + records["j"]).tolist()
    assert not torch.equal(epochs[0][0]["word_ids"], epochs[1][0]["word_ids"])
    one_chunk = CooccurrenceBatches(directory / "cooccurrence.bin", batch_size=50, epochs=2, seed=4)
    assert not torch.equal(next(one_chunk(0))["word_ids"], next(one_chunk(1))["word_ids"])  # reshuffled within
    resumed = list(make()(1, start_batch=7))
    assert len(resumed) == len(epochs[1]) - 7
    assert all(torch.equal(a[k], b[k]) for a, b in zip(epochs[1][7:], resumed) for k in a)


def test_window_limits(tmp_path):
    with pytest.raises(ValueError, match="window"):
        CooccurrenceCounter(5, 21, tmp_path)

"""Sample i (its NSP/SOP instance and its mask) is a pure function of (seed, epoch, i): the same whatever the number
of DataLoader workers, the number of processes sharing the global batch, or the batch a run restarts at."""
import random

import numpy as np
import pytest
from scipy import stats
from torch.utils.data import DataLoader

from data_pipeline import PretrainingCollator, PretrainingDataset, SpecialTokens, create_instances
from data_pipeline.masking import Draws, _greedy_words
from pretrain.config import RunConfig
from pretrain.pretraining import PretrainingData
from pretrain.sampler import GlobalBatchSampler

SPECIAL = SpecialTokens()
VOCAB = 3_000
CONTINUING = frozenset(range(2_000, VOCAB))  # ids >= 2000 play WordPiece '##' pieces
BATCH, SEQ, EPOCH = 16, 48, 1


def documents(n=60, seed=0):
    rng = random.Random(seed)
    return [[[rng.randrange(5, VOCAB) for _ in range(rng.randint(3, 20))] for _ in range(rng.randint(2, 9))]
            for _ in range(n)]


DOCS = documents()


def config(masking, task):
    return RunConfig(seed=11, masking=masking, sentence_task=task, max_seq_length=SEQ, batch_size=BATCH,
                     max_predictions=8, short_seq_prob=0.1)


def make_data(cfg, rank=0, world=1):
    """A fresh PretrainingData, as a new process (or a restarted run) builds it."""
    return PretrainingData(cfg, DOCS, [], SPECIAL, VOCAB, CONTINUING, rank, world)


def samples(batches, index_batches) -> dict:
    """{sample index: (input ids, mlm labels, token types, sentence label)} of a stream of batches, each row's index
    taken from the sampler's matching list."""
    out = {}
    for batch, indices in zip(batches, index_batches, strict=True):
        for row, i in enumerate(indices):
            n = int(batch["attention_mask"][row].sum())
            out[i] = (batch["input_ids"][row, :n].tolist(), batch["mlm_labels"][row, :n].tolist(),
                      batch["token_type_ids"][row, :n].tolist(), int(batch["sentence_labels"][row]))
    return out


def run(cfg, rank=0, world=1, start_batch=0, workers=0) -> dict:
    data = make_data(cfg, rank, world)
    loader = data.batches(EPOCH, start_batch)
    if workers:  # the same sampler and collation, batches made in worker processes
        loader = DataLoader(loader.dataset, batch_sampler=loader.batch_sampler, collate_fn=data._collate,
                            num_workers=workers)
    return samples(loader, list(loader.batch_sampler))


def alone(cfg) -> dict:
    """The reference: every sample rebuilt from scratch and collated by itself."""
    instances = create_instances(DOCS, SEQ, short_seq_prob=cfg.short_seq_prob, task=cfg.sentence_task, seed=cfg.seed,
                                 epoch=EPOCH)
    dataset = PretrainingDataset(instances)
    collator = PretrainingCollator(SPECIAL, VOCAB, max_predictions=cfg.max_predictions, masking=cfg.masking,
                                   seed=cfg.seed, epoch=EPOCH, continuation_ids=CONTINUING)
    return samples((collator([dataset[i]]) for i in range(len(dataset))), ([i] for i in range(len(dataset))))


SETTINGS = [("token", "sop"), ("wwm", "nsp"), ("ngram", "sop")]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 4 workers on a 2-core machine is the point
@pytest.mark.parametrize("masking, task", SETTINGS)
def test_same_samples_for_any_number_of_workers(masking, task):
    cfg = config(masking, task)
    reference = alone(cfg)
    single = run(cfg)
    assert len(single) == len(reference) // BATCH * BATCH > 4 * BATCH
    assert all(single[i] == reference[i] for i in single)
    for workers in (2, 4):
        assert run(cfg, workers=workers) == single, f"{workers} workers"


@pytest.mark.parametrize("masking, task", SETTINGS)
def test_same_samples_and_global_batches_for_any_number_of_ranks(masking, task):
    cfg = config(masking, task)
    single = run(cfg)
    order = list(make_data(cfg).batches(EPOCH, 0).batch_sampler)
    for world in (2, 4):
        merged = {}
        for rank in range(world):
            part = run(cfg, rank, world)
            assert not merged.keys() & part.keys(), "two ranks got the same sample"
            merged.update(part)
            sampler = GlobalBatchSampler(len(make_data(cfg).train_instances(EPOCH)), BATCH, cfg.seed, rank, world)
            sampler.set_epoch(EPOCH)
            # each rank's share of global batch b is drawn from global batch b of the single-process run
            assert all(set(mine) <= set(full) for mine, full in zip(sampler, order, strict=True))
        assert merged == single, f"{world} ranks"


@pytest.mark.parametrize("masking, task", SETTINGS)
def test_restart_at_any_batch_continues_with_the_same_samples(masking, task):
    cfg = config(masking, task)
    order = list(make_data(cfg).batches(EPOCH, 0).batch_sampler)
    single = run(cfg)
    for start in range(len(order)):
        resumed = run(cfg, start_batch=start, world=2, rank=1)  # a restart on another process count too
        expected = {i for batch in order[start:] for i in batch[1::2]}
        assert resumed.keys() == expected
        assert all(resumed[i] == single[i] for i in resumed)


def test_draws_are_uniform_independent_and_a_function_of_the_index_alone():
    """The masking's counter-based draws: each row depends only on (seed, epoch, its index); rows, streams, seeds and
    epochs look independent; values are uniform on [0, 1) (Kolmogorov-Smirnov against scipy's uniform)."""
    indices = np.arange(1_000)
    u = Draws(3, 1, indices).uniform(0, 128)
    assert np.array_equal(Draws(3, 1, indices[[700, 5]]).uniform(0, 16), u[[700, 5], :16])
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-3 and 0 <= u.min() and u.max() < 1
    others = {"next index": Draws(3, 1, indices + 1).uniform(0, 128),
              "next epoch": Draws(3, 2, indices).uniform(0, 128), "next seed": Draws(4, 1, indices).uniform(0, 128),
              "next stream": Draws(3, 1, indices).uniform(1, 128),
              "next position": np.roll(u, -1, axis=1)}
    for name, v in others.items():
        assert abs(np.corrcoef(u.ravel(), v.ravel())[0, 1]) < 0.02, name  # 128k pairs: |r| ~ 0.003 if independent
        assert not np.array_equal(u, v), name


def test_batched_whole_word_choice_equals_visiting_words_one_by_one():
    """The vectorised selection (prefix of the key order, then lowest-key words that fit) against the plain
    algorithm: visit words by increasing key, take each that still fits the count."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        rows, slots = 32, 40
        n_words = rng.integers(0, slots + 1, size=rows)
        present = np.arange(slots) < n_words[:, None]
        length = np.where(present, rng.integers(1, 6, size=(rows, slots)), 0)
        key = np.where(present, rng.random((rows, slots)), 2.0)
        count = np.minimum(rng.integers(1, 30, size=rows), length.sum(axis=1))
        expected = np.zeros((rows, slots), dtype=bool)
        for r in range(rows):
            total = 0
            for w in sorted(range(n_words[r]), key=lambda w: key[r, w]):
                if total + length[r, w] <= count[r]:
                    expected[r, w], total = True, total + length[r, w]
        assert np.array_equal(_greedy_words(key, length, count), expected)

"""Packing short pairs into fixed-length rows: every pair kept exactly (tokens, segments, masks, labels), positions
restarting per pair, first-fit decreasing placement, micro-batches holding the same pairs as unpacked."""
import numpy as np
import pytest
import torch

from data_pipeline import PretrainingCollator, SpecialTokens
from data_pipeline.errors import DataError
from data_pipeline.packing import first_fit_decreasing

SPECIAL = SpecialTokens()
VOCAB = 500
WIDTH = 64


def random_items(n, seed=0, longest=40):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        la = int(rng.integers(1, longest))
        lb = 0 if i % 5 == 0 else int(rng.integers(1, max(2, WIDTH - 3 - la)))
        items.append({"index": 1000 + 3 * i, "label": int(rng.integers(0, 2)),
                      "tokens_a": rng.integers(SPECIAL.first_regular_id, VOCAB, la).tolist(),
                      "tokens_b": rng.integers(SPECIAL.first_regular_id, VOCAB, lb).tolist()})
    return items


def collators(**kwargs):
    common = dict(seed=4, masking="token", **kwargs)
    return PretrainingCollator(SPECIAL, VOCAB, **common), PretrainingCollator(SPECIAL, VOCAB, pad_to=WIDTH,
                                                                               pack=True, **common)


def pairs_of(packed):
    """(row, start, length, slot) of every packed pair, read back from pack_ids alone."""
    found = []
    for row, ids in enumerate(packed["pack_ids"].tolist()):
        for slot in sorted(set(ids) - {0}):
            where = [i for i, v in enumerate(ids) if v == slot]
            assert where == list(range(where[0], where[-1] + 1)), "a pair's tokens are not contiguous"
            found.append((row, where[0], len(where), slot))
    return found


@pytest.mark.parametrize("micro_batches", [1, 3])
def test_every_pair_is_kept_exactly_with_its_mask_and_labels(micro_batches):
    items = random_items(40)
    plain_collate, _ = collators()
    plain = plain_collate(items)
    packed = PretrainingCollator(SPECIAL, VOCAB, seed=4, pad_to=WIDTH, pack=True, micro_batches=micro_batches)(items)
    assert packed["input_ids"].shape[1] == WIDTH
    lengths = plain["attention_mask"].sum(1).tolist()
    unmatched = {(n, tuple(plain["input_ids"][i, :n].tolist())): i for i, n in enumerate(lengths)}
    assert len(unmatched) == len(items)
    for row, start, n, slot in pairs_of(packed):
        span = slice(start, start + n)
        i = unmatched.pop((n, tuple(packed["input_ids"][row, span].tolist())))
        for name in ("token_type_ids", "mlm_labels"):  # the same mask as unpacked: masking happens before packing
            assert packed[name][row, span].tolist() == plain[name][i, :n].tolist(), name
        assert packed["position_ids"][row, span].tolist() == list(range(n))
        assert packed["input_ids"][row, start] == SPECIAL.cls
        assert packed["cls_positions"][row, slot - 1] == start
        assert packed["sentence_labels"][row, slot - 1] == plain["sentence_labels"][i]
    assert not unmatched, "pairs lost in packing"
    assert ((packed["pack_ids"] > 0).long() == packed["attention_mask"]).all()
    padding = packed["pack_ids"] == 0
    assert (packed["input_ids"][padding] == SPECIAL.pad).all() and (packed["mlm_labels"][padding] == -100).all()
    used = packed["sentence_labels"] != -100
    assert int(used.sum()) == len(items) and (packed["cls_positions"][~used] == 0).all()


def test_micro_batches_hold_the_same_pairs_as_unpacked_micro_batches():
    items = random_items(30, seed=1)
    packed = PretrainingCollator(SPECIAL, VOCAB, pad_to=WIDTH, pack=True, micro_batches=4)(items)
    plain = PretrainingCollator(SPECIAL, VOCAB)(items)
    for packed_part, plain_part in zip(packed["input_ids"].tensor_split(4), plain["input_ids"].tensor_split(4)):
        first_tokens = sorted(r[1] for r in plain_part.tolist())  # the token after [CLS] is a good enough tag
        cls = (packed_part == SPECIAL.cls).nonzero().tolist()
        assert sorted(packed_part[r, c + 1].item() for r, c in cls) == first_tokens


def test_first_fit_decreasing_places_each_item_in_the_first_row_with_room():
    rng = np.random.default_rng(2)
    for _ in range(200):
        lengths = rng.integers(1, WIDTH + 1, int(rng.integers(1, 60)))
        row, offset = first_fit_decreasing(lengths, WIDTH)
        rows = int(row.max()) + 1
        fill = np.bincount(row, weights=lengths, minlength=rows)
        assert fill.max() <= WIDTH and (fill > 0).all()
        # Replay in decreasing order: each item went to the first row that had room at that moment.
        room = [WIDTH] * rows
        for i in np.argsort(-lengths, kind="stable"):
            assert row[i] == next(r for r in range(rows) if room[r] >= lengths[i])
            assert offset[i] == WIDTH - room[row[i]]
            room[row[i]] -= lengths[i]
        fewest = -(-int(lengths.sum()) // WIDTH)  # a lower bound on the optimum
        assert rows <= 11 / 9 * max(fewest, (lengths > WIDTH // 2).sum()) + 1


def test_packing_fills_rows_far_better_than_padding_on_short_pairs():
    items = random_items(64, seed=3, longest=12)
    _, pack = collators()
    packed = pack(items)
    real = int(packed["attention_mask"].sum())
    assert real == sum(len(it["tokens_a"]) + len(it["tokens_b"]) + (3 if it["tokens_b"] else 2) for it in items)
    assert real / packed["input_ids"].numel() > 0.9
    assert len(packed["input_ids"]) < len(items) / 2


def test_bad_packing_options_are_refused():
    with pytest.raises(DataError, match="pack=True needs pad_to"):
        PretrainingCollator(SPECIAL, VOCAB, pack=True)
    with pytest.raises(DataError, match="micro_batches"):
        PretrainingCollator(SPECIAL, VOCAB, pad_to=WIDTH, pack=True, micro_batches=0)
    too_long = [{"index": 0, "label": 0, "tokens_a": [9] * 70, "tokens_b": []}]
    with pytest.raises(DataError, match="does not fit pad_to=64"):
        PretrainingCollator(SPECIAL, VOCAB, pad_to=WIDTH, pack=True)(too_long)


def test_packed_tensors_are_long_with_one_cls_position_per_label():
    items = random_items(5, seed=4)
    packed = collators()[1](items)
    assert all(v.dtype == torch.long for v in packed.values())
    assert packed["cls_positions"].shape == packed["sentence_labels"].shape

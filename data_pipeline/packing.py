"""Packing several short `[CLS] A [SEP] B [SEP]` pairs into each fixed-length row, so fewer positions are padding.

A packed row keeps every pair exactly as it was: its tokens, segment ids and mask; its position ids restart at 0;
`pack_ids` number the pairs of a row 1, 2, ... (0 at padding) so that attention stays inside each pair; and
`cls_positions` say where each pair's [CLS] is, for the sentence head. The model's output for a pair is then the
same as when the pair has a row to itself.
"""
from __future__ import annotations

import numpy as np

from .errors import DataError
from .masking import IGNORE


def first_fit_decreasing(lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and start offset of each item: longest first, each into the first row with room (ties keep the input
    order, so the layout is a function of the lengths alone). First-fit decreasing uses at most 11/9 of the
    fewest possible rows, plus one."""
    if len(lengths) and lengths.max() > width:
        raise DataError(f"an item of {lengths.max()} tokens does not fit rows of {width}")
    row, offset, room = np.empty(len(lengths), np.int64), np.empty(len(lengths), np.int64), []
    for i in np.argsort(-lengths, kind="stable"):
        r = next((r for r, free in enumerate(room) if free >= lengths[i]), len(room))
        if r == len(room):
            room.append(width)
        row[i], offset[i] = r, width - room[r]
        room[r] -= lengths[i]
    return row, offset


def pack_rows(batch: dict[str, np.ndarray], lengths: np.ndarray, width: int, pad_id: int,
              groups: int = 1) -> dict[str, np.ndarray]:
    """Pack an unpacked, already masked batch (`input_ids`, `token_type_ids`, `mlm_labels`: (B, T) with item i in
    its first `lengths[i]` positions; `sentence_labels`: (B,), optional) into rows of `width`.

    The items are cut into `groups` consecutive parts (as `torch.tensor_split` cuts a batch into micro-batches)
    and each part is packed on its own into the same number of rows (empty rows pad the shorter parts), so that
    splitting the packed rows into `groups` micro-batches gives every micro-batch the same pairs as unpacked.
    """
    parts = np.array_split(np.arange(len(lengths)), groups)
    layouts = [first_fit_decreasing(lengths[p], width) for p in parts]
    per_part = max((int(row.max()) + 1 for row, _ in layouts if len(row)), default=1)
    row = np.concatenate([r + g * per_part for g, (r, _) in enumerate(layouts)])
    offset = np.concatenate([o for _, o in layouts])
    n_rows = groups * per_part

    # Slot of each item within its row (1-based, in order of offset), and the flat destination of every token.
    order = np.lexsort((offset, row))
    slot = np.empty(len(lengths), np.int64)
    first_of_row = np.r_[True, row[order][1:] != row[order][:-1]]
    counts = np.diff(np.r_[np.flatnonzero(first_of_row), len(order)])
    slot[order] = np.arange(len(order)) - np.repeat(np.flatnonzero(first_of_row), counts) + 1
    starts = row * width + offset
    total = int(lengths.sum())
    token_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    destination = np.repeat(starts, lengths) + np.arange(total) - token_start
    source = np.arange(batch["input_ids"].shape[1]) < lengths[:, None]

    def place(values: np.ndarray, fill: int) -> np.ndarray:
        out = np.full(n_rows * width, fill, dtype=np.int64)
        out[destination] = values
        return out.reshape(n_rows, width)

    packed = {name: place(batch[name][source], fill)
              for name, fill in (("input_ids", pad_id), ("token_type_ids", 0), ("mlm_labels", IGNORE))}
    packed["position_ids"] = place(np.arange(total) - token_start, 0)
    packed["pack_ids"] = place(np.repeat(slot, lengths), 0)
    packed["attention_mask"] = (packed["pack_ids"] > 0).astype(np.int64)
    pairs = int(slot.max()) if len(slot) else 1
    packed["cls_positions"] = np.zeros((n_rows, pairs), np.int64)
    packed["cls_positions"][row, slot - 1] = offset
    if "sentence_labels" in batch:
        packed["sentence_labels"] = np.full((n_rows, pairs), IGNORE, np.int64)
        packed["sentence_labels"][row, slot - 1] = batch["sentence_labels"]
    return packed

"""Batches of `[CLS] A [SEP] B [SEP]` with dynamic MLM masking, each item's mask a pure function of its index."""
from collections.abc import Iterable
from itertools import chain

import numpy as np
import torch

from .errors import DataError
from .masking import Draws, mask_batch
from .packing import pack_rows
from .tokenizer import SpecialTokens

MASKINGS = ("token", "wwm", "ngram")


class PretrainingCollator:
    """Turns dataset items into padded tensors with fresh MLM masks.

    Output: `input_ids`, `token_type_ids` (0 through the first [SEP], 1 after), `attention_mask` (1 token, 0 pad),
    `mlm_labels` (original id where chosen for MLM, -100 elsewhere), all (B, T) long, padded to the longest item
    or to `pad_to`; and `sentence_labels` (B,). An empty B gives `[CLS] A [SEP]`. The masking draws of an item are
    a hash of (seed, epoch, item index, position) (see masking.Draws), so its mask does not depend on the batch it
    lands in while the whole batch is masked at once; call `set_epoch` every epoch. With `static` the epoch is left
    out: every epoch sees the same mask per item, as the
    reference's precomputed data does (without its dupe_factor copies). "wwm" masks whole words and needs
    `continuation_ids` (see word_continuation_ids); "ngram" masks ALBERT's spans of 1-3 whole words (of tokens when
    no `continuation_ids` are given).

    With `pack`, the masked items are then packed several to a row of `pad_to` tokens (see packing.py), cut into
    `micro_batches` parts that are packed separately; the output gains `position_ids`, `pack_ids` and
    `cls_positions`, and `sentence_labels` becomes (rows, pairs per row) with -100 at empty slots. Masks are the
    same as without packing.
    """

    def __init__(self, special: SpecialTokens, vocab_size: int, mask_prob: float = 0.15, max_predictions: int = 20,
                 masking: str = "token", seed: int = 0, epoch: int = 0, pad_to: int | None = None,
                 continuation_ids: Iterable[int] | None = None, static: bool = False, pack: bool = False,
                 micro_batches: int = 1):
        if masking not in MASKINGS:
            raise DataError(f"masking must be one of {', '.join(MASKINGS)}; got {masking!r}")
        if masking == "wwm" and continuation_ids is None:
            raise DataError("masking='wwm' needs continuation_ids (the ids of word-continuing tokens)")
        if vocab_size <= special.first_regular_id:
            raise DataError(f"vocab_size {vocab_size} holds nothing beside the special tokens")
        if not 0 < mask_prob < 1 or max_predictions < 1:
            raise DataError(f"need 0 < mask_prob < 1 and max_predictions >= 1; got {mask_prob}, {max_predictions}")
        if seed < 0 or epoch < 0:
            raise DataError(f"seed and epoch must be non-negative; got {seed}, {epoch}")
        if pack and not pad_to:
            raise DataError("pack=True needs pad_to, the length of a packed row")
        if micro_batches < 1:
            raise DataError(f"micro_batches must be >= 1; got {micro_batches}")
        self.pack, self.micro_batches = pack, micro_batches
        self.special, self.vocab_size, self.mask_prob = special, vocab_size, mask_prob
        self.max_predictions, self.seed, self.epoch, self.pad_to = max_predictions, seed, epoch, pad_to
        self.ngram, self.static, self.continuation = masking == "ngram", static, None
        if continuation_ids is not None and masking != "token":
            continuing = np.fromiter(continuation_ids, dtype=np.int64)
            if continuing.size and not 0 <= continuing.min() <= continuing.max() < vocab_size:
                raise DataError(f"continuation_ids must lie in [0, vocab_size={vocab_size})")
            self.continuation = np.zeros(vocab_size, dtype=bool)
            self.continuation[continuing] = True

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, items: list[dict]) -> dict[str, torch.Tensor]:
        s = self.special
        len_a = np.fromiter((len(it["tokens_a"]) for it in items), dtype=np.int64, count=len(items))
        len_b = np.fromiter((len(it["tokens_b"]) for it in items), dtype=np.int64, count=len(items))
        lengths = len_a + len_b + np.where(len_b > 0, 3, 2)
        if self.pad_to and lengths.max() > self.pad_to:
            raise DataError(f"an item of {lengths.max()} tokens does not fit pad_to={self.pad_to}")
        # Packing starts from the batch padded to its longest item: the rows are filled from there.
        width = int(lengths.max()) if self.pack else self.pad_to or int(lengths.max())
        positions = np.arange(width)
        filled = positions < lengths[:, None]
        # One flat run of every item's [CLS] A [SEP] B [SEP], poured into the rows in order.
        flat = np.fromiter(chain.from_iterable(
            (s.cls, *it["tokens_a"], s.sep, *it["tokens_b"], *((s.sep,) if it["tokens_b"] else ())) for it in items),
            dtype=np.int64, count=int(lengths.sum()))
        input_ids = np.full((len(items), width), s.pad, dtype=np.int64)
        input_ids[filled] = flat
        too_big = (input_ids >= self.vocab_size).any(axis=1)
        if too_big.any():
            row = int(np.argmax(too_big))
            raise DataError(f"item {items[row]['index']} holds token id {input_ids[row].max()} >= vocab_size "
                            f"{self.vocab_size}")
        candidates = filled & (input_ids != s.cls) & (input_ids != s.sep) & (input_ids != s.pad)
        indices = np.fromiter((it["index"] for it in items), dtype=np.int64, count=len(items))
        draws = Draws(self.seed, 0 if self.static else self.epoch, indices)
        continuation = None if self.continuation is None else self.continuation[input_ids]
        input_ids, mlm_labels = mask_batch(input_ids, candidates, s.mask, (s.first_regular_id, self.vocab_size),
                                           self.mask_prob, self.max_predictions, draws, continuation, self.ngram)
        token_type_ids = (filled & (positions >= (len_a + 2)[:, None])).astype(np.int64)
        batch = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": filled.astype(np.int64),
                 "mlm_labels": mlm_labels,
                 "sentence_labels": np.fromiter((it["label"] for it in items), dtype=np.int64, count=len(items))}
        if self.pack:
            batch = pack_rows(batch, lengths, self.pad_to, s.pad, self.micro_batches)
        return {name: torch.from_numpy(value) for name, value in batch.items()}

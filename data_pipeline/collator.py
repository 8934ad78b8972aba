"""Batches of `[CLS] A [SEP] B [SEP]` with dynamic MLM masking, each item's mask a pure function of its index."""
from collections.abc import Iterable

import numpy as np
import torch

from .errors import DataError
from .masking import IGNORE, mask_tokens
from .tokenizer import SpecialTokens

MASKINGS = ("token", "wwm", "ngram")


class PretrainingCollator:
    """Turns dataset items into padded tensors with fresh MLM masks.

    Output: `input_ids`, `token_type_ids` (0 through the first [SEP], 1 after), `attention_mask` (1 token, 0 pad),
    `mlm_labels` (original id where chosen for MLM, -100 elsewhere), all (B, T) long, padded to the longest item
    or to `pad_to`; and `sentence_labels` (B,). An empty B gives `[CLS] A [SEP]`. The masking RNG of an item is
    seeded from (seed, epoch, item index) so its mask does not depend on the batch it lands in; call `set_epoch`
    every epoch. With `static` the epoch is left out of the seed: every epoch sees the same mask per item, as the
    reference's precomputed data does (without its dupe_factor copies). "wwm" masks whole words and needs
    `continuation_ids` (see word_continuation_ids); "ngram" masks ALBERT's spans of 1-3 whole words (of tokens when
    no `continuation_ids` are given).
    """

    def __init__(self, special: SpecialTokens, vocab_size: int, mask_prob: float = 0.15, max_predictions: int = 20,
                 masking: str = "token", seed: int = 0, epoch: int = 0, pad_to: int | None = None,
                 continuation_ids: Iterable[int] | None = None, static: bool = False):
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
        lengths = [len(it["tokens_a"]) + len(it["tokens_b"]) + (3 if it["tokens_b"] else 2) for it in items]
        width = self.pad_to or max(lengths)
        if max(lengths) > width:
            raise DataError(f"an item of {max(lengths)} tokens does not fit pad_to={width}")
        shape = (len(items), width)
        input_ids, token_type_ids = np.full(shape, s.pad, dtype=np.int64), np.zeros(shape, dtype=np.int64)
        attention_mask, mlm_labels = np.zeros(shape, dtype=np.int64), np.full(shape, IGNORE, dtype=np.int64)
        for row, (item, length) in enumerate(zip(items, lengths)):
            a, b = item["tokens_a"], item["tokens_b"]
            ids = np.array([s.cls, *a, s.sep, *b] + ([s.sep] if b else []), dtype=np.int64)
            if ids.max() >= self.vocab_size:
                raise DataError(f"item {item['index']} holds token id {ids.max()} >= vocab_size {self.vocab_size}")
            candidates = (ids != s.cls) & (ids != s.sep) & (ids != s.pad)
            rng = np.random.default_rng([self.seed, 0 if self.static else self.epoch, item["index"]])
            continuation = None if self.continuation is None else self.continuation[ids]
            input_ids[row, :length], mlm_labels[row, :length] = mask_tokens(
                ids, candidates, s.mask, (s.first_regular_id, self.vocab_size), self.mask_prob,
                self.max_predictions, rng, continuation, self.ngram)
            token_type_ids[row, len(a) + 2:length] = 1
            attention_mask[row, :length] = 1
        return {"input_ids": torch.from_numpy(input_ids), "token_type_ids": torch.from_numpy(token_type_ids),
                "attention_mask": torch.from_numpy(attention_mask), "mlm_labels": torch.from_numpy(mlm_labels),
                "sentence_labels": torch.tensor([item["label"] for item in items], dtype=torch.long)}

"""The translation baselines' data: sentence pairs read and checked, one joint subword tokenizer trained on the
training pairs' two sides only, ids with <eos> / <bos> placed as modeling/baselines/seq2seq.py expects, and
length-bucketed batches holding about a fixed number of tokens."""
from __future__ import annotations

import numpy as np
import torch

from modeling.baselines.seq2seq import BOS, EOS, PAD

BUCKET = 100  # batches are cut from runs of this many batches' worth of pairs sorted by length


def train_joint_tokenizer(pairs: list[tuple[str, str]], vocab_size: int, progress: bool = True):
    """A cased Unigram tokenizer (alba's SentencePiece-style trainer) over both sides of the training pairs: one
    vocabulary for source and target, so the Transformer can tie its embeddings and softmax."""
    from data_pipeline.tokenizer import train_tokenizer

    sentences = [s for pair in pairs for s in pair]
    return train_tokenizer([sentences], vocab_size, kind="unigram", lowercase=False, progress=progress)


def encode_pairs(tokenizer, pairs: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
    """(source ids + <eos>, target ids) of each pair; the target's <bos>/<eos> are added per batch."""
    sources = tokenizer.encode_batch([s for s, _ in pairs], add_special_tokens=False)
    targets = tokenizer.encode_batch([t for _, t in pairs], add_special_tokens=False)
    return [(s.ids + [EOS], t.ids) for s, t in zip(sources, targets)]


def encode_sources(tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids + [EOS] for e in tokenizer.encode_batch(texts, add_special_tokens=False)]


def pad_rows(rows: list[list[int]]) -> torch.Tensor:
    out = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, :len(row)] = torch.as_tensor(row, dtype=torch.long)
    return out


def collate(examples: list[tuple[list[int], list[int]]]) -> dict:
    """src_ids, tgt_in (<bos> + target) and labels (target + <eos>), each padded with PAD."""
    return {"src_ids": pad_rows([s for s, _ in examples]), "tgt_in": pad_rows([[BOS] + t for _, t in examples]),
            "labels": pad_rows([t + [EOS] for _, t in examples])}


def token_batches(examples: list[tuple[list[int], list[int]]], batch_tokens: int, seed: int, epoch: int
                  ) -> list[list[int]]:
    """The epoch's batches of example indices: shuffled (seeded by seed and epoch), sorted by length within
    buckets so that a batch wastes little padding, cut where the padded source + target size would pass
    `batch_tokens`, and the batches shuffled again."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(examples))
    size = [max(len(examples[i][0]), len(examples[i][1]) + 1) for i in range(len(examples))]
    mean = max(1.0, float(np.mean(size)))
    chunk = max(1, int(BUCKET * batch_tokens / (2 * mean)))
    batches = []
    for start in range(0, len(order), chunk):
        bucket = sorted(order[start:start + chunk].tolist(), key=lambda i: size[i])
        batch, longest = [], 0
        for i in bucket:
            if batch and 2 * max(longest, size[i]) * (len(batch) + 1) > batch_tokens:
                batches.append(batch)
                batch, longest = [], 0
            batch.append(i)
            longest = max(longest, size[i])
        if batch:
            batches.append(batch)
    return [batches[j] for j in rng.permutation(len(batches))]

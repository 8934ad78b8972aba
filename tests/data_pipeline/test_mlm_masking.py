import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from data_pipeline import DataError, Instance, PretrainingCollator, PretrainingDataset, SpecialTokens

SPECIAL = SpecialTokens()
VOCAB = 30_000


def random_dataset(n, lengths=(20, 200), seed=0):
    rng = random.Random(seed)
    instances = []
    for _ in range(n):
        length = rng.randint(*lengths)
        cut = rng.randint(1, length)
        tokens = [rng.randrange(5, VOCAB) for _ in range(length)]
        instances.append(Instance(tokens[:cut], tokens[cut:], rng.randint(0, 1)))
    return PretrainingDataset(instances)


def collate_all(dataset, collator, batch_size=256):
    return [collator([dataset[j] for j in range(i, min(i + batch_size, len(dataset)))])
            for i in range(0, len(dataset), batch_size)]


def test_layout_and_padding():
    items = [{"index": 0, "tokens_a": [10, 11], "tokens_b": [12, 13, 14], "label": 1},
             {"index": 1, "tokens_a": [20, 21, 22], "tokens_b": [], "label": -100}]
    batch = PretrainingCollator(SPECIAL, VOCAB, mask_prob=0.01)(items)
    assert all(v.dtype == torch.long for v in batch.values())
    unmasked = torch.where(batch["mlm_labels"] >= 0, batch["mlm_labels"], batch["input_ids"])
    assert unmasked.tolist() == [[2, 10, 11, 3, 12, 13, 14, 3], [2, 20, 21, 22, 3, 0, 0, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 1, 1, 1, 1], [0] * 8]
    assert batch["attention_mask"].tolist() == [[1] * 8, [1] * 5 + [0] * 3]
    assert batch["sentence_labels"].tolist() == [1, -100]
    assert (batch["mlm_labels"] >= 0).sum(dim=1).tolist() == [1, 1]  # at least one prediction each
    padded = PretrainingCollator(SPECIAL, VOCAB, pad_to=12)(items)
    assert padded["input_ids"].shape == (2, 12) and padded["attention_mask"][:, 8:].sum() == 0
    with pytest.raises(DataError, match="pad_to=6"):
        PretrainingCollator(SPECIAL, VOCAB, pad_to=6)(items)


def test_masking_statistics():
    dataset = random_dataset(1200)
    batches = collate_all(dataset, PretrainingCollator(SPECIAL, VOCAB, max_predictions=512, seed=5))
    input_ids = torch.cat([b["input_ids"].flatten() for b in batches])
    labels = torch.cat([b["mlm_labels"].flatten() for b in batches])
    candidates = sum(len(dataset[i]["tokens_a"]) + len(dataset[i]["tokens_b"]) for i in range(len(dataset)))
    chosen = labels >= 0
    assert candidates >= 100_000
    assert abs(chosen.sum().item() / candidates - 0.15) < 0.005
    masked = (input_ids[chosen] == SPECIAL.mask).float().mean().item()
    kept = (input_ids[chosen] == labels[chosen]).float().mean().item()
    replaced = input_ids[chosen & (input_ids != SPECIAL.mask) & (input_ids != labels)]
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1) < 0.01
    assert abs(len(replaced) / chosen.sum().item() - 0.1) < 0.01
    assert replaced.min() >= SPECIAL.first_regular_id and replaced.max() < VOCAB
    assert not np.isin(labels[chosen].numpy(), [SPECIAL.pad, SPECIAL.cls, SPECIAL.sep]).any()


def test_special_positions_are_never_chosen_and_max_predictions_binds():
    dataset = random_dataset(300, lengths=(140, 200))
    for batch in collate_all(PretrainingDataset(dataset.instances), PretrainingCollator(SPECIAL, VOCAB)):
        chosen = batch["mlm_labels"] >= 0
        unmasked = torch.where(chosen, batch["mlm_labels"], batch["input_ids"])
        special = (unmasked == SPECIAL.cls) | (unmasked == SPECIAL.sep) | (unmasked == SPECIAL.pad)
        assert not (chosen & special).any()
        assert (chosen.sum(dim=1) == 20).all()  # round(0.15 * 140) > 20


def test_mask_is_a_function_of_seed_epoch_and_index():
    dataset = random_dataset(50)
    collator = PretrainingCollator(SPECIAL, VOCAB, seed=7, epoch=2)

    def rows(indices):
        batch = collator([dataset[i] for i in indices])
        lengths = batch["attention_mask"].sum(dim=1)
        return {i: (batch["input_ids"][r, :lengths[r]].tolist(), batch["mlm_labels"][r, :lengths[r]].tolist())
                for r, i in enumerate(indices)}

    alone, mixed = rows([3, 9, 17]), rows([40, 17, 3, 22, 9])
    assert all(alone[i] == mixed[i] for i in (3, 9, 17))
    collator.set_epoch(3)
    assert rows([3, 9, 17]) != alone
    collator.set_epoch(2)
    assert rows([3, 9, 17]) == alone
    assert PretrainingCollator(SPECIAL, VOCAB, seed=8, epoch=2)([dataset[3]])["mlm_labels"].tolist() != \
        [alone[3][1]]


def test_whole_word_masking():
    continuation = set(range(5, 5 + VOCAB // 2))  # about half the tokens continue the word before them
    dataset = random_dataset(400)
    collator = PretrainingCollator(SPECIAL, VOCAB, max_predictions=512, masking="wwm", continuation_ids=continuation)
    total_chosen = 0
    for batch in collate_all(dataset, collator):
        chosen = (batch["mlm_labels"] >= 0).numpy()
        original = np.where(chosen, batch["mlm_labels"].numpy(), batch["input_ids"].numpy())
        # a word starts at a non-continuation token or right after [CLS] / [SEP]
        continues = np.isin(original, list(continuation))
        continues[:, 1:] &= ~np.isin(original[:, :-1], [SPECIAL.cls, SPECIAL.sep])
        # a chosen continuation's word start is chosen; a chosen token's continuation is chosen
        assert not (chosen[:, 1:] & continues[:, 1:] & ~chosen[:, :-1]).any()
        assert not (chosen[:, :-1] & continues[:, 1:] & ~chosen[:, 1:]).any()
        total_chosen += chosen.sum()
    candidates = sum(len(dataset[i]["tokens_a"]) + len(dataset[i]["tokens_b"]) for i in range(len(dataset)))
    assert 0.13 < total_chosen / candidates < 0.155  # a word that would overshoot the count is skipped


def test_dataloader_integration():
    dataset = random_dataset(20)
    loader = DataLoader(dataset, batch_size=8, collate_fn=PretrainingCollator(SPECIAL, VOCAB))
    shapes = [b["input_ids"].shape[0] for b in loader]
    assert shapes == [8, 8, 4]


@pytest.mark.parametrize("kwargs, message", [
    (dict(masking="span"), "token, wwm"),
    (dict(masking="wwm"), "continuation_ids"),
    (dict(vocab_size=5), "vocab_size"),
    (dict(mask_prob=0.0), "mask_prob"),
    (dict(seed=-1), "non-negative"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(DataError, match=message):
        PretrainingCollator(SPECIAL, **{"vocab_size": VOCAB, **kwargs})

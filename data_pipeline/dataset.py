"""The map-style dataset over one epoch's instances."""
from typing import Sequence

from torch.utils.data import Dataset

from .instances import Instance


class PretrainingDataset(Dataset):
    """Items are dicts {"index", "tokens_a", "tokens_b", "label"}; the index seeds the item's masking."""

    def __init__(self, instances: Sequence[Instance]):
        self.instances = instances

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, i: int) -> dict:
        instance = self.instances[i]
        return {"index": i, "tokens_a": instance.tokens_a, "tokens_b": instance.tokens_b, "label": instance.label}

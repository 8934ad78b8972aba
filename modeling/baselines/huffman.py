"""The Huffman tree of hierarchical softmax (Morin & Bengio 2005; word2vec): frequent words get short codes, so a
word's probability is a product of few binary decisions along its path from the root."""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HuffmanTree:
    """For word w: `points[w]` are the inner nodes on its path from the root (ids 0..V-2, the rows of the output
    matrix) and `codes[w]` the branch (0 or 1) taken at each of them."""
    points: list[np.ndarray]
    codes: list[np.ndarray]

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(points, codes, mask), each (V, longest code), padded with node 0 / code 0 / mask False."""
        depth = max(1, max(map(len, self.codes)))
        points = np.zeros((len(self.codes), depth), dtype=np.int64)
        codes = np.zeros((len(self.codes), depth), dtype=np.int64)
        mask = np.zeros((len(self.codes), depth), dtype=bool)
        for w, (p, c) in enumerate(zip(self.points, self.codes)):
            points[w, :len(p)], codes[w, :len(c)], mask[w, :len(c)] = p, c, True
        return points, codes, mask


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """Merge the two least frequent nodes until one is left; of each merged pair the less frequent gets code 0.
    Ties break on node id, so the tree is deterministic. Leaves are 0..V-1, inner nodes V..2V-2 (root last)."""
    vocab = len(counts)
    heap = [(int(c), w) for w, c in enumerate(counts)]
    heapq.heapify(heap)
    parent = np.zeros(2 * vocab - 1, dtype=np.int64)
    branch = np.zeros(2 * vocab - 1, dtype=np.int64)
    for node in range(vocab, 2 * vocab - 1):
        (c0, a), (c1, b) = heapq.heappop(heap), heapq.heappop(heap)
        parent[a], parent[b], branch[b] = node, node, 1
        heapq.heappush(heap, (c0 + c1, node))
    root = 2 * vocab - 2
    points, codes = [], []
    for w in range(vocab):
        path, bits, node = [], [], w
        while node != root:
            bits.append(branch[node])
            node = parent[node]
            path.append(node - vocab)
        points.append(np.array(path[::-1], dtype=np.int64))
        codes.append(np.array(bits[::-1], dtype=np.int64))
    return HuffmanTree(points, codes)

"""The Huffman tree of hierarchical softmax: prefix-free optimal codes, consistent paths, and a softmax that sums
to one over the vocabulary."""
import numpy as np
import pytest
import torch

from modeling.baselines.huffman import huffman_tree
from modeling.baselines.word2vec import Word2Vec, Word2VecConfig


def optimal_cost(counts):
    """Sum over merges of the merged weight (= sum of count * code length of an optimal code), by re-sorting."""
    weights, cost = sorted(int(c) for c in counts), 0
    while len(weights) > 1:
        merged = weights[0] + weights[1]
        cost += merged
        weights = sorted(weights[2:] + [merged])
    return cost


@pytest.mark.parametrize("vocab", [2, 3, 17, 200])
def test_codes_are_prefix_free_complete_and_optimal(vocab):
    counts = np.sort(np.random.default_rng(vocab).integers(1, 1000, vocab))[::-1]
    tree = huffman_tree(counts)
    codes = ["".join(map(str, c)) for c in tree.codes]
    assert all(codes) and len(set(codes)) == vocab
    assert not any(a != b and b.startswith(a) for a in codes for b in codes)
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0)  # Kraft equality: a full binary tree
    assert sum(int(n) * len(c) for n, c in zip(counts, codes)) == optimal_cost(counts)
    # A more frequent word never has a longer code.
    lengths = np.array([len(c) for c in codes])
    for i in range(vocab):
        for j in range(vocab):
            if counts[i] > counts[j]:
                assert lengths[i] <= lengths[j]


def test_paths_share_nodes_exactly_along_shared_prefixes():
    counts = np.random.default_rng(0).integers(1, 500, 60)
    tree = huffman_tree(counts)
    assert {int(p[0]) for p in tree.points} == {len(counts) - 2}  # every path starts at the root
    assert set(np.concatenate(tree.points).tolist()) == set(range(len(counts) - 1))
    for a in range(len(counts)):
        for b in range(len(counts)):
            shared = 0
            while (shared < min(len(tree.codes[a]), len(tree.codes[b]))
                   and tree.codes[a][shared] == tree.codes[b][shared]):
                shared += 1
            depth = min(shared + 1, len(tree.points[a]), len(tree.points[b]))
            assert np.array_equal(tree.points[a][:depth], tree.points[b][:depth])
            if depth < min(len(tree.points[a]), len(tree.points[b])):
                assert tree.points[a][depth] != tree.points[b][depth]


def test_code_lengths_match_gensim():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(1)
    corpus = [[f"w{int(i)}" for i in rng.zipf(1.3, 40) if i < 300] for _ in range(300)]
    model = gensim.models.Word2Vec(vector_size=4, min_count=1, hs=1, negative=0, workers=1)
    model.build_vocab(corpus)
    words = model.wv.index_to_key
    counts = np.array([model.wv.get_vecattr(w, "count") for w in words])
    ours = huffman_tree(counts)
    theirs = [len(model.wv.get_vecattr(w, "code")) for w in words]
    assert sum(c * len(code) for c, code in zip(counts, ours.codes)) == sum(c * n for c, n in zip(counts, theirs))


def test_hierarchical_softmax_is_a_distribution():
    """exp(-loss) of predicting each word from one input is P(word | input); over the vocabulary it sums to 1."""
    counts = np.random.default_rng(2).integers(1, 100, 37)
    model = Word2Vec(Word2VecConfig(len(counts), dim=8, objective="hierarchical"), counts=counts)
    with torch.no_grad():
        model.output_vectors.normal_()
        model.input_vectors.normal_()
    words = torch.arange(len(counts))
    probs = [np.exp(-model(torch.tensor([3]), w.reshape(1, 1)).loss.item()) for w in words]
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)

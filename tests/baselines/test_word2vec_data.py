"""word2vec's training examples: subsampling, dynamic windows, negative sampling, the learning-rate decay, and the
model's in-forward SGD step against autograd."""
import numpy as np
import pytest
import torch

from data_pipeline.errors import DataError
from data_pipeline.token_lines import read_token_lines
from data_pipeline.vocabulary import Vocabulary
from data_pipeline.word2vec_batches import NegativeSampler, Word2VecBatches, keep_probabilities
from modeling.baselines.word2vec import Word2Vec, Word2VecConfig


def test_keep_probability_formulas():
    counts = np.array([5000, 1000, 100, 10, 1])
    f = counts / counts.sum()
    t = 1e-2
    assert np.allclose(keep_probabilities(counts, t, "paper"), np.minimum(1, 1 - (1 - np.sqrt(t / f))))
    assert np.allclose(keep_probabilities(counts, t, "word2vec"), np.minimum(1, (np.sqrt(f / t) + 1) * t / f))
    assert keep_probabilities(counts, 0).tolist() == [1.0] * 5
    with pytest.raises(DataError, match="subsampling"):
        keep_probabilities(counts, t, "other")


def test_keep_probability_matches_gensim():
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    corpus = [[f"w{int(i)}" for i in rng.zipf(1.5, 30) if i < 500] for _ in range(500)]
    model = gensim.models.Word2Vec(vector_size=4, min_count=1, sample=1e-3, workers=1)
    model.build_vocab(corpus)
    words = model.wv.index_to_key
    counts = np.array([model.wv.get_vecattr(w, "count") for w in words])
    theirs = np.array([model.wv.get_vecattr(w, "sample_int") for w in words]) / 2.0 ** 32
    assert np.allclose(keep_probabilities(counts, 1e-3), theirs, atol=1e-6)


def test_subsampling_keeps_words_at_their_rate():
    counts = np.array([20000, 2000, 50])
    ids = np.random.default_rng(0).permutation(np.repeat([0, 1, 2], counts))
    batches = Word2VecBatches(ids, np.zeros(len(ids), int), counts, sample=1e-3, epochs=1)
    kept, _ = batches.subsample(0)
    rate = np.bincount(ids[kept], minlength=3) / counts
    keep = keep_probabilities(counts, 1e-3)
    assert keep[2] == 1 and rate[2] == 1
    # binomial standard deviations: about 0.0005 and 0.004
    assert rate[:2] == pytest.approx(keep[:2], abs=0.015)


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_dynamic_window_stays_in_sentence_and_within_the_drawn_reach(architecture):
    """With every word distinct, an example's ids are corpus positions, so its context can be checked exactly."""
    n, window = 3000, 4
    ids, sentence = np.arange(n), np.arange(n) // 7
    batches = Word2VecBatches(ids, sentence, np.ones(n, int), architecture=architecture, window=window, sample=0,
                              negatives=2, words_per_batch=500, epochs=2, seed=3)
    _, reach = batches.subsample(1)
    assert np.bincount(reach, minlength=window + 1)[1:] / n == pytest.approx([1 / window] * window, abs=0.03)
    contexts = {c: set() for c in range(n)}
    for batch in batches(1):
        targets = batch["targets"].numpy()
        assert targets.shape[1] == 3
        if architecture == "skipgram":
            for context, center in zip(batch["input_ids"].numpy(), targets[:, 0]):
                contexts[center].add(int(context))
        else:
            for row, mask, center in zip(batch["input_ids"].numpy(), batch["attention_mask"].numpy(), targets[:, 0]):
                contexts[center].update(int(c) for c in row[mask])
                assert mask.sum() == len(set(row[mask]))
    for c in range(n):
        expected = {p for p in range(c - reach[c], c + reach[c] + 1) if p != c and 0 <= p < n
                    and sentence[p] == sentence[c]}
        assert contexts[c] == expected


def test_batches_are_deterministic_and_resume_mid_epoch():
    ids = np.random.default_rng(0).integers(0, 50, 5000)
    make = lambda: Word2VecBatches(ids, np.arange(5000) // 20, np.bincount(ids, minlength=50) + 1, sample=1e-2,
                                   words_per_batch=700, epochs=3, seed=5)
    full = list(make()(2))
    resumed = list(make()(2, start_batch=4))
    assert len(full) == len(make()) == 8 and len(resumed) == 4
    for a, b in zip(full[4:], resumed):
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(full[0]["input_ids"], list(make()(1))[0]["input_ids"])
    assert list(make()(3)) == []


def test_learning_rate_decays_linearly_with_the_words_seen():
    ids = np.zeros(1000, int)
    batches = Word2VecBatches(ids, ids, np.array([1000]), words_per_batch=100, epochs=2, lr=0.05, min_lr=0.001)
    lrs = [float(b["learning_rate"]) for e in range(2) for b in batches(e)]
    assert len(lrs) == 20 and lrs[0] == pytest.approx(0.05)
    assert np.allclose(np.diff(lrs), -(0.05 - 0.001) / 20, atol=1e-7)


def test_negative_samples_follow_unigram_to_the_three_quarters():
    counts = np.array([1000, 300, 60, 7, 1])
    sampler = NegativeSampler(counts)
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    # The alias table represents the distribution exactly: bucket i gives i w.p. accept[i], else alias[i].
    implied = sampler.accept + np.bincount(sampler.alias, weights=1 - sampler.accept, minlength=len(counts))
    assert implied / len(counts) == pytest.approx(expected, abs=1e-12)
    draws = sampler.sample(np.random.default_rng(0), 400000)
    assert np.bincount(draws, minlength=5) / 400000 == pytest.approx(expected, abs=0.003)


def test_empty_vocabulary_after_min_count_names_the_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("a b c\nb c d\n")
    with pytest.raises(DataError, match=r"tiny\.txt: the vocabulary is empty with min_count=5"):
        Vocabulary.build(read_token_lines(path), min_count=5, source=str(path))
    assert len(Vocabulary.build(read_token_lines(path), min_count=2, source=str(path))) == 2


def test_non_utf8_corpus_names_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"bad\.txt: line 2 is not UTF-8"):
        read_token_lines(path)


@pytest.mark.parametrize("architecture,objective", [("skipgram", "negative"), ("cbow", "negative"),
                                                    ("skipgram", "hierarchical"), ("cbow", "hierarchical")])
def test_sgd_step_in_forward_equals_autograd(architecture, objective):
    """One example per chunk: the in-place update is -lr times autograd's gradient of the example's loss, except
    that each CBOW context word receives the gradient of the mean itself (word2vec's rule), not 1/n of it."""
    counts = np.array([40, 30, 20, 10, 5, 3, 2, 1])
    model = Word2Vec(Word2VecConfig(8, dim=6, architecture=architecture, objective=objective, chunk_size=1),
                     counts=counts)
    with torch.no_grad():
        model.output_vectors.normal_(0, 0.5)
    if architecture == "skipgram":
        inputs, mask = torch.tensor([2]), None
    else:
        inputs, mask = torch.tensor([[2, 5, 7]]), torch.tensor([[True, True, False]])
    targets = torch.tensor([[4, 1, 4]]) if objective == "negative" else torch.tensor([[4]])
    w_in, w_out = model.input_vectors.detach().clone(), model.output_vectors.detach().clone()
    ref_in, ref_out = w_in.clone().requires_grad_(), w_out.clone().requires_grad_()
    if objective == "negative":
        nodes, labels, weights = targets[0], torch.tensor([1.0, 0, 0]), torch.tensor([1.0, 1, 0])  # the 2nd 4 skipped
    else:
        nodes, labels, weights = model.path_nodes[4], model.path_labels[4], model.path_mask[4]
    h = ref_in[2] if mask is None else ref_in[[2, 5]].mean(0)
    ref_loss = torch.nn.functional.binary_cross_entropy_with_logits(ref_out[nodes] @ h, labels, weight=weights,
                                                                    reduction="sum")
    ref_loss.backward()
    lr = 0.1
    out = model(inputs, targets, mask, learning_rate=torch.tensor([lr]))
    assert out.loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    grad_in = ref_in.grad * (2 if mask is not None else 1)  # undo the mean's 1/n for each context word
    assert torch.allclose(model.output_vectors.detach(), w_out - lr * ref_out.grad, atol=1e-6)
    assert torch.allclose(model.input_vectors.detach(), w_in - lr * grad_in, atol=1e-6)

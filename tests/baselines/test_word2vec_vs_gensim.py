"""alba's word2vec and gensim's, trained on the same corpus with the same settings, reach the same WordSim-353
Spearman correlation (within 0.03; the seed-to-seed spread of either is about 0.005 here), and gensim reads alba's
exported vectors and scores them as alba does."""
from pathlib import Path

import numpy as np
import pytest

from data_pipeline.token_lines import read_token_lines
from data_pipeline.vocabulary import Vocabulary
from data_pipeline.word2vec_batches import Word2VecBatches, encode_sentences
from data_pipeline.word_benchmarks import read_word_pairs
from modeling.baselines.word2vec import Word2Vec, Word2VecConfig

gensim = pytest.importorskip("gensim")
TEST_DATA = Path(gensim.__file__).parent / "test" / "test_data"
SETTINGS = dict(dim=100, window=5, negatives=5, epochs=5, min_count=5, sample=1e-3, lr=0.025)


def train_alba(sentences, architecture="skipgram", objective="negative"):
    s = SETTINGS
    vocab = Vocabulary.build(sentences, min_count=s["min_count"])
    ids, sentence = encode_sentences(sentences, vocab)
    negatives = s["negatives"] if objective == "negative" else 0
    batches = Word2VecBatches(ids, sentence, vocab.counts, architecture=architecture, window=s["window"],
                              sample=s["sample"], negatives=negatives, epochs=s["epochs"], lr=s["lr"], seed=1)
    model = Word2Vec(Word2VecConfig(len(vocab), dim=s["dim"], architecture=architecture, objective=objective),
                     counts=vocab.counts, seed=1)
    for epoch in range(s["epochs"]):
        for batch in batches(epoch):
            model(**batch)
    return model.word_vectors(vocab.words)


def train_gensim(sentences, architecture="skipgram", objective="negative"):
    s = SETTINGS
    return gensim.models.Word2Vec(
        sentences, vector_size=s["dim"], window=s["window"], min_count=s["min_count"], sample=s["sample"],
        sg=int(architecture == "skipgram"), hs=int(objective == "hierarchical"),
        negative=s["negatives"] if objective == "negative" else 0, alpha=s["lr"], epochs=s["epochs"], workers=1,
        seed=1).wv


@pytest.mark.slow
def test_skipgram_negative_sampling_matches_gensim_on_wordsim353(tmp_path):
    sentences = read_token_lines(TEST_DATA / "head500.noblanks.cor")  # 331k words of Wikipedia
    pairs = read_word_pairs(TEST_DATA / "wordsim353.tsv")
    ours = train_alba(sentences)
    theirs = train_gensim(sentences)
    assert sorted(ours.words) == sorted(theirs.index_to_key)  # the same vocabulary (ties may be ordered differently)
    rho_ours = ours.evaluate_similarity(pairs)
    rho_theirs = theirs.evaluate_word_pairs(str(TEST_DATA / "wordsim353.tsv"))[1][0]
    assert rho_ours["pairs"] == 96  # of the 353 pairs, those whose two words are in the 7,978-word vocabulary
    assert rho_theirs > 0.3  # the corpus is large enough for a meaningful correlation
    assert abs(rho_ours["spearman"] - rho_theirs) <= 0.03, (rho_ours, rho_theirs)
    # gensim reads alba's export and scores it the same.
    ours.save_word2vec_format(tmp_path / "alba.txt")
    loaded = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "alba.txt"))
    assert np.array_equal(loaded.vectors, ours.vectors)
    assert loaded.evaluate_word_pairs(str(TEST_DATA / "wordsim353.tsv"))[1][0] == pytest.approx(rho_ours["spearman"])

"""Word vectors: the word2vec text format (round trip, read by gensim), queries and evaluations against gensim's
KeyedVectors and scipy, and the evaluation-file readers."""
import numpy as np
import pytest

from data_pipeline.errors import DataError
from data_pipeline.word_benchmarks import read_analogies, read_word_pairs
from modeling.baselines.word_vectors import WordVectors, spearman

gensim = pytest.importorskip("gensim")
TEST_DATA = __import__("pathlib").Path(gensim.__file__).parent / "test" / "test_data"


@pytest.fixture(scope="module")
def trained():
    """Vectors gensim trained on its Lee corpus: structured enough for neighbours and analogies to be non-trivial."""
    corpus = gensim.models.word2vec.LineSentence(str(TEST_DATA / "lee_background.cor"))
    model = gensim.models.Word2Vec(corpus, vector_size=32, min_count=2, workers=1, seed=0, epochs=3)
    return WordVectors(model.wv.index_to_key, model.wv.vectors), model.wv


def test_text_format_round_trip_and_gensim_reads_it(tmp_path):
    rng = np.random.default_rng(0)
    words = ["the", "Straße", "x", "東京"]
    vectors = (rng.normal(size=(4, 7)) * 10.0 ** rng.integers(-8, 8, (4, 7))).astype(np.float32)
    path = tmp_path / "v.txt"
    WordVectors(words, vectors).save_word2vec_format(path)
    back = WordVectors.load_word2vec_format(path)
    assert back.words == words and np.array_equal(back.vectors, vectors)
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.index_to_key == words and np.array_equal(kv.vectors, vectors)


def test_reads_gensims_export(tmp_path, trained):
    _, kv = trained
    kv.save_word2vec_format(str(tmp_path / "g.txt"), binary=False)
    ours = WordVectors.load_word2vec_format(tmp_path / "g.txt")
    assert ours.words == kv.index_to_key and np.allclose(ours.vectors, kv.vectors, rtol=1e-6)


@pytest.mark.parametrize("text,message", [
    ("2 3\na 1 2 3\n", "header announces 2 vectors but the file holds 1"),
    ("1 3\na 1 2\n", ":2: expected a word and 3 numbers, got 3 fields"),
    ("1 2\na 1 x\n", ":2: a vector component is not a number"),
    ("one 2\n", ":1: expected the header"),
    ("1 1\na 1\nb 2\n", ":3: more vectors than the 1"),
])
def test_bad_vector_files_name_the_line(tmp_path, text, message):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(ValueError, match=message):
        WordVectors.load_word2vec_format(tmp_path / "bad.txt")


def test_export_refuses_words_with_spaces_and_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="whitespace"):
        WordVectors(["a b"], np.zeros((1, 2))).save_word2vec_format(tmp_path / "v.txt")
    assert list(tmp_path.iterdir()) == []


def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 10, 200), rng.normal(size=200) + rng.integers(0, 10, 200) * 0.3
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_most_similar_and_analogy_match_gensim(trained):
    ours, kv = trained
    for query in (dict(positive=["government"]), dict(positive=["king", "woman"], negative=["man"]),
                  dict(positive=["police", "fire"], negative=["Sydney"])):
        theirs = kv.most_similar(**query, topn=5)
        mine = ours.most_similar(**query, topn=5)
        assert [w for w, _ in mine] == [w for w, _ in theirs]
        assert np.allclose([s for _, s in mine], [s for _, s in theirs], atol=1e-5)
    assert ours.analogy("man", "king", "woman") == kv.most_similar(positive=["king", "woman"], negative=["man"])[0][0]


def test_evaluations_match_gensim(trained):
    ours, kv = trained
    pairs = read_word_pairs(TEST_DATA / "wordsim353.tsv")
    assert len(pairs) == 353
    (_, _), (rho, _), oov = kv.evaluate_word_pairs(str(TEST_DATA / "wordsim353.tsv"))
    mine = ours.evaluate_similarity(pairs)
    assert mine["spearman"] == pytest.approx(rho, abs=1e-6)
    assert mine["unknown"] / len(pairs) * 100 == pytest.approx(oov)
    accuracy, sections = kv.evaluate_word_analogies(str(TEST_DATA / "questions-words.txt"))
    mine = ours.evaluate_analogies(read_analogies(TEST_DATA / "questions-words.txt"))
    assert mine["questions"] == sum(len(s["correct"]) + len(s["incorrect"]) for s in sections if s["section"] != "Total accuracy")
    assert mine["total"] == pytest.approx(accuracy)


@pytest.mark.parametrize("reader,text,message", [
    (read_word_pairs, "# c\na b 1\na b\n", r"p\.txt:3: expected 'word1 word2 score', got 2 fields"),
    (read_word_pairs, "a\tb\tlots\n", r"p\.txt:1: the score 'lots' is not a number"),
    (read_analogies, ": s\na b c\n", r"p\.txt:2: expected 4 words"),
    (read_analogies, "a b c d\n", r"p\.txt:1: a question before the first"),
    (read_word_pairs, "# only comments\n", r"p\.txt: no word pairs"),
])
def test_bad_evaluation_files_name_the_line(tmp_path, reader, text, message):
    (tmp_path / "p.txt").write_text(text)
    with pytest.raises(DataError, match=message):
        reader(tmp_path / "p.txt")

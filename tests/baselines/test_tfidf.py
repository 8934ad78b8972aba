"""TF-IDF: the standard variant equals scikit-learn's TfidfVectorizer on real SST-2 sentences; every tf and idf
variant follows its formula; the baseline job learns SST-2 and reports what it measured."""
import json
import math

import pytest
import torch

from conftest import ROOT, run_cli
from data_pipeline.tfidf import Tfidf


def _sst2(shared_data, name, n=None):
    lines = (shared_data / "glue" / "SST-2" / name).read_text(encoding="utf-8").splitlines()[1:n and n + 1]
    return [line.rsplit("\t", 1)[0] for line in lines]


@pytest.mark.parametrize("ngrams", [1, 2])
def test_standard_variant_equals_scikit_learn(shared_data, ngrams):
    sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")
    train, dev = _sst2(shared_data, "train-8k.tsv", 2000), _sst2(shared_data, "dev.tsv")
    ours = Tfidf(ngrams=ngrams, min_df=2).fit(train)
    theirs = sklearn_text.TfidfVectorizer(ngram_range=(1, ngrams), min_df=2).fit(train)
    assert list(ours.vocabulary) == sorted(theirs.vocabulary_, key=theirs.vocabulary_.get)
    torch.testing.assert_close(ours.idf, torch.from_numpy(theirs.idf_), rtol=0, atol=1e-12)
    ours_dev = ours.transform(dev).to_dense()
    theirs_dev = torch.from_numpy(theirs.transform(dev).toarray())
    torch.testing.assert_close(ours_dev, theirs_dev, rtol=0, atol=1e-12)


@pytest.mark.parametrize("tf, expected", [
    ("raw", {"cat": 3, "sat": 1, "mat": 2}), ("binary", {"cat": 1, "sat": 1, "mat": 1}),
    ("log", {"cat": 1 + math.log(3), "sat": 1.0, "mat": 1 + math.log(2)}),
    ("double_norm", {"cat": 1.0, "sat": 0.5 + 0.5 / 3, "mat": 0.5 + 0.5 * 2 / 3}),
    ("max_norm", {"cat": 1.0, "sat": 1 / 3, "mat": 2 / 3})])
def test_term_frequency_variants(tf, expected):
    docs = ["cat sat cat mat cat mat", "dog ran", "cat dog"]
    tfidf = Tfidf(tf=tf, idf="none", l2=False).fit(docs)
    row = tfidf.transform(docs[:1]).to_dense()[0]
    assert {t: float(row[i]) for t, i in tfidf.vocabulary.items() if row[i]} == pytest.approx(expected)


def test_idf_variants_and_unit_rows():
    docs = ["cat sat", "cat ran", "dog ran", "cat dog ran"]  # N = 4; df: cat 3, dog 2, ran 3, sat 1
    df = {"cat": 3, "dog": 2, "ran": 3, "sat": 1}
    for kind, formula in (("log", lambda d: math.log(5 / (1 + d)) + 1), ("reciprocal", lambda d: 4 / d),
                          ("none", lambda d: 1.0)):
        tfidf = Tfidf(idf=kind).fit(docs)
        assert tfidf.idf.tolist() == pytest.approx([formula(df[t]) for t in tfidf.vocabulary])
        rows = tfidf.transform(docs).to_dense()
        assert rows.norm(dim=1).tolist() == pytest.approx([1.0] * 4)


@pytest.mark.slow
def test_job_learns_sst2_and_records_its_settings(shared_data, tmp_path):
    """train-8k -> dev: measured 79.7% (the bag-of-words L-BFGS baseline of fine-tuning: 78.7%)."""
    out = tmp_path / "run"
    proc = run_cli(ROOT / "launch" / "baseline.py", "tfidf", f"--data_dir={shared_data / 'glue' / 'SST-2'}",
                   "--train_file=train-8k.tsv", "--epochs=3", "--wandb=disabled", "--progress=False",
                   f"--output_dir={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    assert result["eval_accuracy"] > 0.74 and (result["tf"], result["idf"], result["ngrams"]) == ("raw", "log", 2)
    assert f"{100 * result['eval_accuracy']:.2f}%" in proc.stdout
    assert (out / "model.safetensors").is_file() and (out / "vocabulary.json").is_file()


def test_bad_variant_and_missing_data_are_one_line_errors(tmp_path):
    for args, message in ((["--tf=sublinear"], "--tf='sublinear' is not one of raw, binary, log"),
                          ([], "--data_dir is required")):
        proc = run_cli(ROOT / "launch" / "baseline.py", "tfidf", *args, f"--output_dir={tmp_path / 'o'}")
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "o").exists()

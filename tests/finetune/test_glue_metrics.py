"""GLUE metrics against scikit-learn and scipy on random and edge-case inputs."""
import numpy as np
import pytest

from data_pipeline.glue import get_task
from finetune.glue import compute_metrics
from finetune.metrics import accuracy, f1, matthews, pearson, spearman

sklearn_metrics = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 300)), 2 + seed % 3
    y, p = rng.integers(0, k, n), rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.6, y, p)  # correlated predictions
    assert accuracy(p, y) == pytest.approx(sklearn_metrics.accuracy_score(y, p), abs=1e-12)
    assert matthews(p, y) == pytest.approx(sklearn_metrics.matthews_corrcoef(y, p), abs=1e-12)
    if k == 2:
        assert f1(p, y) == pytest.approx(sklearn_metrics.f1_score(y, p), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 26, 200) / 5  # STS-B-like scores with many ties
    p = y + rng.normal(0, 1.0, 200)
    p[:20] = np.round(p[:20])  # ties in the predictions too
    assert pearson(p, y) == pytest.approx(stats.pearsonr(p, y)[0], abs=1e-12)
    assert spearman(p, y) == pytest.approx(stats.spearmanr(p, y)[0], abs=1e-12)


def test_edge_cases():
    assert matthews([1, 1, 1], [0, 1, 1]) == 0.0 == sklearn_metrics.matthews_corrcoef([0, 1, 1], [1, 1, 1])
    assert f1([0, 0], [1, 0]) == 0.0
    assert matthews([0, 1, 0, 1], [0, 1, 0, 1]) == 1.0
    with pytest.raises(ValueError, match="same length"):
        accuracy([1, 0], [1])


def test_task_score_is_mean_of_official_metrics():
    y, p = [1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 1]
    m = compute_metrics(get_task("mrpc"), p, y)
    assert set(m) == {"f1", "accuracy", "score"}
    assert m["score"] == pytest.approx((sklearn_metrics.f1_score(y, p) + sklearn_metrics.accuracy_score(y, p)) / 2)

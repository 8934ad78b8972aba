import pytest

from pretrain.metrics import wilson_interval
from pretrain.optim import lr_multiplier
from pretrain.sampler import GlobalBatchSampler


def test_warmup_then_linear_decay():
    w, total = 10, 110
    assert lr_multiplier(0, w, total, "linear") == pytest.approx(0.1)
    assert lr_multiplier(9, w, total, "linear") == pytest.approx(1.0)
    assert lr_multiplier(10, w, total, "linear") == pytest.approx(1.0)
    assert lr_multiplier(60, w, total, "linear") == pytest.approx(0.5)
    assert lr_multiplier(110, w, total, "linear") == 0.0
    assert lr_multiplier(500, w, total, "constant") == 1.0


def test_polynomial_decay_to_end_lr_in_both_conventions():
    w, total, p, end = 10, 110, 2.0, 0.1
    # warmup_end: the curve starts at the peak when warmup ends.
    assert lr_multiplier(10, w, total, "polynomial", p, end) == pytest.approx(1.0)
    assert lr_multiplier(60, w, total, "polynomial", p, end) == pytest.approx(0.9 * 0.5 ** 2 + 0.1)
    assert lr_multiplier(110, w, total, "polynomial", p, end) == pytest.approx(end)
    assert lr_multiplier(1000, w, total, "polynomial", p, end) == pytest.approx(end)
    # step_zero: warmup overrides the first steps of a curve that started at step 0.
    assert lr_multiplier(5, w, total, "polynomial", p, end, "step_zero") == pytest.approx(0.6)
    assert lr_multiplier(10, w, total, "polynomial", p, end, "step_zero") == pytest.approx(
        0.9 * (1 - 10 / 110) ** 2 + 0.1)
    assert lr_multiplier(110, w, total, "polynomial", p, end, "step_zero") == pytest.approx(end)


def test_inverse_sqrt_is_noam_normalised_at_warmup():
    w = 16
    noam = lambda t: min(t ** -0.5, t * w ** -1.5)  # noqa: E731  (REFERENCE.md §4 without the d^-0.5 factor)
    for step in (0, 7, 15, 16, 100, 10_000):
        assert lr_multiplier(step, w, 1, "inverse_sqrt") == pytest.approx(noam(step + 1) / noam(w))
    assert lr_multiplier(w - 1, w, 1, "inverse_sqrt") == pytest.approx(1.0)


def test_unknown_schedule_names_the_valid_ones():
    with pytest.raises(ValueError, match="cosine.*inverse_sqrt"):
        lr_multiplier(0, 0, 10, "cosine")
    with pytest.raises(ValueError, match="decay_start.*step_zero"):
        lr_multiplier(0, 0, 10, "linear", decay_start="late")


def test_sampler_same_global_batches_for_any_number_of_processes():
    def global_batches(world):
        per_rank = []
        for r in range(world):
            s = GlobalBatchSampler(100, 8, seed=3, rank=r, world=world)
            s.set_epoch(2)
            per_rank.append(list(s))
        return [sorted(sum((rank[b] for rank in per_rank), [])) for b in range(len(per_rank[0]))]
    one, two, four = global_batches(1), global_batches(2), global_batches(4)
    assert one == two == four and len(one) == 12
    flat = sum(one, [])
    assert len(set(flat)) == len(flat)  # no example twice in an epoch


def test_sampler_resumes_at_cursor_and_epochs_differ():
    s = GlobalBatchSampler(50, 5, seed=0)
    s.set_epoch(1)
    full = list(s)
    s.set_epoch(1, start_batch=4)
    assert list(s) == full[4:]
    s.set_epoch(2)
    assert list(s) != full


def test_wilson_bounds_solve_the_score_equation():
    for k, n in [(55, 100), (1, 20), (980, 1000), (0, 10)]:
        lo, hi = wilson_interval(k, n)
        z, p = 1.959963984540054, k / n
        for b in (lo, hi):
            assert (p - b) ** 2 == pytest.approx(z * z * b * (1 - b) / n, abs=1e-12)
        assert lo <= p <= hi



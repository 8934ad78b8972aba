"""LAMB against a direct element-wise transcription of the update in REFERENCE.md §4 (numpy, float64)."""
import numpy as np
import pytest
import torch

from pretrain.lamb import Lamb


def reference_lamb(ws, grads_per_step, lr, b1, b2, eps, wd, trust_all, bias_correction=True, max_ratio=None):
    ws = [w.astype(np.float64).copy() for w in ws]
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            c1, c2 = (1 - b1 ** t, 1 - b2 ** t) if bias_correction else (1.0, 1.0)
            r = (m[i] / c1) / (np.sqrt(v[i] / c2) + eps) + wd * ws[i]
            wn, rn = np.linalg.norm(ws[i]), np.linalg.norm(r)
            ratio = wn / rn if (wd or trust_all) and wn > 0 and rn > 0 else 1.0
            if max_ratio is not None and (wd or trust_all):
                ratio = min(ratio, max_ratio)
            ws[i] = ws[i] - lr * ratio * r
    return ws


def run_torch(ws, grads_per_step, **kw):
    params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float64)) for w in ws]
    opt = Lamb(params, **kw)
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("bias_correction,max_ratio", [(True, None), (False, None), (True, 0.5)])
def test_matches_reference(foreach, bias_correction, max_ratio):
    rng = np.random.default_rng(0)
    ws = [rng.normal(size=(4, 3)), rng.normal(size=(5,)), np.zeros(3)]
    grads = [[rng.normal(size=w.shape) for w in ws] for _ in range(6)]
    for wd in (0.0, 0.01):
        for trust_all in (False, True):
            got = run_torch(ws, grads, lr=0.05, betas=(0.9, 0.999), eps=1e-6, weight_decay=wd, trust_all=trust_all,
                            bias_correction=bias_correction, max_trust_ratio=max_ratio, foreach=foreach)
            want = reference_lamb(ws, grads, 0.05, 0.9, 0.999, 1e-6, wd, trust_all, bias_correction, max_ratio)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_clamp_binds():
    # Guards the clamp test above against a ratio that never exceeds the clamp.
    rng = np.random.default_rng(1)
    ws, grads = [rng.normal(size=(6, 6)) * 10], [[rng.normal(size=(6, 6)) * 1e-3]]
    free = reference_lamb(ws, grads, 0.05, 0.9, 0.999, 1e-6, 0.01, False)
    clamped = reference_lamb(ws, grads, 0.05, 0.9, 0.999, 1e-6, 0.01, False, max_ratio=0.5)
    assert not np.allclose(free[0], clamped[0])


def test_trust_ratio_makes_step_scale_free():
    # With weight decay on, the step's size is lr * ||w|| whatever the gradient's scale.
    w = np.full((10,), 3.0)
    small = run_torch([w], [[np.full(10, 1e-3)]], lr=0.1, weight_decay=0.01)[0]
    large = run_torch([w], [[np.full(10, 1e3)]], lr=0.1, weight_decay=0.01)[0]
    np.testing.assert_allclose(np.linalg.norm(small - w), 0.1 * np.linalg.norm(w), rtol=1e-6)
    np.testing.assert_allclose(small, large, rtol=1e-6)


@pytest.mark.parametrize("chunk_bytes", [1 << 20, 600])
def test_foreach_step_equals_the_loop_in_float32(monkeypatch, chunk_bytes):
    """The multi-tensor step against the per-tensor loop on a model's mix of shapes (a zero tensor too), with and
    without weight decay, over 10 steps, in one chunk and in many: equal to 1e-7 (the norms' summation order may
    differ in the last bit)."""
    import pretrain.lamb as lamb
    monkeypatch.setattr(lamb, "CPU_CHUNK_BYTES", chunk_bytes)
    torch.manual_seed(0)
    shapes = [(64, 32), (32,), (128, 64), (64,), (3, 5, 7), (1,), (0,)]
    weights = [torch.randn(s) for s in shapes]
    weights[1].zero_()
    grads = [[torch.randn(s) * 10 ** torch.randint(-3, 2, ()).item() for s in shapes] for _ in range(10)]
    results = {}
    for foreach in (False, True):
        params = [torch.nn.Parameter(w.clone()) for w in weights]
        opt = Lamb([{"params": params[:4], "weight_decay": 0.01}, {"params": params[4:], "weight_decay": 0.0}],
                   lr=0.01, foreach=foreach)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            opt.step()
        results[foreach] = ([p.detach() for p in params], opt.statistics())
    for loop, multi in zip(results[False][0], results[True][0]):
        torch.testing.assert_close(multi, loop, atol=1e-7, rtol=0)
    assert results[True][1] == pytest.approx(results[False][1], abs=1e-6)
    assert not torch.equal(results[True][0][0], weights[0])  # the weights did move

"""MemN2N against the paper's equations written out per example and per word with numpy (Sukhbaatar et al. 2015,
§2-§4): position encoding, temporal encoding, adjacent and layer-wise tying, linear start."""
import numpy as np
import pytest
import torch

from data_pipeline.babi import Example, collate
from modeling.baselines.memn2n import MemN2N, MemN2NConfig

V, D, SLOTS = 13, 6, 8
EXAMPLES = [Example(memory=[[3, 4, 5], [6, 2], [], [7, 8, 9, 10]], question=[11, 3, 4], answer=5),
            Example(memory=[[12]], question=[2, 6], answer=9)]  # one memory; the third slot above is empty (noise)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def reference_logits(model: MemN2N, ex: Example) -> np.ndarray:
    cfg = model.config
    w = lambda t: t.detach().double().numpy()
    E = [w(e.weight) for e in model.embeddings]
    T = [w(t) for t in model.temporal] if cfg.temporal else [np.zeros((SLOTS, D))] * len(E)
    if cfg.tying == "adjacent":  # A^k = E_(k-1), C^k = E_k, B = A^1, W^T = C^K
        A, C, TA, TC = E[:-1], E[1:], T[:-1], T[1:]
        B, W = E[0], E[-1]
    else:
        A, C, TA, TC = [E[0]] * cfg.hops, [E[1]] * cfg.hops, [T[0]] * cfg.hops, [T[1]] * cfg.hops
        B, W, H = w(model.question_embedding.weight), w(model.output.weight), w(model.hop_map.weight)

    def enc(M, words):
        out, J = np.zeros(D), len(words)
        for j, word in enumerate(words, 1):
            for k in range(1, D + 1):
                l = (1 - j / J) - (k / D) * (1 - 2 * j / J) if cfg.encoding == "position" else 1.0
                out[k - 1] += l * M[word, k - 1]
        return out

    u = enc(B, ex.question)
    for k in range(cfg.hops):
        m = np.stack([enc(A[k], x) + TA[k][i] for i, x in enumerate(ex.memory)])
        c = np.stack([enc(C[k], x) + TC[k][i] for i, x in enumerate(ex.memory)])
        p = softmax(m @ u) if bool(model.softmax_on) else m @ u
        o = p @ c
        u = u + o if cfg.tying == "adjacent" else H @ u + o
    return W @ u


@pytest.mark.parametrize("options", [dict(), dict(tying="layerwise"), dict(encoding="bow"),
                                     dict(temporal=False, hops=1), dict(linear_start=True),
                                     dict(linear_start=True, tying="layerwise", hops=2)])
def test_forward_matches_the_papers_equations(options):
    torch.manual_seed(0)
    options = {"linear_start": False, **options}
    model = MemN2N(MemN2NConfig(V, embedding_size=D, memory_size=SLOTS, **options)).double()
    batch = {k: torch.from_numpy(v) for k, v in collate(EXAMPLES, SLOTS).items()}
    out = model(**batch)
    for i, ex in enumerate(EXAMPLES):
        np.testing.assert_allclose(out.logits[i].detach().numpy(), reference_logits(model, ex), rtol=1e-10)
    if not options["linear_start"]:  # padded slots of the shorter memory get no weight
        assert out.attention[:, 1, 1:].abs().max() == 0
        torch.testing.assert_close(out.attention.sum(-1), torch.ones(model.config.hops, 2, dtype=torch.float64))


def test_init_tying_and_counts():
    torch.manual_seed(0)
    adjacent = MemN2N(MemN2NConfig(500, embedding_size=20, hops=3, memory_size=50))
    assert adjacent.num_parameters() == 4 * 500 * 20 + 4 * 50 * 20  # A^1=B, C^k=A^(k+1), W^T=C^3: 4 matrices
    assert abs(adjacent.embeddings[0].weight.std().item() - 0.1) < 0.005  # N(0, 0.1)
    layerwise = MemN2N(MemN2NConfig(500, embedding_size=20, hops=3, memory_size=50, tying="layerwise"))
    assert layerwise.num_parameters() == 4 * 500 * 20 + 2 * 50 * 20 + 20 * 20  # A, C, B, W, T_A, T_C, H


def test_loss_counts_and_save_load(tmp_path):
    torch.manual_seed(0)
    model = MemN2N(MemN2NConfig(V, embedding_size=D, memory_size=SLOTS))
    assert not bool(model.softmax_on)  # linear start by default
    batch = {k: torch.from_numpy(v) for k, v in collate(EXAMPLES, SLOTS).items()}
    out = model(**batch)
    ce = torch.nn.functional.cross_entropy(out.logits, batch["answers"], reduction="none")
    torch.testing.assert_close(out.loss, ce.sum())
    torch.testing.assert_close(out.answer_loss, ce.mean())
    assert out.answer_total == 2 and out.answer_correct == (out.logits.argmax(-1) == batch["answers"]).sum()
    model.enable_softmax()
    model.save_pretrained(tmp_path)
    loaded = MemN2N.from_pretrained(tmp_path)
    assert bool(loaded.softmax_on)
    torch.testing.assert_close(loaded(**batch).logits, model(**batch).logits, rtol=0, atol=0)

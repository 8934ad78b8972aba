"""The character-level CNN (Zhang et al. 2015, small): backward quantization, the paper's 34 output frames for
1014 characters, shapes and initialisation, one-hot input, and that a reduced model learns a character cue."""
import numpy as np
import pytest
import torch

from modeling.baselines.char_cnn import ALPHABET, CharCNN, CharCNNConfig, quantize


def test_quantize_backward_lowercased_unknown_zero_and_truncated():
    ids = quantize(["Ab c", "abcdefgh"], length=6)
    a, b, c = (ALPHABET.index(ch) + 1 for ch in "abc")
    np.testing.assert_array_equal(ids[0], [c, 0, b, a, 0, 0])  # the blank is unknown: zero
    np.testing.assert_array_equal(ids[1], [ALPHABET.index(ch) + 1 for ch in "fedcba"])  # first 6 kept, reversed
    assert quantize(["\u00e9"], 3).tolist() == [[0, 0, 0]]


def test_small_model_has_the_papers_shapes():
    torch.manual_seed(0)
    cfg = CharCNNConfig(num_labels=4)
    assert cfg.output_frames() == (1014 - 96) // 27 == 34
    model = CharCNN(cfg)
    assert model.alphabet_size == 69  # the paper's 70 entries list '-' twice
    assert model.fc1.in_features == 34 * 256 and model.fc2.out_features == 1024
    assert [c.kernel_size[0] for c in model.convs] == [7, 7, 3, 3, 3, 3]
    assert model.convs[0].weight.std().item() == pytest.approx(0.05, rel=0.05)
    assert torch.count_nonzero(model.fc1.bias) == 0
    ids = torch.from_numpy(quantize(["a fine film", "dull, dull, dull!"], 1014))
    out = model.eval()(ids, labels=torch.tensor([0, 3]))
    assert out.logits.shape == (2, 4) and out.label_total.item() == 2 and out.loss.ndim == 0


def test_one_hot_marks_each_known_character_once():
    model = CharCNN(CharCNNConfig(num_labels=2, length=130, frames=4, hidden_size=8))
    ids = torch.from_numpy(quantize(["hi there"], 130))
    x = model.one_hot(ids)
    assert x.shape == (1, 69, 130)
    assert x.sum().item() == 7  # 8 characters, the blank unknown
    assert x[0, ALPHABET.index("e"), 0] == 1 and x[0, :, 8:].sum() == 0


def test_too_short_length_is_refused():
    with pytest.raises(ValueError, match="too short"):
        CharCNNConfig(num_labels=2, length=100)


def test_reduced_model_learns_which_character_a_text_holds():
    """Label 1 when the text holds a 'z', 0 when it holds a 'q' instead, among random filler letters."""
    rng = np.random.default_rng(0)

    def make(n):
        texts, labels = [], []
        for i in range(n):
            chars = list(rng.choice(list("abcdefgh "), size=rng.integers(20, 120)))
            chars[int(rng.integers(len(chars)))] = "z" if i % 2 else "q"
            texts.append("".join(chars))
            labels.append(i % 2)
        return torch.from_numpy(quantize(texts, 150)), torch.tensor(labels)

    torch.manual_seed(0)
    model = CharCNN(CharCNNConfig(num_labels=2, length=150, frames=32, hidden_size=64, dropout=0.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(150):
        ids, labels = make(32)
        loss = model(ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    ids, labels = make(400)
    assert model.eval()(ids, labels=labels).label_correct.item() / 400 > 0.9

"""ConvS2S (Gehring et al. 2017): GLU blocks with sqrt(0.5) residuals, causal decoder convolutions, an encoder blind
to padding, multi-step attention over z + e scaled by sqrt(m), weight norm with the paper's initialisation, the
encoder's gradient scale, step decoding, save and load, and a copy task."""
import math

import pytest
import torch

from copy_task import copy_accuracy
from modeling.baselines.convs2s import ConvS2S, ConvS2SConfig, DecoderLayer, EncoderLayer
from modeling.baselines.seq2seq import BOS, EOS, PAD, reorder_state
from modeling.config import ConfigError

V = 12


def tiny_config(**kw):
    values = dict(embedding_size=8, channels=6, encoder_layers=2, decoder_layers=2, kernel_size=3, max_positions=16,
                  dropout=0.0)
    return ConvS2SConfig(V, **{**values, **kw})


def with_biases(module):
    """Biases start at 0: give them values, so a missing bias would show."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.uniform_(-0.5, 0.5)
    return module


def tiny_model(**kw):
    torch.manual_seed(0)
    return with_biases(ConvS2S(tiny_config(**kw))).eval()


SRC = torch.tensor([[5, 6, 7, 8, 9, EOS], [9, 4, EOS, PAD, PAD, PAD]])
TGT = torch.tensor([[BOS, 5, 6, 7, 8, 9], [BOS, 9, 4, PAD, PAD, PAD]])


def test_shapes_and_loss():
    model = tiny_model()
    memory, mask = model.encode_source(SRC)
    assert [m.shape for m in memory] == [(2, 6, 8), (2, 6, 8)]
    labels = torch.cat([TGT[:, 1:], torch.full((2, 1), PAD)], 1)
    labels[0, -1], labels[1, 2] = EOS, EOS
    out = model(SRC, TGT, labels)
    assert out.logits.shape == (2, 6, V)
    assert int(out.token_total) == 9 and torch.isfinite(out.loss)
    assert model.attention_weights(SRC, TGT).shape == (2, 6, 6)
    assert ConvS2SConfig(V).arch == "convs2s"


def test_config_and_length_checks():
    with pytest.raises(ConfigError, match="kernel_size"):
        tiny_config(kernel_size=0)
    with pytest.raises(ConfigError, match="dropout"):
        tiny_config(dropout=1.0)
    model = tiny_model(max_positions=6)
    model(SRC, TGT)  # 6 positions fit
    with pytest.raises(ValueError, match="max_positions=6"):
        model(torch.cat([SRC, SRC], 1), TGT)


def test_decoder_is_causal():
    model = tiny_model(decoder_layers=3)
    memory, mask = model.encode_source(SRC)
    logits = model.decode(memory, mask, TGT)
    for t in range(TGT.shape[1] - 1):
        changed = TGT.clone()
        changed[:, t + 1:] = torch.randint(4, V, changed[:, t + 1:].shape)
        other = model.decode(memory, mask, changed)
        torch.testing.assert_close(other[:, :t + 1], logits[:, :t + 1])
        assert not torch.allclose(other[:, t + 1:], logits[:, t + 1:])  # the later positions do see them


def test_source_padding_changes_nothing():
    model = tiny_model()
    src, tgt = SRC[1:, :3], TGT[1:, :3]
    padded = torch.cat([src, torch.full((1, 4), PAD)], 1)
    torch.testing.assert_close(model(padded, tgt).logits, model(src, tgt).logits)
    torch.testing.assert_close(model(SRC, TGT).logits[1, :3], model(src, tgt).logits[0])  # the batch's own padding
    weights = model.attention_weights(padded, tgt)
    assert (weights[..., 3:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))
    torch.testing.assert_close(weights[..., :3], model.attention_weights(src, tgt))


def test_step_decoding_matches_teacher_forcing_after_reordering():
    model = tiny_model()
    memory, mask = model.encode_source(SRC)
    full = model.decode(memory, mask, TGT)
    state = model.start(memory, mask)
    for t in range(3):
        logits, state = model.step(state, TGT[:, t])
        torch.testing.assert_close(logits, full[:, t])
    index = torch.tensor([1, 0, 0])  # a beam keeps row 1 once and row 0 twice
    state = reorder_state(state, index)
    full = model.decode(reorder_state(memory, index), mask[index], TGT[index])
    for t in range(3, TGT.shape[1]):
        logits, state = model.step(state, TGT[index, t])
        torch.testing.assert_close(logits, full[:, t])


def test_save_and_load(tmp_path):
    model = tiny_model(scale_encoder_gradient=False)
    model.save_pretrained(tmp_path)
    loaded = ConvS2S.from_pretrained(tmp_path).eval()
    assert loaded.config == model.config
    torch.testing.assert_close(loaded(SRC, TGT).logits, model(SRC, TGT).logits, rtol=0, atol=0)


def set_weight(module, weight):
    """Give a weight-normalised module the weight `weight` (g = |v| per output unit, v = weight)."""
    with torch.no_grad():
        module.parametrizations.weight.original1.copy_(weight)
        norm = weight.flatten(1).norm(dim=1)
        module.parametrizations.weight.original0.copy_(norm.view(-1, *[1] * (weight.dim() - 1)))
    torch.testing.assert_close(module.weight, weight)


def glu_conv_by_hand(conv, x, left, right):
    """x (T, C) -> (T, C): A * sigmoid(B), [A; B] = b + sum_j W[:, :, j] x_{t - left + j}, zeros outside 0..T-1."""
    W, b = conv.weight, conv.bias
    C, k = x.shape[1], W.shape[-1]
    padded = torch.cat([torch.zeros(left, C), x, torch.zeros(right, C)])
    out = []
    for t in range(x.shape[0]):
        ab = b + sum(W[:, :, j] @ padded[t + j] for j in range(k))
        out.append(ab[:C] * torch.sigmoid(ab[C:]))
    return torch.stack(out)


@pytest.mark.parametrize("kernel", [3, 4])
def test_encoder_block_by_hand(kernel):
    torch.manual_seed(1)
    layer = with_biases(EncoderLayer(tiny_config(kernel_size=kernel, channels=3)))
    set_weight(layer.conv, torch.randn(6, 3, kernel))
    x = torch.randn(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    out = layer(x, mask)
    for b, n in enumerate(mask.sum(1).tolist()):  # the convolution sees zeros past a row's real tokens
        h = glu_conv_by_hand(layer.conv, x[b, :n], (kernel - 1) // 2, kernel // 2 + 5 - n)[:n]
        torch.testing.assert_close(out[b, :n], (h + x[b, :n]) * math.sqrt(0.5))


def test_decoder_block_and_multi_step_attention_by_hand():
    torch.manual_seed(2)
    layer = with_biases(DecoderLayer(tiny_config(channels=3, embedding_size=4)))
    B, T, S, C, E = 2, 4, 5, 3, 4
    x, g = torch.randn(B, T, C), torch.randn(B, T, E)
    z, e = torch.randn(B, S, E), torch.randn(B, S, E)
    mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])
    out, weights = layer(x, g, (z, z + e), mask)
    Wd, bd = layer.attention_in.weight, layer.attention_in.bias
    Wc, bc = layer.attention_out.weight, layer.attention_out.bias
    for b, m in enumerate(mask.sum(1).tolist()):
        h = glu_conv_by_hand(layer.conv, x[b], 2, 0)  # causal: k - 1 = 2 zeros on the left
        for i in range(T):
            d = Wd @ h[i] + bd + g[b, i]
            a = torch.softmax(torch.stack([d @ z[b, j] for j in range(m)]), 0)
            c = m * math.sqrt(1 / m) * sum(a[j] * (z[b, j] + e[b, j]) for j in range(m))
            hi = (h[i] + Wc @ c + bc) * math.sqrt(0.5)
            torch.testing.assert_close(out[b, i], (hi + x[b, i]) * math.sqrt(0.5))
            torch.testing.assert_close(weights[b, i, :m], a)
            assert (weights[b, i, m:] == 0).all()


def test_memory_is_z_and_z_plus_source_embedding():
    model = tiny_model()
    z, values = model.encode_source(SRC)[0]
    e = model.src_embeddings(SRC) + model.src_positions(torch.arange(SRC.shape[1]))
    torch.testing.assert_close(values - z, e)


def test_weight_norm_and_initialisation():
    torch.manual_seed(0)
    p, C, E, k = 0.8, 64, 48, 3
    model = ConvS2S(ConvS2SConfig(500, embedding_size=E, channels=C, kernel_size=k, dropout=1 - p))
    conv = model.decoder_layers[0].conv
    g, v = conv.parametrizations.weight.original0, conv.parametrizations.weight.original1
    torch.testing.assert_close(conv.weight, g * v / v.norm(dim=(1, 2), keepdim=True))
    expected = {  # std by the paper: sqrt(4p/n) into a GLU, sqrt(p/n) after dropout, sqrt(1/n) without
        model.encoder_layers[0].conv: math.sqrt(4 * p / (k * C)), conv: math.sqrt(4 * p / (k * C)),
        model.encoder_in: math.sqrt(p / E), model.decoder_in: math.sqrt(p / E), model.output: math.sqrt(p / E),
        model.encoder_out: math.sqrt(1 / C), model.decoder_out: math.sqrt(1 / C),
        model.decoder_layers[0].attention_in: math.sqrt(1 / C), model.decoder_layers[0].attention_out: math.sqrt(1 / E),
        model.src_embeddings: 0.1, model.tgt_positions: 0.1,
    }
    for module, std in expected.items():
        w = module.weight.detach()
        assert abs(w.std().item() / std - 1) < 0.06, (module, w.std().item(), std)
        assert abs(w.mean().item()) < 0.1 * std
    assert (model.src_embeddings.weight[PAD] == 0).all() and (model.tgt_embeddings.weight[PAD] == 0).all()


def test_encoder_gradient_is_scaled_by_twice_the_attention_layers():
    grads = {}
    for scale in (True, False):
        model = tiny_model(decoder_layers=3, scale_encoder_gradient=scale).train()
        model(SRC, TGT, TGT).loss.backward()
        grads[scale] = {n: p.grad.clone() for n, p in model.named_parameters()}
    for name in grads[True]:
        if name.startswith(("encoder_layers.", "encoder_in.", "encoder_out.")):
            torch.testing.assert_close(grads[True][name], grads[False][name] / 6)
        elif name.startswith(("decoder", "tgt_", "output")):
            torch.testing.assert_close(grads[True][name], grads[False][name])
    # the source embeddings also feed the attention values directly: that path keeps its full gradient
    assert not torch.allclose(grads[True]["src_embeddings.weight"], grads[False]["src_embeddings.weight"] / 6)


def test_learns_to_copy():
    torch.manual_seed(0)
    model = ConvS2S(tiny_config(embedding_size=32, channels=32))
    assert copy_accuracy(model, V, steps=300, batch_size=32, lr=3e-3, held_out=200) == 1.0

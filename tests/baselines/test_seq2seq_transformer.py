"""The Transformer encoder-decoder: its defining details (tied embeddings, sinusoidal positions, causal decoder,
source padding hidden), step decoding equal to teacher forcing, and the label-smoothed loss against torch's."""
import math

import pytest
import torch
import torch.nn.functional as F

from modeling.baselines.seq2seq import BOS, EOS, PAD, reorder_state, reverse_real, smoothed_loss
from modeling.baselines.transformer_seq2seq import TransformerSeq2Seq, TransformerSeq2SeqConfig, sinusoidal_positions


def tiny(**overrides) -> TransformerSeq2Seq:
    torch.manual_seed(0)
    config = dict(vocab_size=23, d_model=16, num_heads=2, d_ff=24, encoder_layers=2, decoder_layers=2, dropout=0.0)
    return TransformerSeq2Seq(TransformerSeq2SeqConfig(**{**config, **overrides})).eval()


SRC = torch.tensor([[5, 6, 7, 8, EOS], [9, 10, EOS, PAD, PAD]])
TGT = torch.tensor([[BOS, 11, 12, 13, 14, 15], [BOS, 16, 17, PAD, PAD, PAD]])


def test_no_target_position_sees_the_future():
    model = tiny()
    logits = model(SRC, TGT).logits
    for t in range(1, TGT.shape[1]):
        changed = TGT.clone()
        changed[:, t:] = 20
        again = model(SRC, changed).logits
        torch.testing.assert_close(again[:, :t], logits[:, :t], rtol=0, atol=0)
        assert (again[:, t:] - logits[:, t:]).abs().amax() > 1e-3  # the later positions do read them


def test_source_padding_changes_nothing():
    model = tiny()
    logits = model(SRC, TGT).logits
    padded = torch.cat([SRC, torch.full((2, 4), PAD)], dim=1)
    torch.testing.assert_close(model(padded, TGT).logits, logits, rtol=0, atol=1e-6)
    changed = SRC.clone()
    changed[1, 0] = 12  # a real source token does matter
    assert (model(changed, TGT).logits[1] - logits[1]).abs().amax() > 1e-3


def test_step_by_step_decoding_equals_teacher_forcing_and_reorders():
    model = tiny()
    logits = model(SRC, TGT).logits
    memory, mask = model.encode_source(SRC)
    state = model.start(memory, mask)
    steps = []
    for t in range(TGT.shape[1]):
        out, state = model.step(state, TGT[:, t])
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps, 1), logits, rtol=0, atol=1e-5)
    swapped = torch.tensor([1, 0])
    state = reorder_state(model.start(memory, mask), swapped)
    out, _ = model.step(state, TGT[swapped, 0])
    torch.testing.assert_close(out, logits[swapped, 0], rtol=0, atol=1e-5)


def test_embeddings_are_tied_three_ways_and_scaled():
    model = tiny()
    memory, mask = model.encode_source(SRC)
    hidden = {}
    model.decoder[-1].register_forward_hook(lambda module, args, output: hidden.update(y=output))
    logits = model.decode(memory, mask, TGT)
    torch.testing.assert_close(logits, hidden["y"] @ model.embeddings.weight.T)  # softmax weights = the table
    assert [n for n, _ in model.named_parameters() if "embed" in n] == ["embeddings.weight"]  # one table
    captured = {}
    model.encoder[0].register_forward_pre_hook(lambda module, args: captured.update(x=args[0]))
    model.encode_source(SRC)
    expected = model.embeddings(SRC) * math.sqrt(16) + sinusoidal_positions(SRC.shape[1], 16)
    torch.testing.assert_close(captured["x"], expected)


def test_sinusoidal_positions_follow_the_formula():
    table = sinusoidal_positions(7, 10)
    for pos in range(7):
        for i in range(5):
            angle = pos / 10000 ** (2 * i / 10)
            assert table[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_save_and_load_round_trip(tmp_path):
    model = tiny()
    model.save_pretrained(tmp_path)
    again = TransformerSeq2Seq.from_pretrained(tmp_path).eval()
    torch.testing.assert_close(again(SRC, TGT).logits, model(SRC, TGT).logits, rtol=0, atol=0)


def test_label_smoothed_loss_equals_torch_and_ignores_padding():
    torch.manual_seed(1)
    logits, labels = torch.randn(3, 5, 11), torch.randint(4, 11, (3, 5))
    labels[1, 3:] = PAD
    for eps in (0.0, 0.1):
        loss, nll = smoothed_loss(logits, labels, eps)
        ref = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=PAD, label_smoothing=eps)
        torch.testing.assert_close(loss, ref)
        torch.testing.assert_close(nll, F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=PAD))


def test_training_loss_is_smoothed_and_evaluation_is_the_plain_nll():
    model = tiny(label_smoothing=0.1)
    labels = torch.cat([TGT[:, 1:], torch.full((2, 1), PAD)], 1)
    labels[0, -1], labels[1, 2] = EOS, EOS
    model.train()
    out = model(SRC, TGT, labels)
    ref = F.cross_entropy(out.logits.flatten(0, 1), labels.flatten(), ignore_index=PAD, label_smoothing=0.1)
    torch.testing.assert_close(out.loss, ref)
    assert out.token_total.item() == (labels != PAD).sum().item()
    model.eval()
    out = model(SRC, TGT, labels)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits.flatten(0, 1), labels.flatten(),
                                                         ignore_index=PAD))


def test_reverse_source_reverses_the_words_and_keeps_eos_and_padding():
    reversed_ = reverse_real(SRC, SRC != PAD)
    assert reversed_.tolist() == [[8, 7, 6, 5, EOS], [10, 9, EOS, PAD, PAD]]
    model, flipped = tiny(), tiny(reverse_source=True)
    torch.testing.assert_close(flipped(SRC, TGT).logits, model(reversed_, TGT).logits, rtol=0, atol=0)

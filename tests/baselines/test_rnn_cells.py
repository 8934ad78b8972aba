"""The hand-written Elman RNN, LSTM and GRU against torch.nn.RNN/LSTM/GRU (cuDNN's conventions) with the same
weights: outputs, final states and every gradient, stacked and bidirectional."""
import pytest
import torch
from torch import nn

from modeling.baselines.rnn import RecurrentCell, RecurrentNetwork

TORCH = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def copy_from_torch(ours: RecurrentNetwork, ref: nn.RNNBase):
    with torch.no_grad():
        for layer in range(ours.num_layers):
            for d in range(ours.directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                cell = ours.cells[layer * ours.directions + d]
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(getattr(ref, name + suffix))


def grads_by_torch_name(ours: RecurrentNetwork) -> dict:
    out = {}
    for layer in range(ours.num_layers):
        for d in range(ours.directions):
            cell = ours.cells[layer * ours.directions + d]
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                out[f"{name}_l{layer}" + ("_reverse" if d else "")] = getattr(cell, name).grad
    return out


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_matches_torch_outputs_states_and_gradients(kind, layers, bidirectional):
    torch.manual_seed(0)
    B, T, I, H = 3, 7, 5, 6
    ref = TORCH[kind](I, H, num_layers=layers, bidirectional=bidirectional, batch_first=True).double()
    ours = RecurrentNetwork(kind, I, H, num_layers=layers, bidirectional=bidirectional).double()
    copy_from_torch(ours, ref)
    x = torch.randn(B, T, I, dtype=torch.double)
    h0 = torch.randn(layers * (2 if bidirectional else 1), B, H, dtype=torch.double)
    state = (h0, torch.randn_like(h0)) if kind == "lstm" else (h0,)
    x_ref, x_ours = x.clone().requires_grad_(), x.clone().requires_grad_()
    state_ref = tuple(s.clone().requires_grad_() for s in state)
    state_ours = tuple(s.clone().requires_grad_() for s in state)

    out_ref, final_ref = ref(x_ref, state_ref if kind == "lstm" else state_ref[0])
    out_ours, final_ours = ours(x_ours, state_ours)
    final_ref = final_ref if kind == "lstm" else (final_ref,)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-5, rtol=1e-5)
    for a, b in zip(final_ours, final_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)

    # A loss touching outputs and every final state, with random weights so no gradient is trivially symmetric.
    w = torch.randn_like(out_ref)
    ws = [torch.randn_like(s) for s in final_ref]
    ((out_ref * w).sum() + sum((s * v).sum() for s, v in zip(final_ref, ws))).backward()
    ((out_ours * w).sum() + sum((s * v).sum() for s, v in zip(final_ours, ws))).backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad, atol=1e-5, rtol=1e-5)
    for a, b in zip(state_ours, state_ref):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-5)
    for name, grad in grads_by_torch_name(ours).items():
        torch.testing.assert_close(grad, getattr(ref, name).grad, atol=1e-5, rtol=1e-5, msg=name)


def test_relu_elman_matches_torch():
    torch.manual_seed(1)
    ref = nn.RNN(4, 5, nonlinearity="relu", batch_first=True)
    ours = RecurrentNetwork("rnn", 4, 5, nonlinearity="relu")
    copy_from_torch(ours, ref)
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-5, rtol=1e-5)


def test_gru_keeps_the_old_state_through_z():
    """The stated convention, h' = (1 - z) * n + z * h: with z saturated at 1 the state passes unchanged, and at 0
    it is replaced by the candidate n."""
    cell = RecurrentCell("gru", 2, 3)
    h = torch.randn(1, 3)
    with torch.no_grad():
        cell.bias_ih[3:6] = 50.0  # z = sigmoid(large) = 1
    x = torch.randn(1, 2)
    torch.testing.assert_close(cell(cell.project_inputs(x), (h,))[0], h)
    with torch.no_grad():
        cell.bias_ih[3:6] = -50.0
    n = cell(cell.project_inputs(x), (h,))[0]
    assert not torch.allclose(n, h)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_padding_mask_gives_the_state_of_the_last_real_token(kind):
    """A padded sequence in a batch ends in the same state, in both directions, as the sequence run alone, which is
    what torch's packed sequences give."""
    torch.manual_seed(2)
    ref = TORCH[kind](4, 5, bidirectional=True, batch_first=True)
    ours = RecurrentNetwork(kind, 4, 5, bidirectional=True)
    copy_from_torch(ours, ref)
    x = torch.randn(2, 6, 4)
    lengths = torch.tensor([6, 3])
    mask = torch.arange(6)[None] < lengths[:, None]
    out, final = ours(x * mask[..., None], mask=mask)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, ref_final = ref(packed)
    ref_out, _ = nn.utils.rnn.pad_packed_sequence(ref_out, batch_first=True)
    ref_h = ref_final[0] if kind == "lstm" else ref_final
    torch.testing.assert_close(final[0], ref_h, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out * mask[..., None], ref_out, atol=1e-5, rtol=1e-5)


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of rnn, lstm, gru"):
        RecurrentNetwork("tanh", 2, 2)

"""Recurrent networks written out cell by cell: Elman RNN, LSTM and GRU, stacked and bidirectional.

Parameter names, shapes and gate orders are torch.nn.RNN/LSTM/GRU's, so weights copy over one to one:
`weight_ih` (gates*H, I), `weight_hh` (gates*H, H), `bias_ih`, `bias_hh`.
- Elman: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).
- LSTM (gates i, f, g, o): c' = f*c + i*g, h' = o*tanh(c').
- GRU (gates r, z, n), the convention of cuDNN and torch.nn.GRU: r = sigma(W_ir x + b_ir + W_hr h + b_hr),
  z = sigma(W_iz x + b_iz + W_hz h + b_hz), n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h.
  z is the gate that keeps the old state, and the reset gate multiplies the recurrent projection after the
  matrix product; Cho et al. (2014) instead apply it before, W_hn (r*h).
"""
from __future__ import annotations

import math

import torch
from torch import nn

CELLS = ("rnn", "lstm", "gru")
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class RecurrentCell(nn.Module):
    def __init__(self, kind: str, input_size: int, hidden_size: int, nonlinearity: str = "tanh"):
        super().__init__()
        if kind not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}; got {kind!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        self.kind, self.hidden_size = kind, hidden_size
        self.activation = torch.tanh if nonlinearity == "tanh" else torch.relu
        gates = _GATES[kind] * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(gates))
        self.bias_hh = nn.Parameter(torch.empty(gates))
        bound = 1 / math.sqrt(hidden_size)  # torch's default initialisation
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def project_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """W_ih x + b_ih for all time steps at once: one large product instead of one per step."""
        return nn.functional.linear(x, self.weight_ih, self.bias_ih)

    def forward(self, xw: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """One step from the projected input `xw`; the state is (h,) or, for the LSTM, (h, c)."""
        h = state[0]
        hw = nn.functional.linear(h, self.weight_hh, self.bias_hh)
        if self.kind == "rnn":
            return (self.activation(xw + hw),)
        if self.kind == "lstm":
            i, f, g, o = (xw + hw).chunk(4, -1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        xr, xz, xn = xw.chunk(3, -1)
        hr, hz, hn = hw.chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return ((1 - z) * n + z * h,)


class RecurrentNetwork(nn.Module):
    """A stack of recurrent layers over batch-first input, optionally bidirectional, with dropout between
    layers; the state layout is torch's: (layers * directions, B, H), direction fastest."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, nonlinearity: str = "tanh"):
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        self.directions = 2 if bidirectional else 1
        self.cells = nn.ModuleList(
            RecurrentCell(kind, input_size if layer == 0 else hidden_size * self.directions, hidden_size,
                          nonlinearity)
            for layer in range(num_layers) for _ in range(self.directions))
        self.dropout = nn.Dropout(dropout)

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zeros = like.new_zeros(self.num_layers * self.directions, batch, self.hidden_size)
        return (zeros, zeros.clone()) if self.kind == "lstm" else (zeros,)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """x (B, T, I) -> outputs (B, T, directions*H) and the final state. With `mask` (B, T; padding at the
        end), a padded step leaves the state unchanged, so the final state is that of the last real token in
        both directions (the backward pass starts on padding and so begins at the last real token)."""
        if state is None:
            state = self.initial_state(x.shape[0], x)
        final = [[] for _ in state]
        for layer in range(self.num_layers):
            outputs = []
            for d in range(self.directions):
                k = layer * self.directions + d
                h = tuple(s[k] for s in state)
                out, h = self._run(self.cells[k], x, h, mask, reverse=d == 1)
                outputs.append(out)
                for f, s in zip(final, h):
                    f.append(s)
            x = torch.cat(outputs, -1)
            if layer < self.num_layers - 1:
                x = self.dropout(x)
        return x, tuple(torch.stack(f) for f in final)

    @staticmethod
    def _run(cell, x, state, mask, reverse):
        projected = cell.project_inputs(x)
        steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
        outputs = [None] * x.shape[1]
        for t in steps:
            new = cell(projected[:, t], state)
            if mask is not None:
                keep = mask[:, t, None].to(x.dtype)
                new = tuple(keep * n + (1 - keep) * s for n, s in zip(new, state))
            state = new
            outputs[t] = state[0]
        return torch.stack(outputs, 1), state

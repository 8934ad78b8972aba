"""The recurrent encoder-decoders: Cho et al. (2014), Sutskever et al. (2014) and Bahdanau et al. (2015).

Each encodes the source with torch's fused GRU/LSTM over the real tokens only (packed sequences: a row's result
does not depend on the padding after it, and the backward direction starts at its last real token). Teacher
forcing runs the decoder over all target positions in one call where the recurrence allows it (Cho, Sutskever);
Bahdanau's attention needs s_{i-1} before step i, so its decoder loops over positions in Python. For search,
`start`/`step` carry the recurrent state (batch first, so `reorder_state` picks beams) and run one position per
call through the same code as teacher forcing.

torch's GRU applies the reset gate after the recurrent product, n = tanh(W_n x + r * (U_n h + b)); Cho et al. and
Bahdanau et al. apply it before, tanh(W x + U (r * h)). We take torch's convention for its fused kernels.
The config's `dropout` (none in the papers) acts on the embeddings, between stacked LSTM layers and before the
output layer.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .seq2seq import Seq2SeqConfig, Seq2SeqModel


@dataclass
class ChoConfig(Seq2SeqConfig):
    arch: str = "cho"
    embedding_size: int = 256
    hidden_size: int = 512  # the GRU states and the summary c (1000 in the paper)
    maxout_size: int = 256  # units after pooling pairs of the deep output (500 in the paper)
    init_std: float = 0.01  # non-recurrent weights N(0, init_std^2); recurrent ones orthogonal; biases 0


@dataclass
class SutskeverConfig(Seq2SeqConfig):
    arch: str = "sutskever"
    reverse_source: bool = True
    embedding_size: int = 256
    hidden_size: int = 512  # LSTM cells per layer (1000 in the paper)
    num_layers: int = 2  # in the encoder and in the decoder (4 in the paper)
    init_range: float = 0.08  # every parameter starts uniform in ±init_range


@dataclass
class BahdanauConfig(Seq2SeqConfig):
    arch: str = "bahdanau"
    embedding_size: int = 256  # m (620 in the paper)
    hidden_size: int = 256  # n: each encoder direction and the decoder state (1000 in the paper)
    attention_size: int = 256  # n' of the alignment model (1000 in the paper)
    maxout_size: int = 256  # l (500 in the paper)
    init_std: float = 0.01  # as Cho's; W_a, U_a start N(0, (init_std/10)^2), v_a at 0, as in the paper


def _run_packed(rnn: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor):
    """Run `rnn` over each row's real tokens (mask True, padding at the end): the outputs (B, S, D), zero at
    padding, and the final state at each row's last real token (both directions)."""
    lengths = mask.sum(1).cpu()
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, final = rnn(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], final


def _maxout(x: torch.Tensor) -> torch.Tensor:
    """t_j = max(t~_{2j-1}, t~_{2j}): the largest of each pair of adjacent units."""
    return x.unflatten(-1, (-1, 2)).amax(-1)


def _init_gaussian(model: nn.Module, std: float) -> None:
    """Cho's and Bahdanau's scheme: weights N(0, std^2), biases 0, and every gate's recurrent matrix (a block of
    torch's weight_hh) a random orthogonal matrix."""
    for name, p in model.named_parameters():
        if "bias" in name:
            nn.init.zeros_(p)
        elif "weight_hh" in name:
            for block in p.detach().split(p.shape[1]):
                nn.init.orthogonal_(block)
        else:
            nn.init.normal_(p, std=std)


class ChoModel(Seq2SeqModel):
    """RNN Encoder-Decoder (Cho et al. 2014).

    Encoder: a GRU over the source; the summary of its state at the last real token, c = tanh(V h_N).
    Decoder: h'_0 = tanh(V' c); h'_t = GRU([e(y_{t-1}); c], h'_{t-1}), so c enters every gate at every step;
    deep output s' = O_h h'_t + O_y e(y_{t-1}) + O_c c, s = maxout over pairs of s', logits = G s.
    Both GRUs are torch's (reset gate after the recurrent product; the paper's is before it, see above).
    State of `step`: (h'_{t-1}, c).
    """
    config_class = ChoConfig

    def __init__(self, config: ChoConfig):
        super().__init__(config)
        E, H, M = config.embedding_size, config.hidden_size, config.maxout_size
        self.src_embedding = nn.Embedding(config.vocab_size, E)
        self.encoder = nn.GRU(E, H, batch_first=True)
        self.V = nn.Linear(H, H)
        self.V_init = nn.Linear(H, H)  # V'
        self.tgt_embedding = nn.Embedding(config.vocab_size, E)
        self.decoder = nn.GRU(E + H, H, batch_first=True)
        self.O_h = nn.Linear(H, 2 * M)
        self.O_y = nn.Linear(E, 2 * M, bias=False)
        self.O_c = nn.Linear(H, 2 * M, bias=False)
        self.G = nn.Linear(M, config.vocab_size)
        self.dropout = nn.Dropout(config.dropout)
        _init_gaussian(self, config.init_std)

    def encode(self, src_ids, src_mask):
        _, h_last = _run_packed(self.encoder, self.dropout(self.src_embedding(src_ids)), src_mask)
        return (torch.tanh(self.V(h_last[0])),)

    def _decode_from(self, h, c, tgt_in):
        """Logits (B, T, vocab) and the last state (1, B, H) from state h (1, B, H) and summary c (B, H)."""
        e = self.dropout(self.tgt_embedding(tgt_in))
        c_t = c[:, None].expand(-1, tgt_in.shape[1], -1)
        hidden, h = self.decoder(torch.cat([e, c_t], -1), h)
        s = _maxout(self.O_h(hidden) + self.O_y(e) + self.O_c(c_t))
        return self.G(self.dropout(s)), h

    def decode(self, memory, src_mask, tgt_in):
        h, c = self.start(memory, src_mask)
        return self._decode_from(h[None], c, tgt_in)[0]

    def start(self, memory, src_mask):
        c, = memory
        return torch.tanh(self.V_init(c)), c

    def step(self, state, tokens):
        h, c = state
        logits, h = self._decode_from(h[None], c, tokens[:, None])
        return logits[:, 0], (h[0], c)


class SutskeverModel(Seq2SeqModel):
    """Sequence to sequence learning with LSTMs (Sutskever et al. 2014).

    A stack of LSTMs reads the (reversed, see `reverse_source`) source; a second stack, started from the
    encoder's final (h, c) of every layer, reads <bos> y_1 .. y_{T-1}; a softmax over its top layer gives each
    next word. Every parameter starts uniform in ±0.08. Memory and `step` state: (h, c), each (B, layers, H).
    """
    config_class = SutskeverConfig

    def __init__(self, config: SutskeverConfig):
        super().__init__(config)
        E, H, L = config.embedding_size, config.hidden_size, config.num_layers
        self.src_embedding = nn.Embedding(config.vocab_size, E)
        self.encoder = nn.LSTM(E, H, L, batch_first=True, dropout=config.dropout if L > 1 else 0.0)
        self.tgt_embedding = nn.Embedding(config.vocab_size, E)
        self.decoder = nn.LSTM(E, H, L, batch_first=True, dropout=config.dropout if L > 1 else 0.0)
        self.output = nn.Linear(H, config.vocab_size)
        self.dropout = nn.Dropout(config.dropout)
        for p in self.parameters():
            nn.init.uniform_(p, -config.init_range, config.init_range)

    def encode(self, src_ids, src_mask):
        _, (h, c) = _run_packed(self.encoder, self.dropout(self.src_embedding(src_ids)), src_mask)
        return h.transpose(0, 1), c.transpose(0, 1)

    def _decode_from(self, state, tgt_in):
        h, c = (s.transpose(0, 1).contiguous() for s in state)
        hidden, (h, c) = self.decoder(self.dropout(self.tgt_embedding(tgt_in)), (h, c))
        return self.output(self.dropout(hidden)), (h.transpose(0, 1), c.transpose(0, 1))

    def decode(self, memory, src_mask, tgt_in):
        return self._decode_from(memory, tgt_in)[0]

    def start(self, memory, src_mask):
        return memory

    def step(self, state, tokens):
        logits, state = self._decode_from(state, tokens[:, None])
        return logits[:, 0], state


class BahdanauModel(Seq2SeqModel):
    """RNNsearch (Bahdanau et al. 2015): a bidirectional GRU encoder and a decoder that attends.

    Annotations h_j = [fwd_j; bwd_j]. Decoder: s_0 = tanh(W_s bwd_1); at step i,
    e_ij = v_a^T tanh(W_a s_{i-1} + U_a h_j) (U_a h_j computed once per source), a_ij = softmax_j over the real
    source positions, c_i = sum_j a_ij h_j; the deep output t~_i = U_o s_{i-1} + V_o e(y_{i-1}) + C_o c_i,
    t_i = maxout over pairs of t~_i, logits = W_o t_i; then s_i = GRU([e(y_{i-1}); c_i], s_{i-1}).
    Memory: (annotations (B, S, 2n), U_a h (B, S, n')); `step` state: (s_{i-1}, annotations, U_a h, src_mask).
    """
    config_class = BahdanauConfig

    def __init__(self, config: BahdanauConfig):
        super().__init__(config)
        E, H, A, M = config.embedding_size, config.hidden_size, config.attention_size, config.maxout_size
        self.src_embedding = nn.Embedding(config.vocab_size, E)
        self.encoder = nn.GRU(E, H, batch_first=True, bidirectional=True)
        self.W_s = nn.Linear(H, H)
        self.W_a = nn.Linear(H, A, bias=False)
        self.U_a = nn.Linear(2 * H, A)
        self.v_a = nn.Linear(A, 1, bias=False)
        self.tgt_embedding = nn.Embedding(config.vocab_size, E)
        self.cell = nn.GRUCell(E + 2 * H, H)
        self.U_o = nn.Linear(H, 2 * M)
        self.V_o = nn.Linear(E, 2 * M, bias=False)
        self.C_o = nn.Linear(2 * H, 2 * M, bias=False)
        self.W_o = nn.Linear(M, config.vocab_size)
        self.dropout = nn.Dropout(config.dropout)
        _init_gaussian(self, config.init_std)
        nn.init.normal_(self.W_a.weight, std=config.init_std / 10)
        nn.init.normal_(self.U_a.weight, std=config.init_std / 10)
        nn.init.zeros_(self.v_a.weight)

    def encode(self, src_ids, src_mask):
        annotations, _ = _run_packed(self.encoder, self.dropout(self.src_embedding(src_ids)), src_mask)
        return annotations, self.U_a(annotations)

    def _attend(self, s, annotations, keys, src_mask):
        """(c_i (B, 2n), a_i (B, S)) from s_{i-1} (B, n)."""
        scores = self.v_a(torch.tanh(self.W_a(s)[:, None] + keys))[..., 0]
        a = scores.masked_fill(~src_mask, float("-inf")).softmax(-1)
        return torch.bmm(a[:, None], annotations)[:, 0], a

    def _output(self, s, e, c):
        return self.W_o(self.dropout(_maxout(self.U_o(s) + self.V_o(e) + self.C_o(c))))

    def _decode_with_weights(self, memory, src_mask, tgt_in):
        annotations, keys = memory
        s = self.start(memory, src_mask)[0]
        e = self.dropout(self.tgt_embedding(tgt_in))
        states, contexts, weights = [], [], []
        for i in range(tgt_in.shape[1]):
            c, a = self._attend(s, annotations, keys, src_mask)
            states.append(s)
            contexts.append(c)
            weights.append(a)
            s = self.cell(torch.cat([e[:, i], c], -1), s)
        # The output layer once over all positions rather than once per step.
        return self._output(torch.stack(states, 1), e, torch.stack(contexts, 1)), torch.stack(weights, 1)

    def decode(self, memory, src_mask, tgt_in):
        return self._decode_with_weights(memory, src_mask, tgt_in)[0]

    def attention_weights(self, src_ids: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """a_ij (B, T, S) of teacher-forced decoding: row i is where the word after tgt_in[:, i] looks in the
        source, as the encoder reads it (reversed when the config says so), zero at padding."""
        memory, src_mask = self.encode_source(src_ids)
        return self._decode_with_weights(memory, src_mask, tgt_in)[1]

    def start(self, memory, src_mask):
        annotations, keys = memory
        backward_first = annotations[:, 0, self.config.hidden_size:]
        return torch.tanh(self.W_s(backward_first)), annotations, keys, src_mask

    def step(self, state, tokens):
        s, annotations, keys, src_mask = state
        e = self.dropout(self.tgt_embedding(tokens))
        c, _ = self._attend(s, annotations, keys, src_mask)
        logits = self._output(s, e, c)
        return logits, (self.cell(torch.cat([e, c], -1), s), annotations, keys, src_mask)

"""The picture of Bahdanau et al. (2015), Figure 3: for a few sentences, the attention weights a_ij of each output
subword (rows) over the source subwords (columns) while the model writes its own greedy translation."""
from __future__ import annotations

from pathlib import Path


def draw_alignments(model, tokenizer, examples: list[tuple[list[int], list[int]]], path: Path) -> Path:
    """`examples`: (source ids with <eos>, anything) pairs; `model.attention_weights(src, tgt_in)` gives
    (B, T, S). Writes the PNG."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import torch
    from matplotlib.figure import Figure

    from modeling.baselines.decoding import greedy_decode
    from modeling.baselines.seq2seq import BOS, EOS

    from .translation_data import pad_rows

    def name(i: int) -> str:
        return "</s>" if i == EOS else tokenizer.id_to_token(i)  # the tokenizer calls it [SEP]

    was_training = model.training
    model.eval()
    pictures = []
    with torch.no_grad():
        for source, _ in examples:
            src = pad_rows([source])
            output = greedy_decode(model, src)[0] + [EOS]
            weights = model.attention_weights(src, torch.tensor([[BOS] + output[:-1]]))[0].float().numpy()
            pictures.append((weights, [name(i) for i in source], [name(i) for i in output]))
    model.train(was_training)
    width = max(len(s) for _, s, _ in pictures)
    fig = Figure(figsize=(max(5.0, 0.4 * width) * len(pictures), 0.4 * max(len(t) for *_, t in pictures) + 2),
                 layout="constrained")
    for axis, (weights, source, output) in zip(fig.subplots(1, len(pictures), squeeze=False)[0], pictures):
        axis.imshow(weights, cmap="gray", vmin=0, vmax=1, aspect="equal")
        axis.set_xticks(range(len(source)), source, rotation=70, ha="right", fontsize=8)
        axis.set_yticks(range(len(output)), output, fontsize=8)
        axis.xaxis.tick_top()
    fig.suptitle("attention a_ij of each output subword (rows) over the source (columns); white = 1", fontsize=10)
    fig.savefig(path, dpi=100)
    return path

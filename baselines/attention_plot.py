"""The picture of Lin et al. (2017), §2.3, for a few sentences: above, the r attention rows summed and normalised to
sum to 1 (what the embedding as a whole reads, the paper's Figure 1); below, each row of A over the words."""
from __future__ import annotations

from pathlib import Path


def draw_attention(model, sentences: list, words: list[list[str]], path: Path) -> Path:
    """`sentences`: id sequences, `words`: their tokens; `model.encode(ids, mask)` gives (H, A). Writes the PNG."""
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import torch
    from matplotlib.figure import Figure

    from .text_cnn import collate

    batch = collate(sentences, [0] * len(sentences))
    device = next(model.parameters()).device
    was_training = model.training
    with torch.no_grad():
        _, attention = model.eval().encode(batch["input_ids"].to(device), batch["attention_mask"].to(device))
    model.train(was_training)
    attention = attention.float().cpu().numpy()
    rows = attention.shape[1]
    fig = Figure(figsize=(max(6.0, 0.45 * max(map(len, words))), (1.2 + 0.3 * rows) * len(words)),
                 layout="constrained")
    axes = fig.subplots(2 * len(words), 1, squeeze=False, height_ratios=[1, rows] * len(words))[:, 0]
    for k, tokens in enumerate(words):
        a = attention[k, :, :len(tokens)]
        summed, per_row = axes[2 * k], axes[2 * k + 1]
        summed.imshow((a.sum(0) / a.sum())[None], cmap="Reds", aspect="auto", vmin=0, vmax=1)
        summed.set_xticks([])
        summed.set_yticks([0], ["sum"])
        per_row.imshow(a, cmap="Reds", aspect="auto", vmin=0, vmax=1)
        per_row.set_yticks(range(rows), [str(i + 1) for i in range(rows)], fontsize=6)
        per_row.set_xticks(range(len(tokens)), tokens, rotation=60, ha="right", fontsize=8)
    fig.suptitle("attention A over dev sentences: the rows summed and normalised (top strip), then each row "
                 "(colour 0 to 1)", fontsize=10)
    fig.savefig(path, dpi=100)
    return path

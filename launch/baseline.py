"""Train the classic baselines with the shared engine: `alba baseline NAME [--flags]` or
`python launch/baseline.py NAME [--flags]`; `alba baseline NAME --help` lists every option with its default.

Each baseline is one entry of BASELINES: a name and its fire command.
"""
from __future__ import annotations

if __name__ == "__main__":
    import _bootstrap  # noqa: F401  (must run before the alba imports)

from launch.baseline_memn2n import memn2n
from launch.baseline_rnn_lm import rnn_lm
from launch.baseline_text_cnn import text_cnn
from launch.baseline_word2vec import word2vec

# name -> fire command; a new baseline is one more entry.
BASELINES = {"memn2n": memn2n, "rnn_lm": rnn_lm, "word2vec": word2vec, "text_cnn": text_cnn}
baseline_commands = BASELINES

if __name__ == "__main__":
    import fire
    fire.Fire(BASELINES, name="baseline")

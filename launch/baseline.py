"""Train the classic baselines with the shared engine: `alba baseline NAME [--flags]` or
`python launch/baseline.py NAME [--flags]`; `alba baseline NAME --help` lists every option with its default.
"""
from __future__ import annotations

if __name__ == "__main__":
    import _bootstrap  # noqa: F401  (must run before the alba imports)

from baselines import dcnn, glove, memn2n, memnn, nplm, rnn_lm, self_attentive, seq2seq, text_cnn, tfidf, word2vec
from pretrain.command import config_command, run_fire, with_subcommands

# name -> (config class, title, run); a new baseline is one more entry.
BASELINES = {"dcnn": (dcnn.DcnnRunConfig, dcnn.TITLE, dcnn.run),
             "glove": (glove.GloveRunConfig, glove.TITLE, glove.run),
             "memn2n": (memn2n.MemN2NRunConfig, memn2n.TITLE, memn2n.run),
             "memnn": (memnn.MemNNRunConfig, memnn.TITLE, memnn.run),
             "nplm": (nplm.NplmRunConfig, nplm.TITLE, nplm.run),
             "rnn_lm": (rnn_lm.RnnLmRunConfig, rnn_lm.TITLE, rnn_lm.run),
             "word2vec": (word2vec.Word2VecRunConfig, word2vec.TITLE, word2vec.run),
             "text_cnn": (text_cnn.TextCnnRunConfig, text_cnn.TITLE, text_cnn.run),
             "tfidf": (tfidf.TfidfRunConfig, tfidf.TITLE, tfidf.run),
             "self_attentive": (self_attentive.SelfAttentiveRunConfig, self_attentive.TITLE, self_attentive.run),
             "seq2seq": (seq2seq.Seq2SeqRunConfig, seq2seq.TITLE, seq2seq.run)}
baseline_commands = {name: config_command(name, title, config, run) for name, (config, title, run) in BASELINES.items()}

baseline_commands["seq2seq"] = with_subcommands("alba baseline seq2seq", baseline_commands["seq2seq"],
                                                {"translate": seq2seq.translate})

if __name__ == "__main__":
    run_fire(baseline_commands, "baseline")

"""Data commands: `python launch/data.py corpus|tokenizer|build|inspect …` or `alba data …`."""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401

from data_pipeline.commands import build, corpus, inspect, tokenizer
from pretrain.command import guarded, run_fire

data_commands = {"corpus": guarded(corpus), "tokenizer": guarded(tokenizer), "build": guarded(build),
                 "inspect": guarded(inspect)}

if __name__ == "__main__":
    run_fire(data_commands, "data")

"""Pretrain BERT or ALBERT: `python launch/pretrain.py [--flags]`, also under torchrun, accelerate or deepspeed.

With no flags it pretrains a small ALBERT (MLM + SOP) on the embedded corpus of CPython's documentation.
`--help` lists every option with its default.
"""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401  (must run before the alba imports)

from pretrain.command import config_command, run_fire
from pretrain.config import RunConfig


def _run(cfg: RunConfig):
    from pretrain.pretraining import run_pretraining  # heavy imports only once the flags are valid
    run_pretraining(cfg)


pretrain = config_command("pretrain", "alba pretrain: pretrain BERT/ALBERT with MLM and SOP/NSP", RunConfig, _run)

if __name__ == "__main__":
    run_fire(pretrain, "pretrain")

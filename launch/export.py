"""Export an alba model as a Hugging Face `transformers` directory: `python launch/export.py CHECKPOINT OUT_DIR` or
`alba export CHECKPOINT OUT_DIR`."""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401

from pretrain.command import guarded, run_fire
from pretrain.export import export

export = guarded(export)

if __name__ == "__main__":
    run_fire(export, "export")

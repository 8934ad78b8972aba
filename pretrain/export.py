"""`alba export`: a pretraining run (or one of its checkpoints) as a Hugging Face `transformers` directory."""
from __future__ import annotations

from pathlib import Path

from modeling import ConfigError, to_hf

from .checkpoint import TRAINER_STATE
from .model_card import pretraining_facts, read_json, write_model_card


def export(checkpoint: str, out_dir: str, tokenizer: str = ""):
    """Write config.json, model.safetensors and the tokenizer files that `transformers`' AutoModelForPreTraining
    and AutoTokenizer load, without alba installed. Models transformers cannot express are refused.

    Args:
        checkpoint: a pretraining output directory, or one of its checkpoints/step-N directories
        out_dir: the directory to create (must not exist or be empty)
        tokenizer: directory or tokenizer.json to include (default: the checkpoint's own, else its run's)
    """
    source = Path(checkpoint)
    latest = source / "checkpoints" / "latest"
    if not (source / "model.safetensors").is_file() and latest.is_file():
        raise ConfigError(f"{source} has no final model yet (the run has not finished); export one of its "
                          f"checkpoints, e.g. {latest.parent / latest.read_text().strip()}")
    if not tokenizer:
        # A run keeps its tokenizer at the top, next to checkpoints/step-N.
        run_dir = source.parent.parent if source.parent.name == "checkpoints" else source
        tokenizer = next((str(d) for d in (source, run_dir) if (d / "tokenizer.json").is_file()), "")
    architecture = to_hf(source, out_dir, tokenizer=tokenizer or None)
    at_checkpoint = source.parent.name == "checkpoints"
    run_dir = source.parent.parent if at_checkpoint else source
    step = read_json(source / TRAINER_STATE).get("step") if at_checkpoint else None
    write_model_card(Path(out_dir), f"{architecture} pretrained with alba" + (f" (step {step})" if step else ""),
                     pretraining_facts(run_dir, step), "AutoModelForPreTraining")
    print(f"wrote {architecture} to {out_dir}" + ("" if tokenizer else " (no tokenizer found; pass --tokenizer)"))

"""The README.md written with every exported model: what it is, what it was trained on and how long, how it scored
on held-out data, and how to load it, from the run's own records (run_config.json, summary.json, results.json)."""
from __future__ import annotations

import json
from pathlib import Path

from .rundir import RUN_CONFIG


def read_json(path: Path) -> dict:
    """A run record, or {} where the run left none (an export from a bare model directory)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def architecture_line(config: dict, family: str) -> str:
    """One line on the model from its transformers config.json."""
    parts = [f"{family}, {config['num_hidden_layers']} layers", f"hidden size {config['hidden_size']}",
             f"{config['num_attention_heads']} attention heads", f"vocabulary {config['vocab_size']}",
             f"up to {config['max_position_embeddings']} tokens"]
    if config.get("embedding_size", config["hidden_size"]) != config["hidden_size"]:
        parts.insert(2, f"embedding size {config['embedding_size']}")
    if family == "ALBERT":
        parts.append(f"{config.get('num_hidden_groups', 1)} shared layer group(s)")
    return ", ".join(parts)


def write_model_card(out: Path, title: str, facts: list[tuple[str, str]], auto_class: str) -> None:
    """`facts`: (name, value) rows of the card's table; `auto_class`: the transformers Auto class that loads it."""
    config = read_json(out / "config.json")
    family = "BERT" if config.get("model_type") == "bert" else "ALBERT"
    rows = [("Architecture", architecture_line(config, family)), *facts]
    lines = [f"# {title}", "", "Exported by alba as a Hugging Face `transformers` model.", "",
             "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows if v), "", "## How to load", "",
             "```python", f"from transformers import {auto_class}, AutoTokenizer", "",
             f'model = {auto_class}.from_pretrained("{out.name}")',
             f'tokenizer = AutoTokenizer.from_pretrained("{out.name}")', "```", ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def pretraining_facts(run_dir: Path, step: int | None = None) -> list[tuple[str, str]]:
    """The corpus, the training and the held-out results of a pretraining run directory; for one of its checkpoints
    (at `step`), the training up to there (the held-out results are the final model's)."""
    run = read_json(run_dir / RUN_CONFIG)
    summary = read_json(run_dir / "summary.json") if step is None else {"steps": step}
    facts = []
    if run:
        facts.append(("Corpus", f"`{run['corpus']}`, tokenizer {run['tokenizer']} ({run['vocab_size']} tokens)"))
        facts.append(("Objectives", f"masked LM ({run['masking']} masking, {run['mask_prob']:g}) + "
                                    f"{run['sentence_task'].upper()}" if run["sentence_task"] != "none"
                      else f"masked LM ({run['masking']} masking)"))
        facts.append(("Training", f"{summary.get('steps', run['max_steps'])} steps of {run['batch_size']} sequences "
                                  f"of {run['max_seq_length']} tokens, {run['optimizer']} at lr {run['lr']:g}"))
    if "eval/mlm_accuracy" in summary:
        held_out = f"MLM accuracy {summary['eval/mlm_accuracy']:.4f}"
        if "eval/sentence_accuracy" in summary:
            held_out += f", {run.get('sentence_task', 'sentence').upper()} accuracy {summary['eval/sentence_accuracy']:.4f}"
        facts.append(("Held out", held_out + (f" (loss {summary['eval/loss']:.4f})" if "eval/loss" in summary else "")))
    return facts


def finetuning_facts(run_dir: Path) -> list[tuple[str, str]]:
    """The task, the starting model, the fine-tuning and the best epoch's dev results of a fine-tuning run."""
    run, results = read_json(run_dir / RUN_CONFIG), read_json(run_dir / "results.json")
    if not run:
        return []
    task = results.get("task") or ("SQuAD" if "version" in run else run.get("task", ""))
    facts = [("Task", task), ("Started from", f"`{run['model']}`"),
             ("Fine-tuning", f"{run['epochs']} epoch(s), batch {run['batch_size']}, lr {run['lr']:g}, "
                             f"{run['max_seq_length']} tokens")]
    if results.get("metrics"):
        facts.append(("Dev (best epoch " + str(results.get("best_epoch")) + ")",
                      ", ".join(f"{k} {v:.4f}" for k, v in results["metrics"].items())))
    return facts

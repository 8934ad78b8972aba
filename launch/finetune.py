"""Fine-tune: `python launch/finetune.py glue --task=sst2 --model=PATH --data_dir=DIR [--flags]` or `alba finetune glue …`.

`--model` is an alba pretraining run, a transformers BERT/ALBERT directory or a preset name (random init);
`--task=all` runs the nine GLUE tasks and prints one results row per task with the average. `--help` lists every
option with its default.
"""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401  (must run before the alba imports)

from finetune.config import FinetuneConfig, SquadConfig
from launch.command import config_command, guarded


def _run_glue(cfg: FinetuneConfig):
    from finetune.runner import run_glue  # heavy imports only once the flags are valid
    run_glue(cfg)


def _run_squad(cfg):
    from finetune.squad_runner import run_squad
    run_squad(cfg)


def _run_swag(cfg):
    from finetune.swag import run_swag
    run_swag(cfg)


def export(model: str, out: str):
    """Write a model fine-tuned here (e.g. OUTPUT/best) as a transformers Bert/Albert*For* directory with its tokenizer.

    Args:
        model: the fine-tuned model's directory (holding head.json)
        out: the directory to write (must not exist or be empty)
    """
    from pathlib import Path

    from modeling.task_heads import HEAD_NAME, TASK_MODELS, export_to_transformers
    from pretrain.config import ConfigError
    head_file = Path(model) / HEAD_NAME
    if not head_file.is_file():
        raise ConfigError(f"{model} holds no {HEAD_NAME}: not a model fine-tuned with alba")
    import json
    kind = json.loads(head_file.read_text(encoding="utf-8")).get("head")
    if kind not in TASK_MODELS:
        raise ConfigError(f"{head_file}: unknown head {kind!r}; known: {', '.join(TASK_MODELS)}")
    name = export_to_transformers(TASK_MODELS[kind].from_pretrained(model), out, tokenizer_dir=model)
    print(f"wrote {name} to {out}")


finetune_commands = {
    "glue": config_command("glue", "alba finetune glue: fine-tune a BERT/ALBERT checkpoint on a GLUE task",
                           FinetuneConfig, _run_glue),
    "squad": config_command("squad", "alba finetune squad: fine-tune a BERT/ALBERT checkpoint on SQuAD v1.1/v2.0 "
                            "(--train_file, --dev_file: official JSON)", SquadConfig, _run_squad),
    "swag": config_command("swag", "alba finetune swag: multiple choice (SWAG CSV: --train_file, --dev_file)",
                           FinetuneConfig, _run_swag),
    "export": guarded(export),
}

if __name__ == "__main__":
    import fire
    fire.Fire(finetune_commands, name="finetune")

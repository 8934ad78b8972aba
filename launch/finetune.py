"""Fine-tune: `python launch/finetune.py glue --task=sst2 --model=PATH --data_dir=DIR [--flags]` or `alba finetune glue …`.

`--model` is an alba pretraining run, a transformers BERT/ALBERT directory or a preset name (random init);
`--task=all` runs the nine GLUE tasks and prints one results row per task with the average. `--help` lists every
option with its default.
"""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401  (must run before the alba imports)

from finetune.config import FinetuneConfig, SquadConfig, SwagConfig
from finetune.export import export
from finetune.runner import run_glue
from finetune.squad_runner import run_squad
from finetune.swag import run_swag
from pretrain.command import config_command, guarded, run_fire

finetune_commands = {
    "glue": config_command("glue", "alba finetune glue: fine-tune a BERT/ALBERT checkpoint on a GLUE task",
                           FinetuneConfig, run_glue),
    "squad": config_command("squad", "alba finetune squad: fine-tune a BERT/ALBERT checkpoint on SQuAD v1.1/v2.0 "
                            "(--train_file, --dev_file: official JSON)", SquadConfig, run_squad),
    "swag": config_command("swag", "alba finetune swag: multiple choice (SWAG CSV: --train_file, --dev_file)",
                           SwagConfig, run_swag),
    "export": guarded(export),
}

if __name__ == "__main__":
    run_fire(finetune_commands, "finetune")

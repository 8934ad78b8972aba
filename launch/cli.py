"""The `alba` console command: `alba pretrain …`, `alba finetune …`, `alba data …`, `alba plot …`, `alba predict …`, the same functions as the launch/*.py scripts."""
from launch.baseline import baseline_commands
from launch.data import data_commands
from launch.finetune import finetune_commands
from launch.export import export
from launch.plot import plot
from launch.predict import predict
from launch.pretrain import pretrain
from pretrain.command import run_fire


COMMANDS = {"pretrain": pretrain, "data": data_commands, "plot": plot, "predict": predict, "export": export,
            "baseline": baseline_commands, "finetune": finetune_commands}


def main():
    run_fire(COMMANDS, "alba")


if __name__ == "__main__":
    main()

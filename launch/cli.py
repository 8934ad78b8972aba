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
GROUPS = {"data": "corpora, tokenizers and token stores; inspect training pairs",
          "baseline": "the classic models (word2vec, text CNNs, RNN LMs, memory networks) on the same engine",
          "finetune": "GLUE, SQuAD and SWAG from a pretrained or transformers model; export the result"}


def main():
    run_fire(COMMANDS, "alba", GROUPS)


if __name__ == "__main__":
    main()

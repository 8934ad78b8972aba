"""Ask a pretrained model: `alba predict RUN_DIR "text with [MASK]"` or `alba predict RUN_DIR "A." "B."`."""
if __name__ == "__main__":
    import _bootstrap  # noqa: F401

from pretrain.command import guarded, run_fire


@guarded
def predict(model: str, text: str, second: str = ""):
    """Print the model's top 3 guesses for each [MASK] in `text`, or, given a second sentence, the probability its
    sentence head gives to the pair in the order given and swapped (SOP: "in this order"; NSP: "B follows A").

    Args:
        model: a pretraining run directory (model and tokenizer.json), or a transformers BERT/ALBERT directory
        text: a sentence with one or more [MASK] tokens, or the first sentence of a pair
        second: the second sentence of a pair (default: none, guess the masks of `text`)
    """
    from pretrain.predict import predict as run
    print(run(model, text, second))


if __name__ == "__main__":
    run_fire(predict, "predict")

"""What the sentence-classification baselines (text_cnn, tfidf, dcnn) share: the task's options, its labelled files,
and training with an evaluation after every epoch."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pretrain.config import ConfigError, RunOptions, option
from pretrain.job import Training, run_training


@dataclass
class SentenceTaskOptions(RunOptions):
    data_dir: str = option("", "folder of the task's TSV files (the GLUE layout), e.g. glue/SST-2 (required)",
                           group="data")
    task: str = option("sst2", "single-sentence GLUE task whose columns and labels the files have", ("sst2", "cola"),
                       "data")
    train_file: str = option("train.tsv", "training TSV inside data_dir", group="data")
    eval_file: str = option("dev.tsv", "evaluation TSV inside data_dir (with labels)", group="data")


def positive_ints(cfg, name: str) -> tuple[int, ...]:
    """A comma-list option (e.g. --filter_widths=3,4,5) as positive integers."""
    try:
        values = tuple(int(v) for v in str(getattr(cfg, name)).split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise ConfigError(f"--{name}={getattr(cfg, name)!r} must be positive integers separated by commas")
    return values


def labelled_rows(cfg: SentenceTaskOptions):
    """The task and its training and evaluation rows as (text, label), both files read and checked (a bad row
    names file and line) before anything is written."""
    from data_pipeline import DataError
    from data_pipeline.glue import get_task, read_glue_file

    if not cfg.data_dir:
        raise ConfigError("--data_dir is required: a folder holding the task's train/dev TSV files")
    task, root = get_task(cfg.task), Path(cfg.data_dir)
    if not root.is_dir():
        raise ConfigError(f"--data_dir {root} is not a directory")
    rows = {}
    for name, file in (("train", cfg.train_file), ("eval", cfg.eval_file)):
        examples = read_glue_file(root / file, task)
        if not examples or any(e.label is None for e in examples):
            raise DataError(f"{root / file}: {'no examples' if not examples else 'no label column'}; "
                            f"training and evaluation need labelled rows")
        rows[name] = [(e.text_a, e.label) for e in examples]
    return task, rows


def fit_classifier(cfg: SentenceTaskOptions, out: Path, checkpoint: Path | None, model, optimizer, scheduler,
                   batch, sizes: dict[str, int], describe: str, results: dict, grad_clip: float = 0.0,
                   finished=None) -> dict:
    """Train `model` through the engine, evaluating on the evaluation file after every epoch and at the end (printed
    each time), save it to `out`, and return the results (`results` + the final accuracy and loss, + what
    `finished(engine, final_metrics)` returns, if given). `batch(split, indices)` is the model's input for those rows
    of 'train' or 'eval'; `sizes` their row counts."""
    from pretrain.sampler import GlobalBatchSampler

    steps_per_epoch = sizes["train"] // cfg.batch_size

    def batches(epoch: int, start: int):
        sampler = GlobalBatchSampler(sizes["train"], cfg.batch_size, cfg.seed)
        sampler.set_epoch(epoch, start)
        for indices in sampler:
            yield batch("train", indices)

    def evaluate(engine, state) -> dict:
        n = sizes["eval"]
        metrics = engine.evaluate(batch("eval", list(range(i, min(i + 500, n)))) for i in range(0, n, 500))
        print(f"[alba] step {state.step}: {cfg.eval_file} accuracy {100 * metrics['label_accuracy']:.2f}%", flush=True)
        return metrics

    def finish(engine, state):
        final = evaluate(engine, state)
        engine.unwrapped.save_pretrained(out)
        return ({f"eval/{k}": v for k, v in final.items()},
                {**results, "eval_accuracy": final["label_accuracy"], "eval_loss": final["loss"],
                 **(finished(engine, final) if finished else {})})

    training = Training(model, optimizer, scheduler, cfg.epochs * steps_per_epoch, batches,
                        f"{describe}, {steps_per_epoch} steps per epoch", evaluate, eval_every=steps_per_epoch,
                        grad_clip=grad_clip)
    return run_training(cfg, out, checkpoint, training, finish)

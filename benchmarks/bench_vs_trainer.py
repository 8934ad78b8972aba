"""alba against what users would pick instead: transformers' `Trainer` with `DataCollatorForLanguageModeling`, on the
same MLM pretraining, in one run: the same model configuration, corpus slice, tokenizer, sequences, masking (15%,
80/10/10), batch, AdamW, warmup and linear decay, clipping and number of steps. Both are evaluated on the same
masked held-out batches (alba's, fixed by the seed) every `--eval_every` steps; the report gives each one's training
wall time (evaluation excluded) and tokens/s to reach the same held-out MLM loss, the worse of the two final ones.

    python benchmarks/bench_vs_trainer.py [--corpus ../shared/data/imdb/unsup.txt] [--corpus_format lines]
        [--clean_html] [--docs 4000] [--model bert-tiny] [--vocab_size 8192] [--seq 128] [--batch 32]
        [--steps 1500] [--eval_every 150] [--lr 1e-3] [--threads 2] [--out runs/vs_trainer] [--json OUT]

The sequences are alba's (`--sentence_task=none` instances: [CLS] chunk [SEP], remade each epoch); transformers
reads them in the same order and masks them with its own collator.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _parse() -> argparse.Namespace:
    imdb = ROOT.parent / "shared" / "data" / "imdb" / "unsup.txt"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", default=str(imdb))
    p.add_argument("--corpus_format", default="lines")
    p.add_argument("--clean_html", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--docs", type=int, default=4000, help="documents of the corpus used (the first N)")
    p.add_argument("--model", default="bert-tiny")
    p.add_argument("--vocab_size", type=int, default=8192)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--eval_every", type=int, default=150)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=float, default=0.06)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="runs/vs_trainer", help="working folder (replaced)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    return p.parse_args()


def _prepare(args, out: Path) -> Path:
    """The corpus slice in the reference format, and its tokenizer, shared by both runs."""
    from data_pipeline import save_tokenizer, train_tokenizer
    from data_pipeline.corpus import iter_documents
    docs = list(itertools.islice(iter_documents(args.corpus, fmt=args.corpus_format, clean_html=args.clean_html,
                                                progress=False), args.docs))
    corpus = out / "corpus.txt"
    corpus.write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    save_tokenizer(train_tokenizer(docs, vocab_size=args.vocab_size, progress=False), out / "tokenizer")
    return corpus


def _alba_config(args, corpus: Path, out: Path):
    from pretrain.config import RunConfig
    return RunConfig(corpus=str(corpus), tokenizer=str(out / "tokenizer"), model=args.model, sentence_task="none",
                     masking="token", max_seq_length=args.seq, max_predictions=args.seq, eval_fraction=0.05,
                     batch_size=args.batch, max_steps=args.steps, lr=args.lr, warmup=args.warmup,
                     schedule="linear", optimizer="adamw", seed=args.seed, eval_every=args.eval_every,
                     log_every=args.eval_every, save_every=0, wandb="disabled", progress=False,
                     output_dir=str(out / "alba"), overwrite=True)


def run_alba(cfg) -> list[dict]:
    """(step, train seconds, held-out MLM loss) at every evaluation, from the run's metrics.jsonl."""
    from pretrain.pretraining import run_pretraining
    summary = run_pretraining(cfg)
    rows = [json.loads(line) for line in (Path(cfg.output_dir) / "metrics.jsonl").read_text().splitlines()]
    seconds = {r["step"]: r["train/train_seconds"] for r in rows if "train/train_seconds" in r}
    curve = [{"step": r["step"], "seconds": seconds[r["step"]], "loss": r["eval/mlm_loss"]}
             for r in rows if "eval/mlm_loss" in r and r["step"] in seconds]
    curve[-1]["tokens"] = summary["train_tokens"]
    return curve


def run_trainer(args, cfg, out: Path) -> list[dict]:
    import torch
    from transformers import (BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling,
                              PreTrainedTokenizerFast, Trainer, TrainerCallback, TrainingArguments)

    from data_pipeline import (SpecialTokens, create_instances, load_corpus, load_tokenizer, tokenize_corpus,
                               word_continuation_ids)
    from modeling import AlbaForPreTraining, ModelConfig
    from modeling.hf_export import hf_config_dict
    from pretrain.pretraining import PretrainingData, split_documents

    tok = load_tokenizer(out / "tokenizer")
    special = SpecialTokens.from_tokenizer(tok)
    train_docs, eval_docs = split_documents(load_corpus(cfg.corpus, progress=False), cfg.eval_fraction, cfg.seed)
    train_ids, eval_ids = tokenize_corpus(tok, train_docs, False), tokenize_corpus(tok, eval_docs, False)
    data = PretrainingData(cfg, train_ids, eval_ids, special, tok.get_vocab_size(), word_continuation_ids(tok), 0, 1)
    eval_batches = list(data.eval_batches())
    alba_model = AlbaForPreTraining(ModelConfig.from_preset(cfg.model, vocab_size=tok.get_vocab_size(),
                                                            sentence_head="none"))
    hf_config = {k: v for k, v in hf_config_dict(alba_model, "bert").items() if k != "architectures"}
    torch.manual_seed(cfg.seed)
    model = BertForMaskedLM(BertConfig(**hf_config))

    class Sequences(torch.utils.data.IterableDataset):
        def __iter__(self):
            for epoch in itertools.count():
                for inst in create_instances(train_ids, max_seq_length=cfg.max_seq_length, task="none",
                                             short_seq_prob=cfg.short_seq_prob, seed=cfg.seed, epoch=epoch):
                    ids = [special.cls, *inst.tokens_a, special.sep]
                    yield {"input_ids": ids, "special_tokens_mask": [1] + [0] * len(inst.tokens_a) + [1]}

    hf_tok = PreTrainedTokenizerFast(tokenizer_file=str(out / "tokenizer" / "tokenizer.json"), pad_token="[PAD]",
                                     unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    collator = DataCollatorForLanguageModeling(hf_tok, mlm_probability=cfg.mask_prob)
    curve, clock = [], {"paused": 0.0, "start": 0.0, "tokens": 0}

    def count_tokens(features):
        batch = collator(features)
        clock["tokens"] += int(batch["attention_mask"].sum())
        return batch

    @torch.no_grad()
    def held_out_loss() -> float:
        model.eval()
        total, count = 0.0, 0
        for b in eval_batches:
            logits = model(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"],
                           attention_mask=b["attention_mask"]).logits
            labels = b["mlm_labels"]
            total += float(torch.nn.functional.cross_entropy(logits[labels != -100], labels[labels != -100],
                                                             reduction="sum"))
            count += int((labels != -100).sum())
        model.train()
        return total / count

    class EvalEvery(TrainerCallback):
        def on_train_begin(self, *a, **k):
            clock["start"] = time.perf_counter()

        def on_step_end(self, _, state, *a, **k):
            if state.global_step % args.eval_every == 0 or state.global_step == args.steps:
                now = time.perf_counter()
                curve.append({"step": state.global_step, "seconds": now - clock["start"] - clock["paused"],
                              "loss": held_out_loss()})
                clock["paused"] += time.perf_counter() - now

    training_args = TrainingArguments(
        output_dir=str(out / "trainer"), per_device_train_batch_size=args.batch, max_steps=args.steps,
        learning_rate=args.lr, warmup_steps=cfg.warmup_steps(cfg.max_steps), lr_scheduler_type="linear", weight_decay=cfg.weight_decay,
        adam_epsilon=cfg.adam_eps, max_grad_norm=cfg.grad_clip, save_strategy="no", eval_strategy="no",
        logging_strategy="no", report_to=[], use_cpu=True, seed=cfg.seed, disable_tqdm=True,
        dataloader_num_workers=0)
    Trainer(model=model, args=training_args, train_dataset=Sequences(), data_collator=count_tokens,
            callbacks=[EvalEvery()]).train()
    curve[-1]["tokens"] = clock["tokens"]
    return curve


def time_to(curve: list[dict], target: float) -> float:
    """Training seconds at which the held-out loss first reaches `target`, interpolated between evaluations."""
    previous = {"seconds": 0.0, "loss": float("inf")}
    for point in curve:
        if point["loss"] <= target:
            if previous["loss"] == float("inf"):
                return point["seconds"]
            share = (previous["loss"] - target) / (previous["loss"] - point["loss"])
            return previous["seconds"] + share * (point["seconds"] - previous["seconds"])
        previous = point
    return float("nan")


def main() -> None:
    args = _parse()
    import torch
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    corpus = _prepare(args, out)
    cfg = _alba_config(args, corpus, out)
    alba = run_alba(cfg)
    trainer = run_trainer(args, _alba_config(args, corpus, out), out)
    target = max(alba[-1]["loss"], trainer[-1]["loss"])
    result = {"args": vars(args), "target_loss": target, "alba": alba, "trainer": trainer}
    for name, curve in (("alba", alba), ("trainer", trainer)):
        result[name + "_seconds_to_target"] = time_to(curve, target)
        result[name + "_tokens_per_s"] = curve[-1]["tokens"] / curve[-1]["seconds"]
    ratio = result["trainer_seconds_to_target"] / result["alba_seconds_to_target"]
    result["speedup_to_same_loss"] = ratio
    print(f"\n{args.model}, seq {args.seq}, batch {args.batch}, {args.steps} steps, lr {args.lr:g}, "
          f"{args.threads} threads; held-out MLM loss target {target:.4f} (the worse final loss)")
    print("| | final held-out MLM loss | train seconds to target | tokens/s |\n|---|---|---|---|")
    for name, curve in (("alba", alba), ("transformers Trainer", trainer)):
        key = "alba" if name == "alba" else "trainer"
        print(f"| {name} | {curve[-1]['loss']:.4f} | {result[key + '_seconds_to_target']:.1f} | "
              f"{result[key + '_tokens_per_s']:,.0f} |")
    print(f"alba reaches the same held-out loss {ratio:.2f}x faster")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

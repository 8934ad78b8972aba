"""The pretraining job: corpus → tokenizer → NSP/SOP instances with dynamic masking → model → engine → held-out
evaluation and a summary. Everything is decided by one RunConfig."""
from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from data_pipeline import (PretrainingCollator, PretrainingDataset, SpecialTokens, TokenDocs, create_instances,
                           load_corpus, load_tokenizer, save_tokenizer, tokenize_corpus, train_tokenizer,
                           word_continuation_ids)
from data_pipeline.store import TokenStore, is_store
from modeling import AlbaForPreTraining, ModelConfig, load_model
from modeling.flops import pretraining_flops
from modeling.pretraining import IGNORE_INDEX

from .config import ConfigError, RunConfig
from .engine import Engine, summarize
from .checkpoint import TRAINER_STATE, TrainState
from .job import Training, create_run_dir, launch_accelerator, run_training
from .metrics import device_name, peak_flops, wilson_interval
from .optim import build_optimizer, build_scheduler
from .predict import format_examples, held_out_examples
from .rundir import check_output_dir
from .sampler import GlobalBatchSampler

EVAL_BATCH = 128


TRAINABLE = ("wordpiece", "unigram")


def split_documents(docs, eval_fraction: float, seed: int):
    """Hold out whole documents (so no evaluation pair shares text with training), chosen by a seeded shuffle.
    `docs`: a list, or TokenDocs (split into two memory-mapped subsets)."""
    n_eval = int(round(len(docs) * eval_fraction)) if eval_fraction else 0
    if eval_fraction and (n_eval < 2 or len(docs) - n_eval < 2):
        raise ConfigError(f"the corpus has {len(docs)} documents: too few to hold out --eval_fraction="
                          f"{eval_fraction} and still train")
    held = np.zeros(len(docs), dtype=bool)
    held[np.random.default_rng([seed, 7919]).permutation(len(docs))[:n_eval]] = True
    train, held_out = np.flatnonzero(~held), np.flatnonzero(held)
    if isinstance(docs, TokenDocs):
        return docs.subset(train), docs.subset(held_out)
    return [docs[i] for i in train], [docs[i] for i in held_out]


def _build_tokenizer(cfg: RunConfig, train_docs, main: bool):
    if cfg.init_from:  # the starting model's own: a run keeps it beside checkpoints/step-N
        path = Path(cfg.init_from)
        found = next((d for d in (path, path.parent.parent) if (d / "tokenizer.json").is_file()), None)
        if found is None:
            raise ConfigError(f"--init_from {path} holds no tokenizer.json (nor does its run directory)")
        return load_tokenizer(found)
    if cfg.tokenizer in TRAINABLE:
        return train_tokenizer(train_docs, vocab_size=cfg.vocab_size, kind=cfg.tokenizer, lowercase=cfg.lowercase,
                               progress=cfg.progress and main)
    path = Path(cfg.tokenizer)
    if not path.exists():
        raise ConfigError(f"--tokenizer {cfg.tokenizer!r} is neither 'wordpiece', 'unigram' nor an existing path")
    return load_tokenizer(path)


def _model_config(cfg: RunConfig, vocab_size: int, max_seq_length: int, start=None) -> ModelConfig:
    """The preset with the tokenizer's vocabulary, or the starting model's architecture (`start`, --init_from)."""
    if start is None:
        mcfg = ModelConfig.from_preset(cfg.model, vocab_size=vocab_size, sentence_head=cfg.sentence_task,
                                       **cfg.model_overrides)
    else:
        mcfg = ModelConfig.from_dict({**start.config.to_dict(), "sentence_head": cfg.sentence_task,
                                      **cfg.model_overrides})
    if mcfg.max_position_embeddings < max_seq_length:
        raise ConfigError(f"--max_seq_length {max_seq_length} exceeds the model's max_position_embeddings "
                          f"{mcfg.max_position_embeddings}")
    if mcfg.vocab_size < vocab_size:
        raise ConfigError(f"the model's vocab_size {mcfg.vocab_size} is smaller than the tokenizer's {vocab_size}")
    return mcfg


def _load_start(model: AlbaForPreTraining, start: AlbaForPreTraining, source: str) -> str:
    """Copy the starting model's weights into `model`; only a sentence head (and its pooler) that the start lacks
    or trained for the other task keeps its fresh weights. Returns what was kept fresh, for the log."""
    weights = start.state_dict()
    if start.config.sentence_head != model.config.sentence_head:
        weights = {k: v for k, v in weights.items() if not k.startswith("sentence_classifier.")}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    fresh = ("sentence_classifier.", "alba.pooler.")
    wrong = [k for k in missing if not k.startswith(fresh)] + [k for k in unexpected if not k.startswith(fresh)]
    if wrong:
        raise ConfigError(f"--init_from {source} does not fit the model it configures: {wrong[:5]}")
    return ", ".join(sorted({k.rsplit(".", 2)[0] for k in missing})) or "nothing"


class PretrainingData:
    """Training instances are recreated for every epoch (new pairs, new masks); evaluation is fixed."""

    def __init__(self, cfg: RunConfig, train_ids: TokenDocs, eval_ids: TokenDocs, special: SpecialTokens,
                 vocab_size: int, continuation: set[int], rank: int, world: int):
        self.cfg, self.train_ids, self.rank, self.world = cfg, train_ids, rank, world
        make = lambda seed, micro_batches: PretrainingCollator(  # noqa: E731
            special, vocab_size, mask_prob=cfg.mask_prob, max_predictions=cfg.max_predictions, masking=cfg.masking,
            seed=seed, continuation_ids=continuation, static=cfg.static_masking, pack=cfg.pack_pairs,
            pad_to=cfg.max_seq_length if cfg.pack_pairs else None, micro_batches=micro_batches)
        # Packed rows are packed per micro-batch, so that accumulation sees the same pairs as without packing.
        self.collator = make(cfg.seed, cfg.grad_accum_steps)
        self.eval_collator = make(cfg.seed + 1, 1)
        self.eval_instances = (create_instances(eval_ids, max_seq_length=cfg.max_seq_length,
                                                short_seq_prob=cfg.short_seq_prob, task=cfg.sentence_task,
                                                seed=cfg.seed + 1, epoch=0) if eval_ids else [])

    @lru_cache(maxsize=1)
    def train_instances(self, epoch: int):
        return create_instances(self.train_ids, max_seq_length=self.cfg.max_seq_length,
                                short_seq_prob=self.cfg.short_seq_prob, task=self.cfg.sentence_task,
                                seed=self.cfg.seed, epoch=epoch)

    def batches(self, epoch: int, start_batch: int):
        instances = self.train_instances(0 if self.cfg.static_masking else epoch)
        sampler = GlobalBatchSampler(len(instances), self.cfg.batch_size, self.cfg.seed, self.rank, self.world)
        sampler.set_epoch(epoch, start_batch)
        self.collator.set_epoch(epoch)
        return DataLoader(PretrainingDataset(instances), batch_sampler=sampler, collate_fn=self._collate,
                          num_workers=self.cfg.num_workers)

    def eval_batches(self):
        shard = PretrainingDataset(self.eval_instances)
        idx = list(range(self.rank, len(shard), self.world))
        for i in range(0, len(idx), EVAL_BATCH):
            yield self._collate([shard[j] for j in idx[i:i + EVAL_BATCH]], self.eval_collator)

    def _collate(self, items, collator=None):
        batch = (collator or self.collator)(items)
        if self.cfg.sentence_task == "none":
            batch.pop("sentence_labels", None)
        return batch


def target_counts(batch: dict) -> dict[str, torch.Tensor]:
    """How many MLM and sentence targets a batch holds: the engine weights each loss part by its share, so a step's
    gradient does not depend on how the global batch is split over processes and micro-batches."""
    counts = {"mlm": (batch["mlm_labels"] != IGNORE_INDEX).sum()}
    if "sentence_labels" in batch:
        counts["sentence"] = (batch["sentence_labels"] != IGNORE_INDEX).sum()
    return counts


def evaluate(engine: Engine, data: PretrainingData, baseline_token: int) -> dict:
    """Held-out loss and accuracies (summed counts over all processes), the SOP/NSP 95% interval and the
    unigram-frequency baseline of MLM accuracy (always guessing `baseline_token`)."""
    def baseline(batch: dict) -> dict:
        labels = batch["mlm_labels"]
        return {"mlm_baseline_correct": (labels == baseline_token).sum(),
                "mlm_baseline_total": (labels != IGNORE_INDEX).sum()}

    sums, batches = engine.evaluate_sums(data.eval_batches(), baseline)
    result = summarize(sums, batches)
    n, k = int(sums.get("sentence_total", 0)), int(sums.get("sentence_correct", 0))
    if n:
        result["sentence_ci_low"], result["sentence_ci_high"] = wilson_interval(k, n)
        result["sentence_n"] = n
    result["mlm_n"] = int(sums.get("mlm_total", 0))
    return result


def phase_scheduler(optimizer, pcfg: RunConfig):
    """A fresh warmup + decay over the phase's own steps, peaking at its lr."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = pcfg.lr
    return build_scheduler(optimizer, pcfg.warmup_steps(pcfg.max_steps), pcfg.max_steps, pcfg.schedule, pcfg.decay_power,
                           pcfg.end_lr_ratio, pcfg.decay_start)


def train_phases(engine: Engine, phases: list[RunConfig], make_data, state: TrainState, optimizer, evaluate,
                 say) -> TrainState:
    """Run the phases from `state.phase` on; each switches the data (sequence length, batch) and the schedule, not
    the code. The engine checkpoints at the end of every phase, so a resume can start at any phase boundary."""
    end = sum(p.max_steps for p in phases[:state.phase + 1])
    while True:
        pcfg = phases[state.phase]
        if len(phases) > 1:
            say(f"[alba] phase {state.phase + 1}/{len(phases)}: steps {end - pcfg.max_steps}-{end}, "
                f"seq {pcfg.max_seq_length}, batch {pcfg.batch_size}, lr {pcfg.lr:g}")
        engine.max_steps, engine.grad_accum = end, pcfg.grad_accum_steps
        state = engine.fit(make_data(pcfg).batches, state, evaluate=evaluate)
        if state.step < end or state.phase == len(phases) - 1:  # stopped early, or done
            return state
        state.phase, state.epoch, state.batch_in_epoch = state.phase + 1, 0, 0
        engine.scheduler = phase_scheduler(optimizer, phases[state.phase])
        end += phases[state.phase].max_steps


def _accelerator(cfg: RunConfig):
    """The Accelerator of the run (with DeepSpeed when configured), once every phase's batch is known to split."""
    phases = cfg.phase_configs()
    if cfg.deepspeed_config and any((p.batch_size, p.grad_accum_steps) != (cfg.batch_size, cfg.grad_accum_steps)
                                    for p in phases):
        raise ConfigError("--deepspeed_config fixes the batch size and accumulation for the whole run; phases "
                          "that change batch_size or grad_accum_steps need DDP (no --deepspeed_config)")
    return launch_accelerator(cfg, [(p.batch_size, p.grad_accum_steps) for p in phases])


def _tokenized_corpus(cfg: RunConfig, resumed: bool, main: bool):
    """The tokenizer (a resumed run's own) and the training and held-out documents as token ids."""
    if is_store(cfg.corpus):  # already tokenized: the store's tokenizer, or a given one that must be the same
        store = TokenStore(cfg.corpus)
        tokenizer = (load_tokenizer(Path(cfg.output_dir)) if resumed else
                     store.tokenizer() if cfg.tokenizer in TRAINABLE and not cfg.init_from else
                     _build_tokenizer(cfg, [], main))
        train_ids, eval_ids = split_documents(TokenStore(cfg.corpus, tokenizer).documents(), cfg.eval_fraction,
                                              cfg.seed)
        return tokenizer, train_ids, eval_ids
    docs = load_corpus(cfg.corpus, encoding_errors=cfg.encoding_errors, progress=cfg.progress and main,
                       fmt=cfg.corpus_format, text_field=cfg.text_field, clean_html=cfg.clean_html)
    train_docs, eval_docs = split_documents(docs, cfg.eval_fraction, cfg.seed)
    tokenizer = load_tokenizer(Path(cfg.output_dir)) if resumed else _build_tokenizer(cfg, train_docs, main)
    train_ids = TokenDocs.from_lists(tokenize_corpus(tokenizer, train_docs, progress=cfg.progress and main))
    eval_ids = TokenDocs.from_lists(tokenize_corpus(tokenizer, eval_docs, progress=False))
    return tokenizer, train_ids, eval_ids


def _optimizing(cfg: RunConfig, mcfg: ModelConfig, start, resume_from: Path | None, say):
    """The model (from --init_from's weights for a new run), its optimizer and the schedule of the phase the run
    is in (a checkpoint's scheduler belongs to the phase it was written in)."""
    torch.manual_seed(cfg.seed)
    model = AlbaForPreTraining(mcfg)
    if start is not None and not resume_from:  # a resumed run's checkpoint holds the weights
        say(f"[alba] weights from {cfg.init_from} (fresh: {_load_start(model, start, cfg.init_from)})")
    optimizer = build_optimizer(model, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.adam_eps, cfg.shard_optimizer,
                                bias_correction=cfg.lamb_bias_correction, trust_all=cfg.lamb_trust_all,
                                max_trust_ratio=cfg.lamb_max_trust_ratio or None)
    phase = TrainState.from_file(resume_from / TRAINER_STATE).phase if resume_from else 0
    return model, optimizer, phase_scheduler(optimizer, cfg.phase_configs()[phase])


def run_pretraining(cfg: RunConfig) -> dict:
    started = time.perf_counter()
    resume_from = check_output_dir(cfg)
    acc = _accelerator(cfg)
    main = acc.is_main_process
    say = print if main else (lambda *a, **k: None)
    say(f"[alba] corpus: {cfg.corpus}")
    tokenizer, train_ids, eval_ids = _tokenized_corpus(cfg, resume_from is not None, main)
    special = SpecialTokens.from_tokenizer(tokenizer)
    vocab_size = tokenizer.get_vocab_size()
    phases = cfg.phase_configs()
    start = load_model(cfg.init_from) if cfg.init_from else None
    mcfg = _model_config(cfg, vocab_size, max(p.max_seq_length for p in phases), start)
    continuation = word_continuation_ids(tokenizer)
    make_data = lambda pcfg: PretrainingData(pcfg, train_ids, eval_ids, special, vocab_size,  # noqa: E731
                                             continuation, acc.process_index, acc.num_processes)
    data = make_data(phases[-1])  # the evaluation set: pairs of the final phase's length
    n_sent = train_ids.num_sentences() + eval_ids.num_sentences()
    say(f"[alba] {len(train_ids) + len(eval_ids)} documents, {n_sent} sentences; {len(train_ids)} train / "
        f"{len(eval_ids)} held out; {train_ids.num_tokens()} training tokens; vocabulary {vocab_size}; "
        f"{len(data.eval_instances)} evaluation pairs")
    model, optimizer, scheduler = _optimizing(cfg, mcfg, start, resume_from, say)
    # Everything that can fail on bad input has run: only now is the output directory touched.
    out = create_run_dir(cfg)
    if main and not resume_from:
        save_tokenizer(tokenizer, out)
    acc.wait_for_everyone()

    def resumed(state: TrainState):
        if state.step > cfg.max_steps:
            raise ConfigError(f"--max_steps={cfg.max_steps} is below the step of {resume_from} ({state.step}); a "
                              "resumed run may only be extended")
        _follow_schedule(optimizer, scheduler)
        say(f"[alba] resuming from {resume_from} at step {state.step} of {cfg.max_steps}")

    baseline = int(train_ids.token_counts(vocab_size).argmax())  # the unigram baseline's one guess

    def finish(engine: Engine, state: TrainState):
        results = evaluate(engine, data, baseline) if data.eval_instances else {}
        metrics = {f"eval/{k}": v for k, v in results.items()}
        summary = {**metrics, "steps": state.step, "skipped_steps": state.skipped_steps,
                   "train_seconds": state.train_seconds, "train_tokens": state.tokens,
                   "tokens_per_s": state.tokens / max(state.train_seconds, 1e-9),
                   "wall_seconds": time.perf_counter() - started, "output_dir": str(out)}
        weights = engine.model_state_dict()  # a collective under ZeRO-3
        if main:
            _report(engine, weights, summary, cfg, tokenizer, eval_ids)
        return metrics, summary

    flops = lambda b: pretraining_flops(mcfg, *b["input_ids"].shape,  # noqa: E731
                                        int((b["mlm_labels"] != IGNORE_INDEX).sum()))
    training = Training(model, optimizer, scheduler, cfg.max_steps, None,
                        f"model {cfg.model}: {model.num_parameters() / 1e6:.2f}M parameters; output {out}",
                        lambda engine, state: evaluate(engine, data, baseline), cfg.eval_every, cfg.grad_clip,
                        cfg.grad_accum_steps, resumed=resumed, results_file="summary.json",
                        fit=lambda engine, state, evaluate: train_phases(engine, phases, make_data, state, optimizer,
                                                                          evaluate, say),
                        engine_options=dict(max_minutes=cfg.max_minutes, target_counts=target_counts,
                                            flops_per_batch=flops,
                                            peak_flops=peak_flops(device_name(acc.device), cfg.precision)))
    return run_training(cfg, out, resume_from, training, finish, accelerator=acc)


def _follow_schedule(optimizer, scheduler):
    """The next step's lr from the schedule as configured now: the value the checkpoint holds, unless --resume
    extended --max_steps, which stretches the decay from here on."""
    for group, base, factor in zip(optimizer.param_groups, scheduler.base_lrs, scheduler.lr_lambdas):
        group["lr"] = base * factor(scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]  # what get_last_lr() reports


def _report(engine: Engine, weights, summary: dict, cfg: RunConfig, tokenizer, eval_ids):
    """The main process saves the final model and prints the summary, with held-out examples a person reads."""
    out = Path(cfg.output_dir)
    engine.tracker.summary(summary)
    engine.unwrapped.save_pretrained(out, weights)
    if eval_ids:  # read back from what was saved: the model a user loads, on the CPU
        summary["examples"] = held_out_examples(load_model(out), tokenizer, eval_ids, cfg.sentence_task, cfg.seed)
    print(format_summary(summary, cfg.sentence_task))
    if "examples" in summary:
        print(format_examples(summary["examples"], cfg.sentence_task))


def format_summary(s: dict, task: str) -> str:
    rows = []
    if "eval/mlm_accuracy" in s:
        rows.append(("held-out MLM accuracy", f"{s['eval/mlm_accuracy']:.4f}  (unigram-frequency baseline "
                     f"{s['eval/mlm_baseline_accuracy']:.4f}, n={s['eval/mlm_n']})"))
    if "eval/sentence_accuracy" in s:
        rows.append((f"held-out {task.upper()} accuracy", f"{s['eval/sentence_accuracy']:.4f}  (95% CI "
                     f"{s['eval/sentence_ci_low']:.4f}-{s['eval/sentence_ci_high']:.4f}, n={s['eval/sentence_n']}; "
                     f"chance 0.5)"))
    if "eval/loss" in s:
        rows.append(("held-out loss", f"{s['eval/loss']:.4f}"))
    m, sec = divmod(int(s["wall_seconds"]), 60)
    skipped = s.get("skipped_steps", 0)
    steps = str(s["steps"]) + (f"  ({skipped} more skipped: non-finite gradient)" if skipped else "")
    rows += [("training steps", steps), ("train tokens/s", f"{s['tokens_per_s']:,.0f}"),
             ("wall time", f"{m}m{sec:02d}s"), ("checkpoint", s["output_dir"])]
    width = max(len(r[0]) for r in rows)
    lines = ["", "alba pretraining summary", "-" * 24] + [f"{k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)

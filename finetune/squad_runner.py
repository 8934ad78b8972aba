"""Fine-tune on SQuAD v1.1/v2.0 with the shared engine: windows over long contexts, the QA head, n-best span search,
official EM/F1 on dev after every epoch (best epoch kept), predictions in the official JSON format ({id: text}); for
v2.0 also the null-score threshold that maximises dev F1 and the scores at it."""
from __future__ import annotations

import json

import numpy as np
import torch

from data_pipeline import DataError
from modeling.task_heads import AlbaForQuestionAnswering
from pretrain.job import create_run_dir
from pretrain.rundir import check_output_dir

from .config import SquadConfig
from .squad import read_squad, squad_scores
from .squad_features import best_answers, build_features
from .grid import run_grid
from .job import FinetuneTask, Scored, chunks, run_finetuning, say


def _collate(features, pad_id: int, with_targets: bool) -> dict[str, torch.Tensor]:
    length = max(len(f.input_ids) for f in features)
    batch = {name: torch.zeros((len(features), length), dtype=torch.long)
             for name in ("input_ids", "token_type_ids", "attention_mask")}
    batch["input_ids"].fill_(pad_id)
    for row, f in enumerate(features):
        n = len(f.input_ids)
        batch["input_ids"][row, :n] = torch.tensor(f.input_ids)
        batch["token_type_ids"][row, :n] = torch.tensor(f.token_type_ids)
        batch["attention_mask"][row, :n] = 1
    if with_targets:
        batch["start_positions"] = torch.tensor([f.start_position for f in features])
        batch["end_positions"] = torch.tensor([f.end_position for f in features])
    return batch


def _logits(predict, features, pad_id: int):
    starts, ends = [], []
    for chunk, out in zip(chunks(features), predict(_collate(c, pad_id, False) for c in chunks(features))):
        for row, f in enumerate(chunk):
            starts.append(out.start_logits[row, :len(f.input_ids)].float().cpu().numpy())
            ends.append(out.end_logits[row, :len(f.input_ids)].float().cpu().numpy())
    return starts, ends


def best_null_threshold(questions, span_answers: dict[str, str], null_diff: dict[str, float]) -> tuple[float, dict]:
    """The threshold on (null score - best span score) above which the empty answer is given, chosen to maximise
    F1 on these questions; candidates are the observed differences (and +inf: never empty)."""
    candidates = sorted({*null_diff.values(), np.inf})
    best = (-1.0, np.inf, {})
    for t in candidates:
        answers = {q: ("" if null_diff[q] > t else a) for q, a in span_answers.items()}
        scores = squad_scores(questions, answers, version=2)
        if scores["f1"] > best[0]:
            best = (scores["f1"], t, scores)
    return best[1], best[2]


def run_squad(cfg: SquadConfig) -> dict:
    if not cfg.grid:
        return _run(cfg, check_output_dir(cfg))
    check_output_dir(cfg, need_checkpoint=False)  # each point keeps its own checkpoints
    summary = run_grid(cfg, create_run_dir(cfg), _run, lambda metrics: metrics.get("best_f1", metrics["f1"]))
    say(f"\nalba SQuAD grid: best setting {summary['setting']}, median of {summary['seeds']} seed(s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in summary["metrics"].items()))
    return summary


def _run(cfg: SquadConfig, checkpoint) -> dict:
    train = read_squad(cfg.train_file) if cfg.do_train else None
    dev = read_squad(cfg.dev_file)
    for name, data in (("train", train), ("dev", dev)):
        if data is not None and data.bad_offsets:
            say(f"[alba] {name}: {len(data.bad_offsets)} answers whose answer_start does not point at their text "
                f"are not trained on, e.g. {data.bad_offsets[0]}")
    train_q = train.questions[:cfg.max_train_examples or None] if train else []
    dev_q = dev.questions[:cfg.max_eval_examples or None]
    for path, questions in ((cfg.train_file, train_q), (cfg.dev_file, dev_q)):
        unanswerable = next((q for q in questions if q.is_impossible or not q.answers), None)
        if cfg.version == 1 and unanswerable:
            raise DataError(f"{path}: question {unanswerable.qid} has no answer, which SQuAD v1.1 does not allow; "
                            "pass --version=2 for SQuAD 2.0")
    torch.manual_seed(cfg.seed)
    start = load_qa_model(cfg, train_q or dev_q)  # a preset's tokenizer learns from the training text
    tokenizer, pad_id = start.tokenizer, start.model.config.pad_token_id
    window = dict(max_seq_length=cfg.max_seq_length, doc_stride=cfg.doc_stride, max_query_length=cfg.max_query_length)
    dev_features = build_features(dev_q, tokenizer, **window)
    features = build_features(train_q, tokenizer, **window)

    def score(predict) -> Scored:
        starts, ends = _logits(predict, dev_features, pad_id)
        answers, null_diff = best_answers(dev_q, dev_features, starts, ends, cfg.n_best, cfg.max_answer_length)
        metrics = {k: v for k, v in squad_scores(dev_q, answers, cfg.version).items() if k in ("exact_match", "f1")}
        if cfg.version == 2:
            threshold, at_best = best_null_threshold(dev_q, answers, null_diff)
            answers = {q: ("" if null_diff[q] > threshold else a) for q, a in answers.items()}
            metrics = {"best_exact_match": at_best["exact_match"], "best_f1": at_best["f1"],
                       "null_threshold": threshold, **metrics}
        keep = lambda out: (out / "predictions.json").write_text(json.dumps(answers, indent=1) + "\n",  # noqa: E731
                                                                 encoding="utf-8")
        return Scored(metrics, metrics.get("best_f1", metrics["f1"]), keep)

    def report(best_predict) -> dict:
        return {"version": cfg.version, "train_questions": len(train_q), "dev_questions": len(dev_q),
                "dev_windows": len(dev_features),
                "bad_offsets": {"train": len(train.bad_offsets) if train else 0, "dev": len(dev.bad_offsets)}}

    describe = (f"squad v{cfg.version}: {len(train_q)} train questions ({len(features)} windows), {len(dev_q)} dev "
                f"({len(dev_features)}); model {cfg.model} ({start.source})")
    task = FinetuneTask("squad", start, len(features), lambda rows: _collate([features[i] for i in rows], pad_id, True),
                        score, describe, report, digits=2)
    result = run_finetuning(cfg, task, checkpoint)
    say(f"\nalba SQuAD v{'1.1' if cfg.version == 1 else '2.0'} dev results (n={len(dev_q)}, best epoch "
        f"{result['best_epoch']}): " + ", ".join(f"{k} {v:.2f}" for k, v in result["metrics"].items()))
    return result


def load_qa_model(cfg: SquadConfig, questions):
    from .starting_model import load_starting_model
    texts = lambda: sorted({q.context for q in questions}) + [q.question for q in questions]  # noqa: E731
    return load_starting_model(cfg, AlbaForQuestionAnswering, {"classifier_dropout": cfg.classifier_dropout}, texts)

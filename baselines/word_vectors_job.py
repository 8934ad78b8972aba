"""What the word-vector baselines (word2vec, GloVe) share: the benchmarks their vectors are scored on, and the end
of their run (score, export vectors.txt, print)."""
from __future__ import annotations

from pathlib import Path

from pretrain.job import run_training


def read_benchmarks(cfg) -> tuple[dict, dict]:
    """--similarity and --analogies, read and checked before the run writes anything: ({file name: pairs},
    {file name: analogy sections})."""
    from data_pipeline.word_benchmarks import read_analogies, read_word_pairs

    def paths(value: str) -> list[str]:
        return [p for p in value.split(",") if p]

    return ({Path(p).name: read_word_pairs(p) for p in paths(cfg.similarity)},
            {Path(p).name: read_analogies(p) for p in paths(cfg.analogies)})


def vectors_finish(model, words: list[str], benchmarks: tuple[dict, dict], out: Path, total_steps: int, speed):
    """The engine's finish callback: once every step is done, score the model's word vectors on the benchmarks
    (with speed(state), a dict of throughput figures, first) and write out/vectors.txt."""
    similarity, analogies = benchmarks

    def finish(engine, state):
        if state.step < total_steps:
            print(f"[alba] stopped at step {state.step} of {total_steps}; --resume continues from {out}")
            return None
        vectors = model.word_vectors(words)
        results = speed(state)
        for name, pairs in similarity.items():
            found = vectors.evaluate_similarity(pairs)
            results[f"{name}/spearman"], results[f"{name}/unknown_pairs"] = found["spearman"], found["unknown"]
        for name, sections in analogies.items():
            found = vectors.evaluate_analogies(sections)
            results[f"{name}/accuracy"], results[f"{name}/questions"] = found["total"], found["questions"]
        vectors.save_word2vec_format(out / "vectors.txt")
        return {f"eval/{k}": v for k, v in results.items()}, results

    return finish


def train_and_report(cfg, out: Path, checkpoint, training, finish) -> None:
    results = run_training(cfg, out, checkpoint, training, finish)
    if results is None:
        return
    for name, value in results.items():
        if name not in ("steps", "train_seconds"):
            print(f"[alba] {name}: {value:.4g}")
    print(f"[alba] vectors: {out / 'vectors.txt'}")

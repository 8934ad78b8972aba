"""`alba baseline glove` end to end: counts in shards on disk, trains through the shared engine, exports W + W~,
resumes mid-training to the same vectors as an uninterrupted run, and refuses bad input in one line."""
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from conftest import one_line_error, run_cli
from modeling.baselines.word_vectors import WordVectors

gensim = pytest.importorskip("gensim")
TEST_DATA = Path(gensim.__file__).parent / "test" / "test_data"
CORPUS = TEST_DATA / "lee_background.cor"  # 60k words


def glove(*args):
    return run_cli("-m", "launch.cli", "baseline", "glove", "--wandb=disabled", "--progress=False", *args)


@pytest.mark.slow
def test_resume_mid_training_gives_the_uninterrupted_vectors(tmp_path):
    # 21 steps an epoch in chunks of 13 and 8 batches: step 16 stops inside a chunk.
    common = [f"--corpus={CORPUS}", "--lowercase", "--epochs=2", "--window=5", "--dim=16", "--batch_size=8192",
              "--shuffle_chunk=100000", "--max_pairs_in_memory=200000", "--save_every=10", "--log_every=5",
              f"--similarity={TEST_DATA / 'wordsim353.tsv'}"]
    whole = glove(*common, f"--output_dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    results = json.loads((tmp_path / "whole" / "results.json").read_text())
    steps = results["steps"]
    assert results["shards"] >= 2 and "wordsim353.tsv/spearman" in results  # counted through shards on disk
    stopped = glove(*common, f"--output_dir={tmp_path / 'parts'}", "--stop_at_step=16")
    assert stopped.returncode == 0 and f"stopped at step 16 of {steps}" in stopped.stdout, stopped.stdout
    assert not (tmp_path / "parts" / "vectors.txt").exists()
    resumed = glove(*common, f"--output_dir={tmp_path / 'parts'}", "--resume")
    assert resumed.returncode == 0 and "resuming at step 16" in resumed.stdout, resumed.stderr
    assert (tmp_path / "parts" / "vectors.txt").read_bytes() == (tmp_path / "whole" / "vectors.txt").read_bytes()
    # The exported vectors are W + W~ of the final weights.
    weights = load_file(str(tmp_path / "whole" / "checkpoints" / f"step-{steps:08d}" / "model.safetensors"))
    exported = WordVectors.load_word2vec_format(tmp_path / "whole" / "vectors.txt")
    assert np.allclose(exported.vectors, weights["vectors"] + weights["context_vectors"], rtol=1e-6, atol=1e-7)
    losses = [json.loads(line).get("train/pair_loss") for line in
              (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    losses = [x for x in losses if x is not None]
    assert len(losses) >= 3 and losses[-1] < losses[0]


@pytest.mark.parametrize("content,message", [
    (None, "corpus file does not exist: {path}"),
    (b"", "{path}: the vocabulary is empty with min_count=1"),
    (b"fine words here\nbad \xff byte\n", "{path}: line 2 is not UTF-8"),
    (b"one\nword\nper\nline\n", "{path}: no two vocabulary words share a line"),
])
def test_bad_corpus_is_a_one_line_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    if content is not None:
        path.write_bytes(content)
    found = one_line_error(glove(f"--corpus={path}", "--min_count=1", f"--output_dir={tmp_path / 'run'}"))
    assert message.format(path=path) in found


def test_options_and_help():
    assert "--corpus is required" in one_line_error(glove())
    assert "--window must be at most 20" in one_line_error(glove(f"--corpus={CORPUS}", "--window=21"))
    assert "--adagrad='ada' is not one of glove, torch" in one_line_error(glove(f"--corpus={CORPUS}", "--adagrad=ada"))
    help_text = glove("--help").stdout
    assert "--max_pairs_in_memory" in help_text and "--x_max" in help_text

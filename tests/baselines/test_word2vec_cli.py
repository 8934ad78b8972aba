"""`alba baseline word2vec` end to end: trains through the shared engine, logs, exports vectors gensim can read,
resumes mid-training to the same vectors as an uninterrupted run, and refuses bad input in one line."""
import json
from pathlib import Path

import pytest

from conftest import one_line_error, run_cli

gensim = pytest.importorskip("gensim")
TEST_DATA = Path(gensim.__file__).parent / "test" / "test_data"
CORPUS = TEST_DATA / "lee_background.cor"  # 60k words


def word2vec(*args):
    return run_cli("-m", "launch.cli", "baseline", "word2vec", "--wandb=disabled", "--progress=False", *args)


@pytest.mark.slow
def test_resume_mid_training_gives_the_uninterrupted_vectors(tmp_path):
    common = [f"--corpus={CORPUS}", "--lowercase", "--epochs=2", "--words_per_batch=5000", "--save_every=4",
              "--log_every=2", "--objective=hierarchical", f"--similarity={TEST_DATA / 'wordsim353.tsv'}"]
    whole = word2vec(*common, f"--output_dir={tmp_path / 'whole'}")
    assert whole.returncode == 0, whole.stderr
    assert "wordsim353.tsv/spearman" in whole.stdout
    stopped = word2vec(*common, f"--output_dir={tmp_path / 'parts'}", "--stop_at_step=7")
    assert stopped.returncode == 0 and "stopped at step 7 of 20" in stopped.stdout, stopped.stdout + stopped.stderr
    assert not (tmp_path / "parts" / "vectors.txt").exists()
    resumed = word2vec(*common, f"--output_dir={tmp_path / 'parts'}", "--resume")
    assert resumed.returncode == 0 and "resuming at step 7" in resumed.stdout, resumed.stderr
    assert (tmp_path / "parts" / "vectors.txt").read_bytes() == (tmp_path / "whole" / "vectors.txt").read_bytes()
    logged = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["train/lr"] for r in logged if "train/lr" in r]
    assert len(lrs) == 10 and all(a > b for a, b in zip(lrs, lrs[1:]))  # the linear decay, logged every 2 steps
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(tmp_path / "whole" / "vectors.txt"))
    results = json.loads((tmp_path / "whole" / "results.json").read_text())
    assert kv.evaluate_word_pairs(str(TEST_DATA / "wordsim353.tsv"))[1][0] == pytest.approx(
        results["wordsim353.tsv/spearman"])


def test_empty_vocabulary_after_min_count_names_the_file(tmp_path):
    corpus = tmp_path / "small.txt"
    corpus.write_text("the cat sat\non the mat\n")
    message = one_line_error(word2vec(f"--corpus={corpus}", "--min_count=3", f"--output_dir={tmp_path / 'run'}"))
    assert f"{corpus}: the vocabulary is empty with min_count=3" in message
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_bad_evaluation_file_and_options_are_one_line_errors(tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("cat dog 3\ncat dog\n")
    message = one_line_error(word2vec(f"--corpus={CORPUS}", f"--similarity={pairs}", f"--output_dir={tmp_path / 'r'}"))
    assert f"{pairs}:2: expected 'word1 word2 score'" in message and not (tmp_path / "r").exists()
    assert "--architecture='skipgrams' is not one of skipgram, cbow" in one_line_error(
        word2vec(f"--corpus={CORPUS}", "--architecture=skipgrams"))
    assert "--corpus is required" in one_line_error(word2vec())
    help_text = word2vec("--help").stdout
    assert "--objective" in help_text and "--subsampling" in help_text

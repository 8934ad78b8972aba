"""`alba baseline seq2seq` end to end: a copy task learned completely (BLEU 100, every sentence exact) and
translated by `translate`; the Noam lr as logged; exact resume; each architecture saved and loaded back by its
arch; the Bahdanau picture; bad input as one line naming the file and line, with nothing written."""
import json
import random

import pytest

from baselines.translation_data import encode_pairs, token_batches
from conftest import assert_same_run, cut_back, metric_records, one_line_error, run_cli
from data_pipeline.parallel import read_parallel
from data_pipeline.tokenizer import load_tokenizer

FAST = ("--wandb=disabled", "--progress=False")
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet".split()
TINY = '{"d_model": 64, "d_ff": 128, "num_heads": 4, "encoder_layers": 2, "decoder_layers": 2, "dropout": 0.0, ' \
       '"label_smoothing": 0.0}'


def alba(*args):
    return run_cli("-m", "launch.cli", "baseline", "seq2seq", *args)


def copy_task(root, sizes=(("train", 800), ("val", 40), ("test", 40))):
    """Sentences of 3-6 words; the 'translation' is the same words in capitals (a joint vocabulary must learn to
    map each word to another token and keep the order)."""
    root.mkdir(exist_ok=True)
    for seed, (split, n) in enumerate(sizes):
        rng = random.Random(seed)
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6))) for _ in range(n)]
        (root / f"{split}.src").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / f"{split}.tgt").write_text("\n".join(s.upper() for s in lines) + "\n", encoding="utf-8")
    return root


def task_args(root, batch_tokens=1024):
    return [f"--data_dir={root}", "--source=src", "--target=tgt", "--test_split=test", "--vocab_size=80",
            "--max_minutes=0", f"--batch_tokens={batch_tokens}"]


def test_a_copy_task_is_learned_completely_and_translated(tmp_path):
    data, out = copy_task(tmp_path / "data"), tmp_path / "run"
    proc = alba(*task_args(data), "--epochs=100", "--warmup=100", "--lr=0.5", f"--model={TINY}",
                f"--output_dir={out}", "--log_every=10", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "results.json").read_text())
    references = (data / "test.tgt").read_text(encoding="utf-8").splitlines()
    assert (out / "test.greedy.tgt").read_text(encoding="utf-8").splitlines() == references
    assert result["test_bleu_greedy"] == pytest.approx(100)
    assert f"BLEU greedy {result['test_bleu_greedy']:.2f}, beam 5" in proc.stdout
    records = metric_records(out)
    assert sum("eval/perplexity" in r for r in records) == 99  # after every epoch but the last
    tokenizer = load_tokenizer(out)
    train = encode_pairs(tokenizer, read_parallel(data / "train.src", data / "train.tgt"))
    first = (token_batches(train, 1024, seed=0, epoch=0) + token_batches(train, 1024, seed=0, epoch=1))[:10]
    logged = next(r for r in records if r["step"] == 10 and "train/tokens" in r)
    assert logged["train/tokens"] == sum(len(train[i][0]) + len(train[i][1]) + 1 for b in first for i in b)
    for r in (r for r in records if "train/lr" in r):  # the rate of the step after the logged one
        step = r["step"] + 1
        assert r["train/lr"] == pytest.approx(0.5 * 64 ** -0.5 * min(step ** -0.5, step * 100 ** -1.5)), r
    translated = alba("translate", str(out), "golf echo alpha delta", "--beam=1")
    assert translated.returncode == 0, translated.stderr
    assert translated.stdout.strip().splitlines()[-1] == "GOLF ECHO ALPHA DELTA"


def test_resume_mid_epoch_gives_the_uninterrupted_run(tmp_path):
    """Weights, Adam's moments, the bucketed batch order, dropout draws and the Noam rate continue exactly."""
    data = copy_task(tmp_path / "data", (("train", 200), ("val", 20), ("test", 10)))
    model = TINY.replace('"dropout": 0.0', '"dropout": 0.2').replace('"label_smoothing": 0.0', '"label_smoothing": 0.1')
    args = [*task_args(data, batch_tokens=256), "--epochs=3", "--warmup=10", f"--model={model}", "--save_every=5",
            "--keep_checkpoints=50", "--log_every=2", "--beam=2", *FAST]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    proc = alba(*args, f"--output_dir={whole}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    per_epoch = json.loads((whole / "results.json").read_text())["steps"] // 3
    resume_at = ((per_epoch + per_epoch // 2) // 5) * 5
    assert per_epoch < resume_at < 2 * per_epoch
    cut_back(whole, cut, resume_at)
    resumed = alba(*args, f"--output_dir={cut}", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming at step {resume_at}" in resumed.stdout
    assert_same_run(whole, cut)
    assert (whole / "test.beam2.tgt").read_text() == (cut / "test.beam2.tgt").read_text()


@pytest.mark.parametrize("arch, model", [
    ("cho", '{"embedding_size": 16, "hidden_size": 16, "maxout_size": 8}'),
    ("sutskever", '{"embedding_size": 16, "hidden_size": 16}'),
    ("bahdanau", '{"embedding_size": 16, "hidden_size": 16, "attention_size": 8, "maxout_size": 8}'),
    ("convs2s", '{"embedding_size": 16, "channels": 16, "encoder_layers": 2, "decoder_layers": 2}'),
])
def test_each_architecture_trains_and_loads_back_by_its_arch(tmp_path, arch, model):
    from baselines.seq2seq import load_translator, model_class

    data, out = copy_task(tmp_path / "data", (("train", 60), ("val", 10), ("test", 5))), tmp_path / "run"
    proc = alba(*task_args(data), "--epochs=1", f"--arch={arch}", f"--model={model}", f"--output_dir={out}", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded, tokenizer = load_translator(out)
    assert type(loaded) is model_class(arch) and loaded.config.arch == arch
    assert loaded.config.reverse_source == (arch == "sutskever")  # the paper's default, kept in the config
    assert (out / "attention.png").is_file() == (arch in ("bahdanau", "convs2s"))
    if arch in ("bahdanau", "convs2s"):
        assert (out / "attention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def bad(tmp_path, name, content: bytes):
    data = copy_task(tmp_path / "data", (("train", 20), ("val", 5), ("test", 5)))
    (data / name).write_bytes(content)
    out = tmp_path / "run"
    message = one_line_error(alba(*task_args(data), "--epochs=1", f"--output_dir={out}", *FAST))
    assert not out.exists()  # nothing written
    return data, message


def test_misaligned_files_name_both_and_their_lengths(tmp_path):
    data, message = bad(tmp_path, "val.tgt", b"ONE\nTWO\n")
    assert f"{data / 'val.src'} has 5 lines but {data / 'val.tgt'} has 2" in message


def test_a_line_empty_on_one_side_is_named(tmp_path):
    data, message = bad(tmp_path, "test.src", b"a b\n\nc d\ne\nf\n")
    assert message.endswith(f"{data / 'test.src'}: line 2 is empty but line 2 of {data / 'test.tgt'} is not: the "
                            "files are misaligned")


def test_an_empty_file_is_named(tmp_path):
    data, message = bad(tmp_path, "train.tgt", b"\n\n")
    assert message.endswith(f"{data / 'train.tgt'}: the file holds no text")


def test_non_utf8_is_named_with_its_line(tmp_path):
    data, message = bad(tmp_path, "train.src", "a b\nc d\n".encode() + b"caf\xe9\n" + b"x\n" * 17)
    assert f"{data / 'train.src'}: line 3 is not UTF-8" in message


def test_a_missing_split_and_an_unknown_model_field(tmp_path):
    data = copy_task(tmp_path / "data", (("train", 20), ("val", 5), ("test", 5)))
    message = one_line_error(alba(*task_args(data), "--test_split=nope", f"--output_dir={tmp_path / 'a'}", *FAST))
    assert f"{data / 'nope.src'}" in message and "does not exist" in message
    message = one_line_error(alba(*task_args(data), '--model={"hiden_size": 3}', f"--output_dir={tmp_path / 'b'}",
                                  *FAST))
    assert "transformer has no field(s) hiden_size" in message and "d_model" in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_help_lists_the_options_and_translate():
    proc = alba("--help")
    assert proc.returncode == 0
    for text in ("--arch='transformer'", "--beam=5", "--max_minutes=30.0", "alba baseline seq2seq translate",
                 "--run_dir (required"):
        assert text in proc.stdout
    assert "or a subcommand: translate; got 'translat'" in one_line_error(alba("translat", "x"))


def test_translate_names_a_directory_that_is_not_a_run(tmp_path):
    assert f"{tmp_path} has no config.json" in one_line_error(alba("translate", str(tmp_path), "ein Hund"))
    assert "is empty" in one_line_error(alba("translate", str(tmp_path), " "))


def test_model_fields_are_typed_as_json_gives_them(tmp_path):
    """fire leaves JSON's false inside --model a string, which would switch reversal on; it is read as a bool, and a
    value of the wrong kind is one line."""
    from baselines.seq2seq import load_translator

    data, out = copy_task(tmp_path / "data", (("train", 60), ("val", 10), ("test", 5))), tmp_path / "run"
    model = '{"embedding_size": 16, "hidden_size": 16, "reverse_source": false}'
    proc = alba(*task_args(data), "--epochs=1", "--arch=sutskever", f"--model={model}", f"--output_dir={out}", *FAST)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert load_translator(out)[0].config.reverse_source is False
    assert json.loads((out / "run_config.json").read_text())["model"]["reverse_source"] is False
    message = one_line_error(alba(*task_args(data), "--arch=sutskever", '--model={"reverse_source": "maybe"}',
                                  f"--output_dir={tmp_path / 'bad'}", *FAST))
    assert "--model: --reverse_source expects bool, got 'maybe'" in message and not (tmp_path / "bad").exists()

"""The preprocessed token store: the same ids as tokenizing in memory, sharded, paired with its tokenizer, bounded
memory while building, and usable by `alba pretrain --corpus=STORE`."""
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BUDGET, ROOT, run_cli
from data_pipeline import (DataError, create_instances, embedded_corpus, load_corpus, save_tokenizer,
                           tokenize_corpus, train_tokenizer)
from data_pipeline.store import TokenStore, build_store, is_store


@pytest.fixture(scope="module")
def corpus_and_tokenizer(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    docs = embedded_corpus()[:300]
    text = root / "corpus.txt"
    text.write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    tok = train_tokenizer(docs, vocab_size=512, progress=False)
    save_tokenizer(tok, root / "tok")
    return text, tok, root


@pytest.mark.parametrize("num_proc", [1, 2])
def test_store_holds_the_ids_of_in_memory_tokenization(corpus_and_tokenizer, tmp_path, num_proc):
    text, tok, _ = corpus_and_tokenizer
    meta = build_store(text, tok, tmp_path / "store", num_proc=num_proc, shard_tokens=5_000, progress=False)
    expected = tokenize_corpus(tok, load_corpus(text, progress=False), progress=False)
    store = TokenStore(tmp_path / "store", tok)
    assert list(store.documents()) == expected
    # pairs planned over the memory-mapped shards are those of the same documents in memory, in the same order
    key = lambda instances: [(i.tokens_a, i.tokens_b, i.label) for i in instances]  # noqa: E731
    picked = [0, 3, 4, 100, 101, 250, len(expected) - 1]
    for task in ("sop", "nsp"):
        assert key(create_instances(store.documents(), 64, task=task, seed=1)) == key(
            create_instances(expected, 64, task=task, seed=1))
        assert key(create_instances(store.documents().subset(picked), 64, task=task, seed=2)) == key(
            create_instances([expected[i] for i in picked], 64, task=task, seed=2))
    assert len(meta["shards"]) > 3 and meta["tokens"] == sum(len(s) for d in expected for s in d)
    assert meta["dtype"] == "uint16" and is_store(tmp_path / "store")


def test_store_refuses_another_tokenizer_and_damage(corpus_and_tokenizer, tmp_path):
    text, tok, _ = corpus_and_tokenizer
    build_store(text, tok, tmp_path / "store", progress=False)
    other = train_tokenizer(embedded_corpus()[300:400], vocab_size=400, progress=False)
    with pytest.raises(DataError, match="built with another tokenizer"):
        TokenStore(tmp_path / "store", other)
    with pytest.raises(DataError, match="exists"):
        build_store(text, tok, tmp_path / "store", progress=False)
    shard = next((tmp_path / "store").glob("*.tokens"))
    shard.write_bytes(shard.read_bytes()[:-2])
    with pytest.raises(DataError, match=r"damaged store .*\.tokens holds"):
        TokenStore(tmp_path / "store", tok)
    with pytest.raises(DataError, match="not a token store"):
        TokenStore(tmp_path)


def test_empty_corpus_is_an_error_and_leaves_nothing(corpus_and_tokenizer, tmp_path):
    _, tok, _ = corpus_and_tokenizer
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n  \n\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no text"):
        build_store(blank, tok, tmp_path / "store", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.txt"]


MEMORY_PROBE = """
import sys
from pathlib import Path
from data_pipeline import load_tokenizer
from data_pipeline.store import build_store
def kib(field):
    return next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field))
tokenizer = load_tokenizer(sys.argv[2])
before = kib("VmRSS:")
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
build_store(sys.argv[1], tokenizer, sys.argv[3], shard_tokens=1 << 20, progress=False)
print((kib("VmHWM:") - before) * 1024)
"""


@pytest.mark.slow
def test_building_needs_memory_independent_of_the_corpus_size(corpus_and_tokenizer, tmp_path):
    _, _, root = corpus_and_tokenizer
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to measure the peak resident set")
    budget = 6 << 20
    size = (24 << 20) if BUDGET == "ci" else (96 << 20)  # 4x (16x) the budget
    words = " ".join(" ".join(d) for d in embedded_corpus()[:300]).split()
    rng = random.Random(0)
    big = tmp_path / "big.txt"
    with open(big, "w", encoding="utf-8") as f:
        while f.tell() < size:
            f.write("\n".join(" ".join(rng.choices(words, k=rng.randint(5, 30)))
                              for _ in range(rng.randint(2, 20))) + "\n\n")
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(big), str(root / "tok"), str(tmp_path / "s")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    peak = int(done.stdout.split()[-1])
    assert peak < budget, f"building a {size >> 20} MB corpus grew the process by {peak / 2**20:.1f} MB"
    meta = json.loads((tmp_path / "s" / "store.json").read_text())
    assert meta["tokens"] > size // 8 and len(meta["shards"]) > 1


@pytest.mark.slow
def test_pretraining_from_a_store_and_the_cli(corpus_and_tokenizer, tmp_path):
    text, _, root = corpus_and_tokenizer
    store = tmp_path / "store"
    done = run_cli("launch/data.py", "build", f"--corpus={text}", f"--tokenizer={root / 'tok'}", f"--out={store}",
                   "--progress=False")
    assert done.returncode == 0 and "300 documents" in done.stdout, done.stderr
    again = run_cli("launch/data.py", "build", f"--corpus={text}", f"--tokenizer={root / 'tok'}", f"--out={store}")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == f"alba: error: {store} exists; choose a new directory for the store"
    args = ["launch/pretrain.py", f"--corpus={store}", "--model=albert-test", "--max_seq_length=32",
            "--batch_size=8", "--max_steps=2", "--wandb=disabled", "--progress=False", "--save_every=0"]
    # The store holds sentences, not sequences: one store serves phases of two lengths, packed or not.
    phases = '[{"max_seq_length": 32, "max_steps": 2}, {"max_seq_length": 64, "max_steps": 1}]'
    run = run_cli(*args, f"--phases={phases}", "--pack_pairs", f"--output_dir={tmp_path / 'run'}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "vocabulary 512" in run.stdout and "phase 2/2: steps 2-3, seq 64" in run.stdout
    other = tmp_path / "other"
    save_tokenizer(train_tokenizer(embedded_corpus()[300:400], vocab_size=400, progress=False), other)
    bad = run_cli(*args, f"--tokenizer={other}", f"--output_dir={tmp_path / 'run2'}")
    assert bad.returncode == 2 and "built with another tokenizer" in bad.stderr
    assert not (tmp_path / "run2").exists()

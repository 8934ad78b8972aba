"""Tokenizer training gives the same tokenizer.json in any process (issue: runs differed through hash-map order)."""
import json
import os
import subprocess
import sys
import unicodedata

import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from conftest import ROOT
from data_pipeline import embedded_corpus, train_tokenizer
from data_pipeline.tokenizer import SPECIAL_TOKENS

_TRAIN = ("import sys; from data_pipeline import embedded_corpus, train_tokenizer; "
          "sys.stdout.write(train_tokenizer(embedded_corpus()[:400], vocab_size=1024, kind=sys.argv[1], "
          "progress=False).to_str())")


def _train_in_process(kind: str, hash_seed: str, threads: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "RAYON_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    proc = subprocess.run([sys.executable, "-c", _TRAIN, kind], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_same_tokenizer_in_processes_with_other_hash_seeds_and_threads(kind):
    first = _train_in_process(kind, "1", "1")
    second = _train_in_process(kind, "977", "2")
    assert json.loads(first)["model"]["vocab"], "trained an empty vocabulary"
    assert first == second


def test_wordpiece_vocabulary_is_the_one_tokenizers_trainer_learns():
    """The reference: tokenizers' own (non-deterministic) WordPiece trainer on the same corpus. They may differ only
    where equally frequent merges tie at the end of the vocabulary."""
    docs = embedded_corpus()[:400]
    ours = train_tokenizer(docs, vocab_size=1024, progress=False)
    reference = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    reference.normalizer = normalizers.BertNormalizer(lowercase=True)
    reference.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    reference.train_from_iterator([s for d in docs for s in d], trainers.WordPieceTrainer(
        vocab_size=1024, special_tokens=list(SPECIAL_TOKENS), continuing_subword_prefix="##", show_progress=False))
    a, b = set(ours.get_vocab()), set(reference.get_vocab())
    assert len(a) == len(b) == 1024
    assert len(a - b) <= 10, sorted(a - b)
    text = "Return the __repr__ of every dictionary's keys, sorted."
    assert ours.encode(text).tokens[1:-1] == reference.encode(text).tokens


def test_unigram_segments_as_sentencepiece_does():
    """The Unigram model is SentencePiece's, converted: its segmentation must equal SentencePiece's own."""
    spm = pytest.importorskip("sentencepiece")
    import io
    docs = embedded_corpus()[:400]
    ours = train_tokenizer(docs, vocab_size=1024, kind="unigram", progress=False)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([ours.normalizer.normalize_str(s) for d in docs for s in d]), model_writer=model,
        model_type="unigram", vocab_size=1024, hard_vocab_limit=False, character_coverage=1.0,
        normalization_rule_name="identity", num_threads=4, max_sentence_length=1 << 16, unk_piece="[UNK]",
        control_symbols=["[PAD]", "[CLS]", "[SEP]", "[MASK]"], bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2)
    reference = spm.SentencePieceProcessor(model_proto=model.getvalue())
    held_out = [s for d in embedded_corpus()[400:700] for s in d]
    differ = [s for s in held_out if ours.encode(s, add_special_tokens=False).tokens
              != reference.encode_as_pieces(ours.normalizer.normalize_str(s))]
    # The two libraries split whitespace differently before a lone combining mark (e.g. NFKC's ' \u0301'); nothing
    # else may differ.
    assert len(held_out) > 500
    assert all(any(unicodedata.combining(c) for c in ours.normalizer.normalize_str(s)) for s in differ), differ[:3]

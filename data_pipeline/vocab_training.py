"""Deterministic vocabulary training: the same corpus and options give the same vocabulary, ids and scores in any
process, whatever PYTHONHASHSEED, hash seeds or thread settings.

`tokenizers`' own trainers are not: its WordPiece trainer gives `##x` tokens ids in hash-map order and breaks ties
between equally frequent merges by those ids, and its Unigram trainer sums EM statistics in hash-map order. Here
WordPiece runs `tokenizers`' BPE trainer (the algorithm its WordPiece trainer wraps) over words rewritten in
canonical code points, one per (character, word-initial or not), assigned in sorted order: every id, and so every
tie-break, is then a function of the corpus alone. Unigram runs Google's SentencePiece trainer (the one ALBERT used)
with a fixed thread count, which fixes its summation order.
"""
from __future__ import annotations

import io
from collections import Counter
from typing import Iterable

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from tqdm import tqdm

from .errors import DataError

# Canonical code points: the supplementary private use planes 15 and 16, less their two noncharacters each.
_CODES = [c for plane in (0xF0000, 0x100000) for c in range(plane, plane + 0xFFFE)]
_REPEAT_CHUNK = 8192  # occurrences of one word per string handed to the BPE trainer
# SentencePiece's EM sums per-thread partial statistics, so its result depends on the thread count: fix it.
SENTENCEPIECE_THREADS = 4
_MAX_SENTENCE_BYTES = 1 << 16  # SentencePiece silently skips longer sentences (default 4192)


def count_words(sentences: Iterable[str], tokenizer: Tokenizer, total: int, progress: bool) -> Counter:
    """Occurrences of each word after `tokenizer`'s normalizer and pre-tokenizer."""
    normalize, split = tokenizer.normalizer.normalize_str, tokenizer.pre_tokenizer.pre_tokenize_str
    counts: Counter = Counter()
    for sentence in tqdm(sentences, total=total, desc="counting words", unit="sentence", disable=not progress):
        counts.update(word for word, _ in split(normalize(sentence)))
    return counts


def train_wordpiece_vocab(words: Counter, vocab_size: int, special_tokens: list[str], prefix: str,
                          progress: bool) -> dict[str, int]:
    """A WordPiece vocabulary (token -> id) learnt from word counts by BPE merges, as `tokenizers`' WordPiece
    trainer does: the special tokens first, then the alphabet (every character, and `prefix` + every character that
    occurs inside a word), then one token per merge until `vocab_size`."""
    chars = sorted({c for word in words for c in word})
    if 2 * len(chars) > len(_CODES):
        raise DataError(f"the corpus has {len(chars)} distinct characters; WordPiece training handles at most "
                        f"{len(_CODES) // 2}")
    initial = {c: chr(_CODES[i]) for i, c in enumerate(chars)}
    inside = {c: chr(_CODES[len(chars) + i]) for i, c in enumerate(chars)}
    decode = {v: c for c, v in initial.items()} | {v: prefix + c for c, v in inside.items()}

    def occurrences():
        for word, n in sorted(words.items()):
            coded = initial[word[0]] + "".join(inside[c] for c in word[1:])
            for start in range(0, n, _REPEAT_CHUNK):
                yield " ".join([coded] * min(_REPEAT_CHUNK, n - start))

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens,
                                  initial_alphabet=list(initial.values()), show_progress=progress)
    bpe.train_from_iterator(occurrences(), trainer=trainer)
    vocab: dict[str, int] = {}
    for token, _ in sorted(bpe.get_vocab().items(), key=lambda item: item[1]):
        if token in special_tokens:
            plain = token
        else:  # a merged token keeps its first part's kind: word-initial, or continuing (one prefix, in front)
            plain = decode[token[0]] + "".join(decode[c].removeprefix(prefix) for c in token[1:])
        vocab.setdefault(plain, len(vocab))
    return vocab


def train_unigram_vocab(sentences: Iterable[str], vocab_size: int, special_tokens: list[str], unk_token: str,
                        progress: bool) -> list[tuple[str, float]]:
    """A Unigram vocabulary (piece, log-probability score) trained by SentencePiece on already normalized sentences
    (whitespace marks word starts, as the Metaspace pre-tokenizer does); the special tokens come first, score 0."""
    import sentencepiece as spm
    if progress:
        print("[alba] training a Unigram vocabulary with SentencePiece", flush=True)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_writer=model, model_type="unigram", vocab_size=vocab_size,
            hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity",
            num_threads=SENTENCEPIECE_THREADS, max_sentence_length=_MAX_SENTENCE_BYTES, unk_piece=unk_token,
            control_symbols=[t for t in special_tokens if t != unk_token], bos_id=-1, eos_id=-1, pad_id=-1,
            minloglevel=2)
    except RuntimeError as e:  # SentencePiece reports a vocabulary too small for the alphabet this way
        raise DataError(f"vocab_size {vocab_size} is too small for this corpus: {str(e).splitlines()[-1]}") from None
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())
              if not (processor.is_control(i) or processor.is_unknown(i))]
    return [(t, 0.0) for t in special_tokens] + pieces

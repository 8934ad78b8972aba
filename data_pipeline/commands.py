"""The `alba data` commands (corpus, tokenizer, build, inspect): plain functions whose signatures and docstrings are
the command line and its help (`launch/data.py` registers them with fire)."""
from __future__ import annotations

from pathlib import Path

from .errors import DataError


def corpus(source: str = "embedded", out: str = "corpus.txt", encoding_errors: str = "strict",
           overwrite: bool = False, corpus_format: str = "auto", text_field: str = "text", clean_html: bool = False):
    """Write a corpus in the reference format (one sentence per line, a blank line between documents).

    Args:
        source: 'embedded', 'synthetic', or a text file, directory or glob (default 'embedded')
        out: the file to write (default 'corpus.txt')
        encoding_errors: 'strict' or 'skip' for non-UTF-8 input lines (default 'strict')
        overwrite: replace `out` if it exists (default False)
        corpus_format: 'auto', 'text', 'lines', 'jsonl' or 'parquet', as for `alba data build` (default 'auto')
        text_field: the field holding the text in JSON lines, Parquet and datasets (default 'text')
        clean_html: remove HTML markup (<br /> and block tags become paragraph breaks) (default False)
    """
    from data_pipeline import load_corpus
    target = Path(out)
    if target.exists() and not overwrite:
        raise DataError(f"{target} exists; pass --overwrite to replace it")
    docs = load_corpus(source, encoding_errors=encoding_errors, fmt=corpus_format, text_field=text_field,
                       clean_html=clean_html)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n\n".join("\n".join(doc) for doc in docs) + "\n")
    tmp.replace(target)
    print(f"wrote {len(docs)} documents, {sum(len(d) for d in docs)} sentences to {target}")


def tokenizer(source: str = "embedded", out: str = "tokenizer", kind: str = "wordpiece", vocab_size: int = 2048,
              lowercase: bool = True, corpus_format: str = "auto", text_field: str = "text", clean_html: bool = False,
              encoding_errors: str = "strict"):
    """Train a tokenizer on a corpus and save it as a directory that `transformers` loads.

    Args:
        source: 'embedded', 'synthetic', or a text file, directory or glob (default 'embedded')
        out: the directory to write (default 'tokenizer')
        kind: 'wordpiece' (BERT) or 'unigram' (ALBERT/SentencePiece style) (default 'wordpiece')
        vocab_size: vocabulary size (default 2048)
        lowercase: lower-case text first (default True)
        corpus_format: 'auto', 'text', 'lines', 'jsonl' or 'parquet', as for `alba data build` (default 'auto')
        text_field: the field holding the text in JSON lines, Parquet and datasets (default 'text')
        clean_html: remove HTML markup (<br /> and block tags become paragraph breaks) (default False)
        encoding_errors: 'strict' or 'skip' for non-UTF-8 input lines (default 'strict')
    """
    from data_pipeline import load_corpus, save_tokenizer, train_tokenizer
    docs = load_corpus(source, encoding_errors=encoding_errors, fmt=corpus_format, text_field=text_field,
                       clean_html=clean_html)
    tok = train_tokenizer(docs, vocab_size=vocab_size, kind=kind, lowercase=lowercase)
    save_tokenizer(tok, Path(out))
    print(f"saved a {kind} tokenizer of {tok.get_vocab_size()} tokens to {out}")


def build(corpus: str, tokenizer: str, out: str, num_proc: int = 1, shard_tokens: int = 1 << 28,
          encoding_errors: str = "strict", corpus_format: str = "auto", text_field: str = "text",
          clean_html: bool = False, progress: bool = True):
    """Tokenize text files into a memory-mapped token store that `alba pretrain --corpus=STORE` trains from.

    Args:
        corpus: a file, directory or glob (see corpus_format), or 'datasets:NAME[:SPLIT]'
        corpus_format: 'auto' (.jsonl/.json JSON lines, .parquet Parquet, else 'text': one sentence per line,
            blank line between documents), 'text', 'lines' (one document per line), 'jsonl' or 'parquet'
            (default 'auto')
        text_field: the field holding the text in JSON lines, Parquet and datasets (default 'text')
        tokenizer: a tokenizer directory or tokenizer.json (e.g. from `alba data tokenizer`)
        out: the store directory to create; it must not exist
        num_proc: tokenizing worker processes (default 1)
        shard_tokens: tokens per shard file; shards end at document boundaries (default 2**28)
        encoding_errors: 'strict' or 'skip' for non-UTF-8 input lines (default 'strict')
        clean_html: remove HTML markup (<br /> and block tags become paragraph breaks) (default False)
        progress: show progress bars (default True)
    """
    from data_pipeline import load_tokenizer
    from data_pipeline.store import build_store
    meta = build_store(corpus, load_tokenizer(Path(tokenizer)), out, num_proc=num_proc, shard_tokens=shard_tokens,
                       encoding_errors=encoding_errors, progress=progress, fmt=corpus_format, text_field=text_field,
                       clean_html=clean_html)
    print(f"wrote {meta['documents']} documents, {meta['sentences']} sentences, {meta['tokens']} tokens in "
          f"{len(meta['shards'])} shard(s) to {out}")


def inspect(source: str = "synthetic", tokenizer_path: str = "", task: str = "sop", max_seq_length: int = 64,
            count: int = 3, seed: int = 0, masking: str = "token", pack: bool = False):
    """Print decoded training pairs with their masks and labels, as the model will see them.

    Args:
        source: 'embedded', 'synthetic', a text file, directory or glob, or a token store (default 'synthetic')
        tokenizer_path: a tokenizer directory; empty trains a small WordPiece one on the corpus (default '')
        task: 'sop', 'nsp' or 'none' (default 'sop')
        max_seq_length: tokens per example (default 64)
        count: how many examples (default 3)
        seed: seed of pairing and masking (default 0)
        masking: 'token', 'wwm' or 'ngram' (default 'token')
        pack: pack the pairs into rows of max_seq_length, as --pack_pairs does; ' ‖ ' marks where a pair ends
            (default False)
    """
    from data_pipeline import (PretrainingCollator, PretrainingDataset, SpecialTokens, create_instances,
                               load_corpus, load_tokenizer, tokenize_corpus, train_tokenizer,
                               word_continuation_ids)
    from data_pipeline.store import TokenStore, is_store
    if is_store(source):
        tok = load_tokenizer(Path(tokenizer_path)) if tokenizer_path else TokenStore(source).tokenizer()
        ids = TokenStore(source, tok).documents()
    else:
        docs = load_corpus(source, progress=False)
        tok = load_tokenizer(Path(tokenizer_path)) if tokenizer_path else train_tokenizer(docs, vocab_size=1024,
                                                                                          progress=False)
        ids = tokenize_corpus(tok, docs, progress=False)
    instances = create_instances(ids, max_seq_length=max_seq_length, task=task, seed=seed)
    instances = [instances[i] for i in range(min(count, len(instances)))]
    collate = PretrainingCollator(SpecialTokens.from_tokenizer(tok), tok.get_vocab_size(), masking=masking,
                                  seed=seed, continuation_ids=word_continuation_ids(tok), pack=pack,
                                  pad_to=max_seq_length if pack else None)
    batch = collate([PretrainingDataset(instances)[i] for i in range(len(instances))])
    for row in range(len(batch["input_ids"])):
        n = int(batch["attention_mask"][row].sum())
        shown = []
        for pos in range(n):
            token = tok.id_to_token(int(batch["input_ids"][row, pos]))
            label = int(batch["mlm_labels"][row, pos])
            if pack and pos and batch["pack_ids"][row, pos] != batch["pack_ids"][row, pos - 1]:
                shown.append("‖")
            shown.append(f"{token}<{tok.id_to_token(label)}>" if label != -100 else token)
        labels = batch["sentence_labels"][row]
        if pack:
            labels = labels[labels != -100].tolist()
            print(f"--- row {row}: {len(labels)} pair{'s' * (len(labels) != 1)}, {n}/{max_seq_length} tokens; "
                  f"{task} labels {labels}")
        else:
            print(f"--- example {row}: {task} label {int(labels)}")
        print(" ".join(shown))

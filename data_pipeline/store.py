"""A preprocessed corpus: token ids in memory-mapped shards with sentence and document boundaries.

Layout of a store directory:
    store.json                 tokenizer hash, id dtype, counts, and one entry per shard
    tokenizer.json             the tokenizer the ids came from
    shard-NNNNN.tokens         every sentence's ids back to back (uint16 when the vocabulary fits, else uint32)
    shard-NNNNN.sentences      int64 end offset of each sentence in the shard's tokens
    shard-NNNNN.documents      int64 end index of each document in the shard's sentences

Building streams the corpus document by document, tokenizes bounded chunks (in `num_proc` worker processes when
asked) and appends to the current shard, so peak memory depends on the chunk size, never on the corpus size. A shard
ends at a document boundary once it holds `shard_tokens` tokens. The store is written under a temporary name and
renamed when complete: a failed build leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from itertools import islice
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .corpus import ENCODING_ERRORS, iter_documents
from .errors import DataError
from .token_docs import TokenDocs
from .tokenizer import SpecialTokens

META = "store.json"
FORMAT = 1
# Text per tokenization task: tokenizers' Encoding objects take about 100 bytes per token, so this bounds the memory
# in flight (a few such chunks) to a few MB. One document is never split, so a huge document needs its own size.
CHUNK_CHARS = 1 << 14


def tokenizer_hash(tokenizer: Tokenizer) -> str:
    return hashlib.sha256(tokenizer.to_str().encode("utf-8")).hexdigest()


def is_store(path: str | os.PathLike) -> bool:
    return (Path(path) / META).is_file()


def build_store(corpus: str | os.PathLike, tokenizer: Tokenizer, out: str | os.PathLike, num_proc: int = 1,
                shard_tokens: int = 1 << 28, encoding_errors: str = "strict", progress: bool = True,
                fmt: str = "auto", text_field: str = "text", clean_html: bool = False) -> dict:
    """Tokenize the corpus `corpus` (files, a glob or "datasets:NAME"; see load_corpus) into a store at `out`;
    returns its metadata. `out` must not exist yet."""
    out = Path(out)
    if out.exists():
        raise DataError(f"{out} exists; choose a new directory for the store")
    if encoding_errors not in ENCODING_ERRORS:
        raise DataError(f"encoding_errors must be one of {', '.join(ENCODING_ERRORS)}; got {encoding_errors!r}")
    if num_proc < 1 or shard_tokens < 1:
        raise DataError(f"num_proc and shard_tokens must be positive; got {num_proc}, {shard_tokens}")
    SpecialTokens.from_tokenizer(tokenizer)
    dtype = np.uint16 if tokenizer.get_vocab_size() <= np.iinfo(np.uint16).max + 1 else np.uint32
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        writer = _ShardWriter(tmp, dtype, shard_tokens)
        docs = iter_documents(corpus, encoding_errors, progress, fmt, text_field, clean_html)
        chunks = _chunks(docs)
        with _Tokenize(tokenizer, num_proc) as tokenize:  # the progress bar is iter_documents' (bytes read)
            for tokenized in tokenize(chunks):
                for doc in tokenized:
                    writer.add(doc)
        shards = writer.close()
        meta = {"format": FORMAT, "tokenizer_sha256": tokenizer_hash(tokenizer), "dtype": np.dtype(dtype).name,
                "vocab_size": tokenizer.get_vocab_size(), "corpus": os.fspath(corpus), "shards": shards,
                **{k: sum(s[k] for s in shards) for k in ("documents", "sentences", "tokens")}}
        if not meta["documents"]:
            raise DataError(f"corpus {corpus} holds no text: the store would be empty")
        tokenizer.save(str(tmp / "tokenizer.json"))
        (tmp / META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _chunks(docs):
    chunk, size = [], 0
    for doc in docs:
        chunk.append(doc)
        size += sum(map(len, doc))
        if size >= CHUNK_CHARS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


class _ShardWriter:
    def __init__(self, root: Path, dtype, shard_tokens: int):
        self.root, self.dtype, self.shard_tokens = root, dtype, shard_tokens
        self.shards: list[dict] = []
        self.files = None

    def add(self, doc: list[list[int]]) -> None:
        if self.files is None:
            name = f"shard-{len(self.shards):05d}"
            self.files = [open(self.root / f"{name}.{kind}", "wb") for kind in ("tokens", "sentences", "documents")]
            self.shards.append({"name": name, "documents": 0, "sentences": 0, "tokens": 0})
        shard = self.shards[-1]
        lengths = np.fromiter(map(len, doc), dtype=np.int64, count=len(doc))
        self.files[0].write(np.concatenate([np.asarray(s, dtype=self.dtype) for s in doc]))
        self.files[1].write(shard["tokens"] + np.cumsum(lengths))
        shard["tokens"] += int(lengths.sum())
        shard["sentences"] += len(doc)
        shard["documents"] += 1
        self.files[2].write(np.array([shard["sentences"]], dtype=np.int64))
        if shard["tokens"] >= self.shard_tokens:
            self._end_shard()

    def _end_shard(self) -> None:
        for f in self.files:
            f.close()
        self.files = None

    def close(self) -> list[dict]:
        if self.files is not None:
            self._end_shard()
        return self.shards


def _encode(tokenizer: Tokenizer, docs: list[list[str]]) -> list[list[list[int]]]:
    """Token ids per sentence, without special tokens; blank sentences and documents left out."""
    docs = [[s for s in doc if s.strip()] for doc in docs]
    encoded = iter(tokenizer.encode_batch([s for doc in docs for s in doc], add_special_tokens=False))
    out = []
    for doc in docs:
        ids = [e.ids for e in islice(encoded, len(doc))]
        ids = [s for s in ids if s]
        if ids:
            out.append(ids)
    return out


_worker_tokenizer: Tokenizer | None = None


def _init_worker(tokenizer_json: str) -> None:
    global _worker_tokenizer
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one process per core is the parallelism here
    _worker_tokenizer = Tokenizer.from_str(tokenizer_json)


def _encode_in_worker(docs):
    return _encode(_worker_tokenizer, docs)


class _Tokenize:
    """Chunks of documents -> their token ids, in order; with num_proc > 1 in worker processes, never more than
    2 x num_proc chunks in flight (Pool.imap would read the whole corpus ahead)."""

    def __init__(self, tokenizer: Tokenizer, num_proc: int):
        self.tokenizer, self.num_proc, self.pool = tokenizer, num_proc, None

    def __enter__(self):
        if self.num_proc > 1:
            ctx = multiprocessing.get_context("spawn")  # fork would copy the parent's tokenizer threads
            self.pool = ctx.Pool(self.num_proc, _init_worker, (self.tokenizer.to_str(),))
        return self

    def __call__(self, chunks):
        if self.pool is None:
            for chunk in chunks:
                yield _encode(self.tokenizer, chunk)
            return
        chunks = iter(chunks)
        while window := list(islice(chunks, 2 * self.num_proc)):
            yield from self.pool.map(_encode_in_worker, window)

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate()


class TokenStore:
    """A built store, memory-mapped. `documents()` gives its documents (TokenDocs, still memory-mapped), as
    create_instances takes them."""

    def __init__(self, path: str | os.PathLike, tokenizer: Tokenizer | None = None):
        self.path = Path(path)
        meta_file = self.path / META
        if not meta_file.is_file():
            raise DataError(f"{self.path} is not a token store (no {META}); build one with `alba data build`")
        try:
            self.meta = json.loads(meta_file.read_text(encoding="utf-8"))
            self.shards = [self._open(s) for s in self.meta["shards"]]
        except (OSError, ValueError, KeyError) as e:
            raise DataError(f"{meta_file}: damaged store ({type(e).__name__}: {e}); rebuild it") from None
        if tokenizer is not None and tokenizer_hash(tokenizer) != self.meta["tokenizer_sha256"]:
            raise DataError(f"{self.path} was built with another tokenizer (sha256 "
                            f"{self.meta['tokenizer_sha256'][:12]}, this one {tokenizer_hash(tokenizer)[:12]}); "
                            "rebuild the store with this tokenizer or use the store's own tokenizer.json")

    def _open(self, shard: dict):
        arrays = []
        for kind, dtype, count in (("tokens", self.meta["dtype"], shard["tokens"]),
                                   ("sentences", "int64", shard["sentences"]),
                                   ("documents", "int64", shard["documents"])):
            file = self.path / f"{shard['name']}.{kind}"
            if file.stat().st_size != count * np.dtype(dtype).itemsize:
                raise ValueError(f"{file.name} holds {file.stat().st_size} bytes, expected {count} x {dtype}")
            arrays.append(np.memmap(file, dtype=dtype, mode="r") if count else np.zeros(0, dtype=dtype))
        return arrays

    def tokenizer(self) -> Tokenizer:
        return Tokenizer.from_file(str(self.path / "tokenizer.json"))

    def __len__(self) -> int:
        return self.meta["documents"]

    def documents(self) -> TokenDocs:
        return TokenDocs(self.shards)

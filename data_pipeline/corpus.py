"""Reading a corpus: the embedded and synthetic ones by name, or text files in the reference format."""
import glob
import os
import warnings

from tqdm import tqdm

from .embedded import embedded_corpus
from .cleaning import strip_html
from .compressed import DECOMPRESSORS, CorpusFile
from .errors import DataError
from .readers import bounded_lines, file_format, is_saved_dataset, read_datasets, read_jsonl, read_lines, read_parquet
from .sentences import split_sentences
from .synthetic import synthetic_corpus

ENCODING_ERRORS = ("strict", "skip")
# A line this long that holds several sentences is a paragraph (one per line, as in WikiText), not a sentence.
PARAGRAPH_CHARS = 300
# What a corpus directory is read for; text and JSON lines also compressed (see compressed.py).
CORPUS_SUFFIXES = (".txt", ".jsonl", ".json", ".parquet",
                   *(s + c for s in (".txt", ".jsonl", ".json") for c in DECOMPRESSORS))
DATASETS_PREFIX = "datasets:"


def load_corpus(spec: str | os.PathLike, encoding_errors: str = "strict", progress: bool = True,
                fmt: str = "auto", text_field: str = "text", clean_html: bool = False) -> list[list[str]]:
    """Documents (lists of sentences) named by `spec`.

    `spec` is "embedded" (CPython's own documentation, see embedded_corpus), "synthetic" (synthetic_corpus with its
    defaults), "datasets:NAME[:SPLIT]" (a `datasets` dataset by hub name or local path, split "train" by default),
    a file, a directory (every .txt/.jsonl/.json/.parquet file under it, sorted) or a glob pattern (matches sorted).
    `fmt` "auto" reads .jsonl/.json as JSON lines and .parquet as Parquet (the text under `text_field`) and any other
    file as "text": UTF-8 in the reference format, one sentence per line, a blank line between documents, the end
    of a file also ending a document. A text line longer than PARAGRAPH_CHARS characters is split with
    split_sentences, so corpora with a paragraph per line work too. "lines" reads one document per line.
    `encoding_errors` ("text" files) is "strict" (a bad byte is a DataError naming file, line and byte offset) or
    "skip" (lines that are not UTF-8 are dropped, with one warning per file). `clean_html` removes HTML markup from
    files and datasets before sentence splitting (see strip_html: <br /> and block tags become paragraph breaks).
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise DataError(f"encoding_errors must be one of {', '.join(ENCODING_ERRORS)}; got {encoding_errors!r}")
    spec = os.fspath(spec)
    if spec == "embedded":
        return embedded_corpus()
    if spec == "synthetic":
        return synthetic_corpus()
    docs = list(iter_documents(spec, encoding_errors, progress, fmt, text_field, clean_html))
    if not docs:
        raise DataError(f"corpus {spec} holds no text" + (" once its HTML markup is removed" if clean_html else ""))
    return docs


def iter_documents(spec: str | os.PathLike, encoding_errors: str = "strict", progress: bool = True,
                   fmt: str = "auto", text_field: str = "text", clean_html: bool = False):
    """The documents of files or a `datasets` dataset (see load_corpus) one at a time, so memory holds only the
    current document (a Parquet batch), whatever the corpus's size. Empty documents are left out."""
    spec = os.fspath(spec)
    if spec.startswith(DATASETS_PREFIX) or is_saved_dataset(spec):
        name, _, split = spec.removeprefix(DATASETS_PREFIX).partition(":")
        with tqdm(desc="reading corpus", unit="doc", disable=not progress) as bar:
            for doc in read_datasets(name, text_field, split or "train", clean_html):
                bar.update()
                if doc:
                    yield doc
        return
    paths = _corpus_files(spec)
    formats = [file_format(p, fmt) for p in paths]
    with tqdm(total=sum(os.path.getsize(p) for p in paths), unit="B", unit_scale=True, desc="reading corpus",
              disable=not progress) as bar:
        for path, kind in zip(paths, formats):
            if kind == "text":
                docs = _read_documents(path, encoding_errors, bar, clean_html)
            elif kind == "lines":
                docs = read_lines(path, bar, clean_html)
            elif kind == "jsonl":
                docs = read_jsonl(path, text_field, bar, clean_html)
            else:
                docs = read_parquet(path, text_field, bar, clean_html)
            yield from (doc for doc in docs if doc)


def _corpus_files(spec: str) -> list[str]:
    if os.path.isfile(spec):
        return [spec]
    if os.path.isdir(spec):
        paths = [p for suffix in CORPUS_SUFFIXES
                 for p in glob.glob(os.path.join(glob.escape(spec), "**", "*" + suffix), recursive=True)]
    elif glob.has_magic(spec):
        paths = glob.glob(spec, recursive=True)
    else:
        paths = []
    paths = sorted(p for p in paths if os.path.isfile(p))
    if not paths:
        raise DataError(f"corpus directory {spec} holds no .txt, .jsonl, .json or .parquet files (plain, or the "
                        f"first three compressed: {', '.join(DECOMPRESSORS)})" if os.path.isdir(spec)
                        else f"corpus glob {spec!r} matches no files" if glob.has_magic(spec)
                        else f"corpus path does not exist: {spec}")
    return paths


def _read_documents(path: str, encoding_errors: str, bar: tqdm, clean_html: bool = False):
    """Yield one file's documents, reading line by line as bytes, so only the current line is ever decoded."""
    doc = []
    skipped = 0
    with CorpusFile(path) as corpus_file:
        for lineno, line_start, raw in bounded_lines(path, corpus_file.file):
            if lineno % 4096 == 0:
                corpus_file.advance(bar)
            if line_start == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
                line_start += 3
            try:
                line = raw.decode("utf-8").strip()
            except UnicodeDecodeError as e:
                if encoding_errors == "strict":
                    raise DataError(f"{path}: line {lineno} is not UTF-8 (byte offset {line_start + e.start}: "
                                    f"{e.reason}); pass encoding_errors='skip' to drop such lines") from None
                skipped += 1
                continue
            if clean_html:
                line = " ".join(strip_html(line).split("\n")).strip()  # here a line is a sentence, not a paragraph
            if line:
                doc.extend(split_sentences(line) if len(line) > PARAGRAPH_CHARS else [line])
            elif doc:
                yield doc
                doc = []
        corpus_file.advance(bar)
    if doc:
        yield doc
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} line(s) that are not UTF-8", stacklevel=3)

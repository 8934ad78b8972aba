"""Reading a corpus: the embedded and synthetic ones by name, or text files in the reference format."""
import glob
import os
import warnings

from tqdm import tqdm

from .embedded import embedded_corpus
from .errors import DataError
from .sentences import split_sentences
from .synthetic import synthetic_corpus

ENCODING_ERRORS = ("strict", "skip")
# A line this long that holds several sentences is a paragraph (one per line, as in WikiText), not a sentence.
PARAGRAPH_CHARS = 300
_MIB = 1 << 20


def load_corpus(spec: str | os.PathLike, encoding_errors: str = "strict", progress: bool = True) -> list[list[str]]:
    """Documents (lists of sentences) named by `spec`.

    `spec` is "embedded" (CPython's own documentation, see embedded_corpus), "synthetic" (synthetic_corpus with its
    defaults), a text file, a directory (every `*.txt` under it, sorted) or a glob pattern (matches sorted).
    Files are UTF-8 in the reference format: one sentence per line, a blank line between documents; the end of a
    file also ends a document. A line longer than PARAGRAPH_CHARS characters is split with split_sentences, so
    corpora with a paragraph per line work too. `encoding_errors` is "strict" (a bad byte is a DataError naming
    file, line and byte offset) or "skip" (lines that are not UTF-8 are dropped, with one warning per file).
    """
    if encoding_errors not in ENCODING_ERRORS:
        raise DataError(f"encoding_errors must be one of {', '.join(ENCODING_ERRORS)}; got {encoding_errors!r}")
    spec = os.fspath(spec)
    if spec == "embedded":
        return embedded_corpus()
    if spec == "synthetic":
        return synthetic_corpus()
    docs = list(iter_documents(spec, encoding_errors, progress))
    if not docs:
        raise DataError(f"corpus {spec} holds no text")
    return docs


def iter_documents(spec: str | os.PathLike, encoding_errors: str = "strict", progress: bool = True):
    """The documents of text files (a file, directory or glob; see load_corpus) one at a time, so memory holds
    only the current document, whatever the corpus's size."""
    paths = _corpus_files(os.fspath(spec))
    with tqdm(total=sum(os.path.getsize(p) for p in paths), unit="B", unit_scale=True, desc="reading corpus",
              disable=not progress) as bar:
        for path in paths:
            yield from _read_documents(path, encoding_errors, bar)


def _corpus_files(spec: str) -> list[str]:
    if os.path.isfile(spec):
        return [spec]
    if os.path.isdir(spec):
        paths = glob.glob(os.path.join(glob.escape(spec), "**", "*.txt"), recursive=True)
    elif glob.has_magic(spec):
        paths = glob.glob(spec, recursive=True)
    else:
        paths = []
    paths = sorted(p for p in paths if os.path.isfile(p))
    if not paths:
        raise DataError(f"corpus path does not exist: {spec}" if not os.path.isdir(spec)
                        else f"corpus directory {spec} holds no *.txt files")
    return paths


def _read_documents(path: str, encoding_errors: str, bar: tqdm):
    """Yield one file's documents, reading line by line as bytes, so only the current line is ever decoded."""
    doc = []
    offset, skipped, unreported = 0, 0, 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            line_start, offset = offset, offset + len(raw)
            unreported += len(raw)
            if unreported >= _MIB:
                bar.update(unreported)
                unreported = 0
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
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
            if line:
                doc.extend(split_sentences(line) if len(line) > PARAGRAPH_CHARS else [line])
            elif doc:
                yield doc
                doc = []
    bar.update(unreported)
    if doc:
        yield doc
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} line(s) that are not UTF-8", stacklevel=3)

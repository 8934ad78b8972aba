"""Corpus formats beside the reference text format: JSON lines, Parquet, one document per line, and `datasets`.

Each reader yields documents as lists of sentences. A document's text is split into paragraphs at line breaks and
each paragraph into sentences with split_sentences, since these formats carry running text, not sentence lines.
"""
from __future__ import annotations

import json
import os
import re
import warnings

from .cleaning import strip_html
from .compressed import CorpusFile, uncompressed_name
from .errors import DataError
from .sentences import split_sentences

FORMATS = ("auto", "text", "lines", "jsonl", "parquet")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}  # before any compression suffix
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*")


def file_format(path: str, fmt: str) -> str:
    """The format of `path` under the requested `fmt` ("auto" goes by the suffix; text otherwise)."""
    if fmt not in FORMATS:
        raise DataError(f"corpus format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    name = uncompressed_name(path)
    return _SUFFIX_FORMATS.get(os.path.splitext(name)[1].lower(), "text") if fmt == "auto" else fmt


def text_to_sentences(text: str, clean_html: bool = False) -> list[str]:
    """Sentences of running text: paragraphs at line breaks (and, with `clean_html`, at <br />, <p>, ... after
    strip_html), each split with split_sentences."""
    if clean_html:
        text = strip_html(text)
    return [s for para in _PARAGRAPH_BREAK.split(text.strip()) if para for s in split_sentences(para)]


def read_lines(path: str, bar, clean_html: bool = False):
    """One document per line (as in many web corpora); blank lines are skipped."""
    for _, line in _utf8_lines(path, bar):
        if line.strip():
            yield text_to_sentences(line, clean_html)


def read_jsonl(path: str, field: str, bar, clean_html: bool = False):
    """One JSON object per line with the document's text under `field`."""
    for lineno, line in _utf8_lines(path, bar):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}: line {lineno} is not JSON ({e.msg} at column {e.colno})") from None
        yield text_to_sentences(_text(record, field, f"{path}: line {lineno}"), clean_html)


def read_parquet(path: str, field: str, bar, clean_html: bool = False, batch_rows: int = 1024):
    """Rows of a Parquet file, read a batch of rows at a time."""
    import pyarrow.parquet as pq
    try:
        table = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises its own error types for damaged files
        raise DataError(f"{path}: not a Parquet file ({' '.join(str(e).split())[:200]})") from None
    if field not in table.schema_arrow.names:
        raise DataError(f"{path}: no column {field!r} (columns: {', '.join(table.schema_arrow.names)}); "
                        f"set the text field")
    row = 0
    for batch in table.iter_batches(batch_size=batch_rows, columns=[field]):
        for value in batch.column(0).to_pylist():
            row += 1
            yield text_to_sentences(_text({field: value}, field, f"{path}: row {row}"), clean_html)
    bar.update(os.path.getsize(path))


def is_saved_dataset(path: str) -> bool:
    """Whether `path` is a directory written by `datasets`' save_to_disk (a Dataset or a DatasetDict)."""
    has = lambda name: os.path.isfile(os.path.join(path, name))  # noqa: E731
    return (has("state.json") and has("dataset_info.json")) or has("dataset_dict.json")


def read_datasets(name: str, field: str, split: str = "train", clean_html: bool = False):
    """A `datasets` dataset by hub name or local path (offline from the local cache or files), streamed; or a
    save_to_disk directory (memory-mapped: its rows are read as they are used)."""
    import datasets
    try:
        if is_saved_dataset(name):
            dataset = datasets.load_from_disk(name)
            if isinstance(dataset, datasets.DatasetDict):
                if split not in dataset:
                    raise DataError(f"{name}: no split {split!r}; its splits: {', '.join(dataset)}")
                dataset = dataset[split]
        else:
            dataset = datasets.load_dataset(name, split=split, streaming=True)
    except DataError:
        raise
    except Exception as e:  # the hub raises many error types; all mean the same to the user
        raise DataError(f"datasets could not load {name!r} (split {split!r}): "
                        f"{' '.join(str(e).split())[:300]}") from None
    for i, record in enumerate(dataset):
        yield text_to_sentences(_text(record, field, f"{name}: record {i}"), clean_html)


def _text(record, field: str, where: str) -> str:
    if not isinstance(record, dict) or field not in record:
        keys = ", ".join(record) if isinstance(record, dict) else type(record).__name__
        raise DataError(f"{where}: no field {field!r} (has: {keys}); set the text field")
    text = record[field]
    if not isinstance(text, str):
        raise DataError(f"{where}: field {field!r} is {type(text).__name__}, not text")
    return text


# The longest piece of a line read at once: a longer line (a whole book on one line) is read as pieces, so that
# memory stays bounded whatever the line length.
MAX_LINE_BYTES = 1 << 20
# Where a piece prefers to end: after sentence-final punctuation (and closing quotes or brackets) and a space.
_SENTENCE_END = re.compile(rb"[.?!][\"')\]]*[ \t]+")


def bounded_lines(path: str, f):
    """(line number, byte offset, bytes) of a binary file, a line longer than MAX_LINE_BYTES as several pieces of
    at most that size, cut after the last sentence end of its final 64 KiB, else at whitespace, else between
    UTF-8 characters; each piece keeps its line's number. A warning counts the lines so cut."""
    lineno, offset, pending, continuing, cut_lines = 1, 0, b"", False, 0
    while True:
        want = MAX_LINE_BYTES - len(pending)  # >= 1: what is pending is shorter than a piece
        chunk = f.readline(want)
        data = pending + chunk
        if not data:
            break
        if chunk.endswith(b"\n") or len(chunk) < want:  # the end of a line, or of the file
            if not (continuing and data.isspace()):  # a cut line's blank tail is not a blank line
                yield lineno, offset, data
            lineno, offset, pending, continuing = lineno + 1, offset + len(data), b"", False
            continue
        ends = [m.end() for m in _SENTENCE_END.finditer(data, max(0, len(data) - (1 << 16)))]
        cut = ends[-1] if ends else max(data.rfind(b" "), data.rfind(b"\t")) + 1
        if cut <= 0:  # no whitespace: cut before the last character's first byte, which may continue past the end
            cut = len(data) - 1
            while cut > 0 and data[cut] & 0xC0 == 0x80:
                cut -= 1
        cut_lines += not continuing
        if not data[:cut].isspace():
            yield lineno, offset, data[:cut]
        offset, pending, continuing = offset + cut, data[cut:], True
    if cut_lines:
        warnings.warn(f"{path}: {cut_lines} line(s) longer than {MAX_LINE_BYTES:,} bytes were read in pieces "
                      "of at most that size, cut at whitespace (each piece a document, or a sentence in the text "
                      "format)", stacklevel=3)


def _utf8_lines(path: str, bar):
    """(line number, text) of a UTF-8 file (compressed or not), decoded line by line so that a bad byte is reported
    at its line."""
    with CorpusFile(path) as corpus_file:
        for lineno, _, raw in bounded_lines(path, corpus_file.file):
            if lineno % 1024 == 0:
                corpus_file.advance(bar)
            try:
                yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: line {lineno} is not UTF-8 ({e.reason})") from None
        corpus_file.advance(bar)

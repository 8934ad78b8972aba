"""Corpus files compressed with gzip, bzip2, xz or zstd, read as a stream by their suffix (x.txt.gz, x.jsonl.zst),
with reading progress counted in the file's own (compressed) bytes."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os

from .errors import DataError


def _zstd(raw):
    try:
        import zstandard
    except ImportError:
        raise DataError("reading .zst files needs the zstandard package (pip install zstandard)") from None
    return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))


DECOMPRESSORS = {".gz": lambda raw: gzip.GzipFile(fileobj=raw), ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile,
                 ".zst": _zstd}


def compression(path: str) -> str:
    """The compression suffix of `path` ('' for none)."""
    suffix = os.path.splitext(path)[1].lower()
    return suffix if suffix in DECOMPRESSORS else ""


def uncompressed_name(path: str) -> str:
    """x.txt.gz -> x.txt: the name that says the format."""
    suffix = compression(path)
    return path[:-len(suffix)] if suffix else path


class CorpusFile:
    """A corpus file open for binary reading (`.file`), decompressed by its suffix; `advance(bar)` moves a progress
    bar on to the bytes of the file read so far. A damaged or truncated archive is a DataError naming it."""

    def __init__(self, path: str):
        self.path, self.raw, self.done = path, open(path, "rb"), 0
        opener = DECOMPRESSORS.get(compression(path))
        self.file = opener(self.raw) if opener else self.raw

    def advance(self, bar) -> None:
        position = self.raw.tell()
        bar.update(position - self.done)
        self.done = position

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        self.file.close()
        self.raw.close()
        if kind is not None and issubclass(kind, (OSError, EOFError, lzma.LZMAError)) and compression(self.path):
            raise DataError(f"{self.path}: not a readable {compression(self.path)} archive "
                            f"({' '.join(str(error).split())[:200] or kind.__name__})") from None
        return False

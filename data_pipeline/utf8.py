"""Whole small text files (task data: GLUE, SQuAD, SWAG) read as UTF-8, with a bad byte reported where it is."""
from __future__ import annotations

from pathlib import Path

from .errors import DataError

_BOM = b"\xef\xbb\xbf"


def read_utf8(path: str | Path) -> str:
    """The text of a UTF-8 file without its BOM; a byte that is not UTF-8 is a DataError naming the file, the line
    and the byte offset."""
    data = Path(path).read_bytes()
    body = data[len(_BOM):] if data.startswith(_BOM) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        offset = e.start + len(data) - len(body)
        line = data.count(b"\n", 0, offset) + 1
        raise DataError(f"{path}: line {line} is not UTF-8 (byte offset {offset}: {e.reason})") from None

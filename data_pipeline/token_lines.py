"""Whitespace-tokenized text, one sentence per line: the input format of word2vec, GloVe, gensim's LineSentence and
the Penn Treebank language-model files."""
import os
from typing import Iterator

from .errors import DataError


def iter_token_lines(path: str | os.PathLike, lowercase: bool = False) -> Iterator[list[str]]:
    """The non-empty lines of a UTF-8 file as lists of tokens, one line in memory at a time (a corpus larger than
    memory streams). A missing file is a DataError at the call; a line that is not UTF-8 is a DataError naming the
    file, line and byte offset when it is reached."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"corpus file does not exist: {path}")
    return _lines(path, lowercase)


def _lines(path: str, lowercase: bool) -> Iterator[list[str]]:
    offset = 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: line {lineno} is not UTF-8 (byte offset {offset + e.start}: "
                                f"{e.reason})") from None
            offset += len(raw)
            tokens = (text.lower() if lowercase else text).split()
            if tokens:
                yield tokens


def read_token_lines(path: str | os.PathLike, lowercase: bool = False) -> list[list[str]]:
    """All of `iter_token_lines` in a list."""
    return list(iter_token_lines(path, lowercase))

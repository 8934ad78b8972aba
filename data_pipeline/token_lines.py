"""Whitespace-tokenized text, one sentence per line: the input format of word2vec, gensim's LineSentence and the
Penn Treebank language-model files."""
import os

from .errors import DataError


def read_token_lines(path: str | os.PathLike, lowercase: bool = False) -> list[list[str]]:
    """The non-empty lines of a UTF-8 file as lists of tokens. A line that is not UTF-8 is a DataError naming the
    file, line and byte offset."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"corpus file does not exist: {path}")
    lines, offset = [], 0
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
                lines.append(tokens)
    return lines

"""Readers of the word-vector evaluation sets: word-similarity pairs (WordSim-353, SimLex-999: `word1 word2 score`,
tab- or space-separated, `#` comments) and analogy questions (Mikolov's questions-words.txt: `: section` headers,
then `a b c d` meaning a is to b as c is to d)."""
from __future__ import annotations

import os

from .errors import DataError


def _lines(path: str | os.PathLike):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DataError(f"evaluation file does not exist: {path}")
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if line and not line.startswith("#"):
                    yield path, lineno, line
        except UnicodeDecodeError as e:
            raise DataError(f"{path}: not UTF-8 after line {lineno} ({e.reason})") from None


def read_word_pairs(path: str | os.PathLike) -> list[tuple[str, str, float]]:
    """(word1, word2, human score) of each line."""
    pairs = []
    for path, lineno, line in _lines(path):
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != 3:
            raise DataError(f"{path}:{lineno}: expected 'word1 word2 score', got {len(fields)} fields: {line!r}")
        try:
            score = float(fields[2])
        except ValueError:
            raise DataError(f"{path}:{lineno}: the score {fields[2]!r} is not a number") from None
        pairs.append((fields[0].strip(), fields[1].strip(), score))
    if not pairs:
        raise DataError(f"{os.fspath(path)}: no word pairs")
    return pairs


def read_analogies(path: str | os.PathLike) -> dict[str, list[tuple[str, str, str, str]]]:
    """The questions of each section, in file order."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    for path, lineno, line in _lines(path):
        if line.startswith(":"):
            current = line[1:].strip()
            sections.setdefault(current, [])
            continue
        words = line.split()
        if len(words) != 4:
            raise DataError(f"{path}:{lineno}: expected 4 words 'a b c d', got {len(words)}: {line!r}")
        if current is None:
            raise DataError(f"{path}:{lineno}: a question before the first ': section' line")
        sections[current].append(tuple(words))
    if not any(sections.values()):
        raise DataError(f"{os.fspath(path)}: no analogy questions")
    return sections

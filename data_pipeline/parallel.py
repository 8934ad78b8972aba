"""Sentence-aligned parallel text (Multi30k's layout: `<split>.<lang>` files, line i of each language the same
sentence), read whole and checked before anything is written: a missing, empty, non-UTF-8 or misaligned file, or
a line empty on one side only, is a DataError naming the files and the line."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import DataError
from .utf8 import read_utf8


def split_files(data_dir: str | os.PathLike, split: str, source: str, target: str) -> tuple[Path, Path]:
    return Path(data_dir) / f"{split}.{source}", Path(data_dir) / f"{split}.{target}"


def read_parallel(source_file: str | os.PathLike, target_file: str | os.PathLike) -> list[tuple[str, str]]:
    """The (source, target) sentence pairs, whitespace-trimmed; lines empty on both sides are skipped."""
    sides = []
    for path in (source_file, target_file):
        if not Path(path).is_file():
            raise DataError(f"parallel text file does not exist: {path}")
        lines = read_utf8(path).removesuffix("\n").split("\n")  # not splitlines: U+2028 is text here
        if not any(line.strip() for line in lines):
            raise DataError(f"{path}: the file holds no text")
        sides.append(lines)
    source, target = sides
    if len(source) != len(target):
        raise DataError(f"{source_file} has {len(source)} lines but {target_file} has {len(target)}: the files must "
                        f"be aligned line by line")
    pairs = []
    for number, (s, t) in enumerate(zip(source, target), 1):
        s, t = s.strip(), t.strip()
        if bool(s) != bool(t):
            empty, other = (source_file, target_file) if not s else (target_file, source_file)
            raise DataError(f"{empty}: line {number} is empty but line {number} of {other} is not: the files are "
                            f"misaligned")
        if s:
            pairs.append((s, t))
    return pairs

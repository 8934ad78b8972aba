"""The bAbI question-answering tasks (Weston et al. 2015): reading the files and turning questions into the memory
tensors of a memory network (end-to-end, or strongly supervised by the supporting facts).

File format: every line is `ID text`. IDs count up from 1 within a story and a line with ID 1 starts a new story.
A fact is plain text; a question is `ID question?<TAB>answer<TAB>supporting IDs`, the supporting IDs naming earlier
fact lines of the same story. A question's memory is every fact of its story before it (questions are not facts).
"""
from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .errors import DataError

NIL, UNK = 0, 1  # word ids: padding (and the empty memories of random noise), and words unseen in training

# Task names as the rows of Sukhbaatar et al. (2015), Table 1.
TASK_NAMES = {1: "1 supporting fact", 2: "2 supporting facts", 3: "3 supporting facts", 4: "2 argument relations",
              5: "3 argument relations", 6: "yes/no questions", 7: "counting", 8: "lists/sets",
              9: "simple negation", 10: "indefinite knowledge", 11: "basic coreference", 12: "conjunction",
              13: "compound coreference", 14: "time reasoning", 15: "basic deduction", 16: "basic induction",
              17: "positional reasoning", 18: "size reasoning", 19: "path finding", 20: "agent's motivation"}


def tokenize(text: str) -> tuple[str, ...]:
    """Lower-cased words without the sentence's final punctuation (bAbI text has no other punctuation)."""
    return tuple(re.sub(r"[.?!]+$", "", text.strip()).lower().split())


@dataclass(frozen=True)
class Question:
    words: tuple[str, ...]
    answer: str  # as written; a list answer ("apple,football") is one answer word, as in the paper
    supporting: tuple[int, ...]  # indices into the story's facts
    num_facts: int  # facts of the story before this question: its memory
    line: int  # 1-based line number in the file


@dataclass(frozen=True)
class Story:
    facts: tuple[tuple[str, ...], ...]
    questions: tuple[Question, ...]


def read_babi(path: str | os.PathLike) -> list[Story]:
    """All stories of one bAbI file. A broken ID sequence, a question without an answer or a supporting ID that
    names no earlier fact is a DataError naming the file and line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read bAbI file {path}: {e.strerror}") from None
    stories: list[Story] = []
    facts, questions, fact_of_id = [], [], {}
    previous_id = 0
    for number, line_bytes in enumerate(raw.split(b"\n"), 1):
        where = f"{path}, line {number}"
        try:
            line = line_bytes.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as e:
            raise DataError(f"{where}: not UTF-8 (byte {e.start} of the line)") from None
        if not line.strip():
            continue
        match = re.match(r"(\d+) (.*)$", line)
        if not match:
            raise DataError(f"{where}: expected 'ID text', got {line[:60]!r}")
        line_id, text = int(match.group(1)), match.group(2)
        if line_id == 1:
            if questions or facts:
                stories.append(Story(tuple(facts), tuple(questions)))
            facts, questions, fact_of_id = [], [], {}
        elif line_id != previous_id + 1:
            raise DataError(f"{where}: line ID {line_id} does not follow {previous_id} (IDs count up by one within "
                            f"a story; ID 1 starts a new story)")
        previous_id = line_id
        fields = text.split("\t")
        if len(fields) == 1 and not text.rstrip().endswith("?"):
            fact_of_id[line_id] = len(facts)
            facts.append(tokenize(text))
            continue
        if len(fields) < 2 or not fields[1].strip():
            raise DataError(f"{where}: question without an answer (expected 'ID question?<TAB>answer<TAB>"
                            f"supporting IDs')")
        supporting = []
        for item in (fields[2].split() if len(fields) > 2 else []):
            if not item.isdigit() or int(item) not in fact_of_id:
                raise DataError(f"{where}: supporting fact {item!r} is not the ID of an earlier fact of this story")
            supporting.append(fact_of_id[int(item)])
        questions.append(Question(tokenize(fields[0]), fields[1].strip(), tuple(supporting), len(facts), number))
    if questions or facts:
        stories.append(Story(tuple(facts), tuple(questions)))
    if not any(s.questions for s in stories):
        raise DataError(f"bAbI file {path} holds no questions")
    return stories


def task_files(data_dir: str | os.PathLike, task: int) -> tuple[Path, Path]:
    """The train and test files of task N in a bAbI directory (`qaN_<name>_train.txt`, `qaN_<name>_test.txt`)."""
    found = []
    for split in ("train", "test"):
        matches = sorted(glob.glob(os.path.join(glob.escape(str(data_dir)), f"qa{task}_*_{split}.txt")))
        if len(matches) != 1:
            what = "no file" if not matches else f"{len(matches)} files"
            raise DataError(f"bAbI task {task}: {what} matching qa{task}_*_{split}.txt in {data_dir}")
        found.append(Path(matches[0]))
    return found[0], found[1]


class BabiVocabulary:
    """Word ids: NIL and UNK first, then the training words (facts, questions and answers) in sorted order."""

    def __init__(self, stories: Iterable[Story]):
        words = set()
        for story in stories:
            for fact in story.facts:
                words.update(fact)
            for q in story.questions:
                words.update(q.words)
                words.add(q.answer)
        self.words = ["<nil>", "<unk>"] + sorted(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def ids(self, words: Sequence[str]) -> list[int]:
        return [self.index.get(w, UNK) for w in words]


@dataclass
class Example:
    memory: list[list[int]]  # the facts before the question, most recent first, at most memory_size of them
    question: list[int]
    answer: int
    supporting: tuple[int, ...] = ()  # the memory slots of the supporting facts, in the file's order (those that
    # fell out of the memory window are left out)


def make_examples(stories: Sequence[Story], vocab: BabiVocabulary, memory_size: int | None) -> list[Example]:
    """One example per question; its memory holds the `memory_size` most recent facts of its story (None: all)."""
    examples = []
    for story in stories:
        for q in story.questions:
            first = 0 if memory_size is None else max(0, q.num_facts - memory_size)
            slots = tuple(q.num_facts - 1 - f for f in q.supporting if f >= first)  # slot 0: the most recent
            examples.append(Example([vocab.ids(f) for f in reversed(story.facts[first:q.num_facts])],
                                    vocab.ids(q.words), vocab.index.get(q.answer, UNK), slots))
    return examples


def check_supporting(path: str | os.PathLike, stories: Sequence[Story], most: int) -> None:
    """Strong supervision needs every question to name 1 to `most` supporting facts; a DataError names the file
    and line of the first that does not."""
    for q in (q for story in stories for q in story.questions):
        if not 1 <= len(q.supporting) <= most:
            raise DataError(f"{path}, line {q.line}: {len(q.supporting)} supporting facts; strong supervision "
                            f"with {most} hops needs 1 to {most}")


def supporting_slots(examples: Sequence[Example], hops: int) -> np.ndarray:
    """The supporting facts' memory slots of a batch, [examples, hops]; -1 where a question has fewer facts than
    hops (the memory network's 'no further fact')."""
    slots = np.full((len(examples), hops), -1, dtype=np.int64)
    for i, ex in enumerate(examples):
        slots[i, :len(ex.supporting)] = ex.supporting[:hops]
    return slots


def with_empty_memories(example: Example, noise: float, rng: np.random.Generator) -> Example:
    """Random noise (Sukhbaatar et al. §4.1): ceil(noise x facts) empty memories inserted at random slots. They hold
    no words, only a temporal encoding, so the model cannot rely on a fact's exact distance in time."""
    memory, supporting = list(example.memory), example.supporting
    for _ in range(math.ceil(noise * len(memory))):
        at = int(rng.integers(len(memory) + 1))
        memory.insert(at, [])
        supporting = tuple(s + (s >= at) for s in supporting)  # the facts behind the new slot move one back
    return Example(memory, example.question, example.answer, supporting)


def collate(examples: Sequence[Example], memory_size: int | None) -> dict[str, np.ndarray]:
    """Pad a batch into arrays: `input_ids` (question words), `memory` (slot x word; slot 0 the most recent fact),
    `memory_mask` (1 for a slot that holds a memory, empty or not) and `answers`. Only the `memory_size` most
    recent slots are kept (None: all)."""
    slots = [ex.memory[:memory_size] for ex in examples]
    n_slots = max(1, max(len(m) for m in slots))
    n_words = max([1] + [len(s) for m in slots for s in m])
    q_words = max(len(ex.question) for ex in examples)
    memory = np.full((len(examples), n_slots, n_words), NIL, dtype=np.int64)
    mask = np.zeros((len(examples), n_slots), dtype=np.float32)
    question = np.full((len(examples), q_words), NIL, dtype=np.int64)
    for i, (ex, mem) in enumerate(zip(examples, slots)):
        question[i, :len(ex.question)] = ex.question
        mask[i, :len(mem)] = 1
        for j, sentence in enumerate(mem):
            memory[i, j, :len(sentence)] = sentence
    answers = np.array([ex.answer for ex in examples], dtype=np.int64)
    return {"input_ids": question, "memory": memory, "memory_mask": mask, "answers": answers}

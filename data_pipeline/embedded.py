"""Real English prose that ships with every CPython: the language reference topics and the stdlib docstrings."""
import ast
import functools
import os
import re
import sysconfig
import warnings

from .sentences import split_sentences

# Standard-library folders whose docstrings are tests, tools, generated boilerplate or third-party code.
_SKIP_DIRS = frozenset({"test", "tests", "idlelib", "site-packages", "dist-packages", "__pycache__", "encodings",
                        "lib2to3", "turtledemo", "pydoc_data", "ensurepip", "venv"})
# Admonition titles: the indented block after them is prose, not a literal block.
_ADMONITIONS = frozenset({"note", "notes", "warning", "caution", "attention", "important", "tip", "hint", "danger",
                          "see also", "seealso"})
_UNDERLINE = re.compile(r"([=\-~*^\"#+'`.:_])\1{2,}")
_BULLET = re.compile(r"([*+\-\u2022]|\d+\.|\(?[a-z0-9]\)|#\.) ")
_INLINE_ROLE = re.compile(r":[\w:+-]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_INLINE_MARKUP = re.compile(r"``(.+?)``|`([^`]+)`_{0,2}|\*\*(.+?)\*\*")
_SENTENCE_END = re.compile(r"(?:[.?!][\"')\]\u201d\u2019]*|\w:)$")
_WORD = re.compile(r"[A-Za-z][a-z]*(?:['\u2019-][a-z]+)*")
MIN_WORDS, MAX_WORDS = 3, 100


def embedded_corpus() -> list[list[str]]:
    """CPython's own documentation as documents of sentences; deterministic for a Python version, no download.

    Documents, in order: (1) each topic of the language reference in `pydoc_data.topics`; (2) from every
    standard-library source file (sorted paths, read with `ast`, never imported; test suites, idlelib, encodings,
    site-packages and the like skipped): each docstring of the module, its classes, functions and methods, on its
    own. A document is one coherent text, so that consecutive sentences are in an order that means something (what
    SOP learns); grouping a module's docstrings would put unrelated summaries side by side. Text is cleaned: headings and their underlines, tables, reST
    directives and field lists, grammar productions, doctests (`>>>`) and literal blocks (a block indented deeper
    than the paragraph that introduces it) are dropped; inline markup is unwrapped; hard-wrapped lines are
    re-joined into paragraphs and split with split_sentences. Kept are sentences that start with an upper-case
    letter, digit or quote, end in `.?!` or a colon, have MIN_WORDS..MAX_WORDS words of which at least 60% are
    alphabetic, and hold no code operators; then documents of at least two sentences, duplicates dropped.
    """
    return [list(doc) for doc in _build()]


@functools.lru_cache(maxsize=1)
def _build() -> tuple[tuple[str, ...], ...]:
    from pydoc_data.topics import topics  # data only: a dict of strings
    texts = [[topics[name]] for name in sorted(topics)]
    with warnings.catch_warnings():  # parsing old sources can warn (invalid escapes); this must print nothing
        warnings.simplefilter("ignore")
        for path in _stdlib_sources():
            texts.extend([d] for d in _docstrings(path))
    docs, seen = [], set()
    for group in texts:
        doc = tuple(s for text in group for s in _prose_sentences(text))
        if len(doc) >= 2 and doc not in seen:
            seen.add(doc)
            docs.append(doc)
    return tuple(docs)


def _stdlib_sources() -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    paths = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in _SKIP_DIRS and not d.startswith(("config-", "plat-"))]
        paths.extend(os.path.join(folder, f) for f in files if f.endswith(".py") and not f.startswith("test_"))
    return sorted(paths)


def _docstrings(path: str) -> list[str]:
    """Every docstring of a source file (module, classes, functions, methods), in `ast.walk` order."""
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (SyntaxError, ValueError, OSError):  # a source a newer or older parser rejects: skip it
        return []
    scopes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [d for node in ast.walk(tree) if isinstance(node, scopes) and (d := ast.get_docstring(node, clean=True))]


def _prose_sentences(text: str) -> list[str]:
    """The real sentences of a reST-ish or Sphinx-text document; see embedded_corpus for the rules."""
    sentences = []
    literal_indent = None  # while set, blocks indented deeper than this belong to a literal block
    intro_indent, intro_opens_literal = None, False
    for lines in _blocks(text):
        indent = min(_indent(line) for line in lines)
        if literal_indent is not None and indent > literal_indent:
            continue
        literal_indent = None
        deeper = intro_indent is not None and indent > intro_indent
        if _is_code(lines) or (deeper and intro_opens_literal):
            if deeper:
                literal_indent = intro_indent
            continue
        lines = _strip_markup_lines(lines)
        if not lines:
            continue
        paragraph = _unwrap_inline_markup(" ".join(line.strip() for line in lines))
        intro_indent, intro_opens_literal = indent, _opens_literal(paragraph)
        sentences.extend(s for s in split_sentences(paragraph) if _is_real_sentence(s))
    return sentences


def _blocks(text: str) -> list[list[str]]:
    """Runs of non-blank lines, also cut after a line ending in a colon that a deeper-indented line follows."""
    blocks, block = [], []
    for line in text.expandtabs().splitlines() + [""]:
        if not line.strip():
            if block:
                blocks.append(block)
            block = []
            continue
        if block and block[-1].endswith(":") and _indent(line) > _indent(block[-1]):
            blocks.append(block)
            block = []
        block.append(line.rstrip())
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_code(lines: list[str]) -> bool:
    """Doctests, grammar productions, tables, or indentation that prose (even a hanging list item) never has."""
    stripped = [line.strip() for line in lines]
    if any(s.startswith((">>>", "... ", "+-", "|", "$ ")) or "::=" in s for s in stripped):
        return True
    if any(set(s) <= {"=", " "} for s in stripped):  # simple-table borders
        return True
    first, rest = _indent(lines[0]), {_indent(line) for line in lines[1:]}
    if not rest or rest == {first}:
        return False
    bullet = _BULLET.match(stripped[0])
    return not (bullet and rest == {first + bullet.end()}) and not (len(rest) == 1 and min(rest) > first)


def _strip_markup_lines(lines: list[str]) -> list[str]:
    """Drop headings (with over- and underlines), reST directives, field lists and rubrics."""
    kept = []
    for line in lines:
        s = line.strip()
        if _UNDERLINE.fullmatch(s):
            if kept and len(kept[-1].strip()) <= len(s) + 2:
                kept.pop()
            continue
        if s.startswith(("..", ":", "-[")):
            continue
        kept.append(line)
    return kept


def _unwrap_inline_markup(text: str) -> str:
    text = _INLINE_ROLE.sub(r"\1", text)
    text = _INLINE_MARKUP.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    return re.sub(r"\s+", " ", text.replace("::", ":")).strip()


def _opens_literal(paragraph: str) -> bool:
    """A paragraph ending in a colon (not an admonition title) or mid-sentence introduces code below it."""
    if paragraph.endswith(":"):
        return paragraph[:-1].strip().lower() not in _ADMONITIONS
    return len(paragraph.split()) >= MIN_WORDS and paragraph[-1].isalpha()


def _is_real_sentence(sentence: str) -> bool:
    first = sentence.lstrip("\"'(\u201c\u2018")[:1]
    if not (first.isupper() or first.isdigit()) or not _SENTENCE_END.search(sentence):
        return False
    if any(op in sentence for op in ("==", " = ", "->", "{", "}", "\\", "__ ")):
        return False
    words = sentence.split()
    alphabetic = sum(1 for w in words if _WORD.fullmatch(w.strip(".,;:!?\"'()[]\u201c\u201d\u2018\u2019*")))
    return MIN_WORDS <= len(words) <= MAX_WORDS and alphabetic >= max(MIN_WORDS, 0.6 * len(words))

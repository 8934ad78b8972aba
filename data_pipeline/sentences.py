"""A rule-based English sentence splitter (no model, no heavy dependency)."""
import re

# Words that end in a period yet rarely end a sentence: they introduce or qualify what follows.
ABBREVIATIONS = frozenset(
    "e.g i.e etc vs cf viz al approx resp incl esp mr mrs ms dr prof sr jr st fig eq".split())

# Sentence-ending punctuation, closing quotes or brackets after it, then the whitespace a split replaces.
_END = re.compile(r"[.?!\u2026]+[\"')\]\u201d\u2019]*\s+")
_OPENERS = "\"'(\u201c\u2018["


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences, stripped and without empty ones.

    A sentence ends at `.`, `?` or `!` (with any closing quotes or brackets right after it) that is followed by
    whitespace and then an upper-case letter, a digit or an opening quote/bracket. It does not end:

    - after a common abbreviation (`e.g.`, `i.e.`, `etc.`, `vs.`, `cf.`, `Mr.`, `Dr.`, ...; see ABBREVIATIONS),
      whatever the case, also right after an opening bracket as in "(e.g. Python)";
    - after a single initial such as the "J." of "J. Smith";
    - after an ellipsis ("..." or "\u2026"), which marks a pause more often than an end;
    - inside a matched pair of parentheses, so "(See below. It helps.)" stays in its sentence;
    - inside decimal numbers ("3.14") or dotted names ("os.path.join"): no whitespace follows their periods.
    A line break counts as whitespace: callers re-join hard-wrapped lines before splitting.
    """
    text = text.strip()
    protected = _parenthesised_spans(text)
    sentences, start = [], 0
    for match in _END.finditer(text):
        end = match.end()
        punct = match.group().rstrip()
        split_at = match.start() + len(punct)
        if end >= len(text) or not _starts_sentence(text, end):
            continue
        if any(lo < match.start() and split_at <= hi for lo, hi in protected):
            continue
        if punct.startswith(("...", "\u2026")) or (punct[0] == "." and _is_abbreviation(text, match.start())):
            continue
        sentences.append(text[start:split_at].strip())
        start = end
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _starts_sentence(text: str, i: int) -> bool:
    if text[i] in _OPENERS:
        i += 1
    return i < len(text) and (text[i].isupper() or text[i].isdigit())


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the word ending at the period at `dot` is an abbreviation or a single initial."""
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip(_OPENERS)
    if len(word) == 1 and word.isalpha() and word.isupper():
        return True
    return word.lower() in ABBREVIATIONS


def _parenthesised_spans(text: str) -> list[tuple[int, int]]:
    """(open, close) offsets of the outermost matched parentheses; unmatched ones are ignored."""
    spans, stack = [], []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            lo = stack.pop()
            if not stack:
                spans.append((lo, i))
    return spans

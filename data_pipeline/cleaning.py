"""Cleaning raw web text before sentence splitting: HTML markup as scraped reviews and pages carry it."""
import html
import re

# Tags that end a line or a block become paragraph breaks; any other tag is dropped. A tag starts with a letter
# (or / and a letter) right after '<', so comparisons such as "a < b" are left alone.
_BREAK_TAG = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr|hr)\b[^<>]*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_SPACES = re.compile(r"[ \t\u00a0]+")


def strip_html(text: str) -> str:
    """`text` without HTML tags and entities: line and block tags (<br />, <p>, ...) become line breaks (paragraph
    breaks for the readers), other tags nothing (they are inline: <i>, <a>, ...), entities (&amp;, &#39;) their characters; runs of spaces collapse."""
    text = _BREAK_TAG.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))

import pytest

from data_pipeline import split_sentences


@pytest.mark.parametrize("text, expected", [
    # each of . ? ! ends a sentence before whitespace and an upper-case letter, a digit or an opening quote
    ("It works. It is fast! Is it? Yes.", ["It works.", "It is fast!", "Is it?", "Yes."]),
    ("There are two. 3 more follow.", ["There are two.", "3 more follow."]),
    ('He left. "Bye," he said.', ["He left.", '"Bye," he said.']),
    # closing quotes and brackets stay with the sentence they close
    ('She said "stop." Then she left.', ['She said "stop."', "Then she left."]),
    # a lower-case continuation is not a new sentence
    ("The value is approx. twice that. Next.", ["The value is approx. twice that.", "Next."]),
    ("Call it with x. then return.", ["Call it with x. then return."]),
    # line breaks are whitespace
    ("One line.\nAnother line.", ["One line.", "Another line."]),
])
def test_sentence_ends(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text, expected", [
    # abbreviations, also right after an opening bracket
    ("Use a list, e.g. Python lists. Done.", ["Use a list, e.g. Python lists.", "Done."]),
    ("Some types (e.g. Tuples) are immutable. Others are not.",
     ["Some types (e.g. Tuples) are immutable.", "Others are not."]),
    ("That is, i.e. The rest. Fine.", ["That is, i.e. The rest.", "Fine."]),
    ("Apples, pears, etc. Are fruit. Yes.", ["Apples, pears, etc. Are fruit.", "Yes."]),
    ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
    ("Cats vs. Dogs is old. New.", ["Cats vs. Dogs is old.", "New."]),
    # single initials
    ("J. R. R. Tolkien wrote books. He died.", ["J. R. R. Tolkien wrote books.", "He died."]),
    # decimals and dotted names have no whitespace after their periods
    ("Pi is 3.14 roughly. It never ends.", ["Pi is 3.14 roughly.", "It never ends."]),
    ("Use os.path.join to join. It is portable.", ["Use os.path.join to join.", "It is portable."]),
    # an ellipsis is a pause
    ("Wait... Then go. Now.", ["Wait... Then go.", "Now."]),
    ("Wait\u2026 Then go.", ["Wait\u2026 Then go."]),
    # no split inside matched parentheses, but after them
    ("Read this (See below. It helps.) Next one.", ["Read this (See below. It helps.)", "Next one."]),
    ("(Alone. Here.) After.", ["(Alone. Here.)", "After."]),
])
def test_no_split(text, expected):
    assert split_sentences(text) == expected


def test_unmatched_parenthesis_does_not_block_splits():
    assert split_sentences("1) First item. Second item.") == ["1) First item.", "Second item."]
    assert split_sentences("Open ( here. Next.") == ["Open ( here.", "Next."]


def test_whitespace_and_empty():
    assert split_sentences("   ") == []
    assert split_sentences("  No end punctuation  ") == ["No end punctuation"]

"""A toy corpus whose structure a tiny model learns in well under a CPU minute: a check that the whole pipeline
(pairs, masking, model, loop) trains, with accuracies that must rise far above chance."""
import itertools
import random

from .errors import DataError

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def synthetic_corpus(num_docs: int = 3000, sentences_per_doc: tuple[int, int] = (2, 2), num_topics: int = 32,
                     sentence_len: tuple[int, int] = (5, 8), seed: int = 0) -> list[list[str]]:
    """Documents of pseudo-words with a known, learnable structure; a pure function of its arguments.

    Rules (each chosen so that a 2-layer model can learn it from bag-of-words attention within a segment, which
    tiny transformers pick up within a few hundred steps; rules that need relative positions take them far longer):
    - Words are distinct, pronounceable lower-case ASCII pseudo-words of consonant-vowel syllables, from a seeded
      shuffle.
    - Each document has a topic, one of `num_topics`, and each topic two words of its own: an opening and a
      closing form. Sentence k of an n-sentence document repeats the opening form if k < n/2, else the closing
      form, `sentence_len` times (inclusive range).
    - MLM: a masked word is the dominant word of its segment. SOP: in order, segment A holds the opening form and
      B the closing one; swapped, the reverse. NSP: a segment from another document almost always has another
      topic (collision 1/num_topics).
    With the default two sentences per document every pair-creation chunk is the whole document, so each segment
    holds one form; longer documents make some segments mixed and the rules less exact.
    """
    for name, (lo, hi) in (("sentences_per_doc", sentences_per_doc), ("sentence_len", sentence_len)):
        if not 1 <= lo <= hi:
            raise DataError(f"synthetic_corpus: {name} must be (low, high) with 1 <= low <= high; got {(lo, hi)}")
    if num_docs < 1 or num_topics < 2:
        raise DataError("synthetic_corpus: need num_docs >= 1 and num_topics >= 2")
    rng = random.Random(seed)
    words = _pseudo_words(2 * num_topics, rng)
    docs = []
    for _ in range(num_docs):
        topic = rng.randrange(num_topics)
        n = rng.randint(*sentences_per_doc)
        docs.append([" ".join([words[2 * topic + (k >= n / 2)]] * rng.randint(*sentence_len)) for k in range(n)])
    return docs


def _pseudo_words(count: int, rng: random.Random) -> list[str]:
    """`count` distinct pseudo-words: two syllables while they last, then three."""
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    words = []
    for n in (2, 3):
        pool = ["".join(p) for p in itertools.product(syllables, repeat=n)]
        rng.shuffle(pool)
        words.extend(pool[:count - len(words)])
        if len(words) == count:
            return words
    raise DataError(f"synthetic_corpus: cannot make {count} distinct words")

"""Training, saving and loading WordPiece (BERT) and Unigram (ALBERT/SentencePiece-style) tokenizers."""
import dataclasses
import json
import os

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from tqdm import tqdm

from .errors import DataError
from .vocab_training import count_words, train_unigram_vocab, train_wordpiece_vocab

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # their ids are their positions here
KINDS = ("wordpiece", "unigram")
_BATCH = 4096  # sentences per encode_batch call: large enough to keep the Rust side busy
_METASPACE = "\u2581"


@dataclasses.dataclass(frozen=True)
class SpecialTokens:
    """Ids of the special tokens; every tokenizer of this package has exactly these."""
    pad: int = 0
    unk: int = 1
    cls: int = 2
    sep: int = 3
    mask: int = 4

    @property
    def first_regular_id(self) -> int:
        """Ids from here on are ordinary vocabulary (what random MLM replacements are drawn from)."""
        return max(dataclasses.astuple(self)) + 1

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer) -> "SpecialTokens":
        """The ids of `tokenizer`, which must give the special tokens the fixed ids of this class."""
        special = cls()
        for name, token in zip(("pad", "unk", "cls", "sep", "mask"), SPECIAL_TOKENS):
            found = tokenizer.token_to_id(token)
            if found != getattr(special, name):
                raise DataError(f"tokenizer gives {token} id {found}; alba needs {getattr(special, name)} "
                                f"(special tokens {', '.join(SPECIAL_TOKENS)} must be ids 0..4)")
        return special


def train_tokenizer(corpus: list[list[str]], vocab_size: int = 4096, kind: str = "wordpiece", lowercase: bool = True,
                    progress: bool = True) -> Tokenizer:
    """Train a tokenizer on the corpus's sentences.

    "wordpiece" is BERT's: BertNormalizer, BertPreTokenizer, WordPiece with `##` continuations and its decoder.
    "unigram" is ALBERT's SentencePiece-style: NFKC (then lower case), Metaspace `\u2581` word starts, Unigram.
    Both add `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` (B and its [SEP] segment 1) and give the special tokens
    ids 0..4 (SPECIAL_TOKENS). Training is deterministic (see vocab_training): the same corpus and options give a
    byte-identical tokenizer.json in any process.
    """
    if kind not in KINDS:
        raise DataError(f"tokenizer kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise DataError(f"vocab_size {vocab_size} leaves no room beside the {len(SPECIAL_TOKENS)} special tokens")
    sentences = [s for doc in corpus for s in doc]
    if not sentences:
        raise DataError("cannot train a tokenizer on an empty corpus")
    if kind == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece(prefix="##")
        words = count_words(sentences, tokenizer, len(sentences), progress)
        vocab = train_wordpiece_vocab(words, vocab_size, list(SPECIAL_TOKENS), "##", progress)
        tokenizer.model = models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##")
    else:
        tokenizer = Tokenizer(models.Unigram())
        steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
        tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
        normalized = (tokenizer.normalizer.normalize_str(s) for s in sentences)
        pieces = train_unigram_vocab(normalized, vocab_size, list(SPECIAL_TOKENS), "[UNK]", progress)
        tokenizer.model = models.Unigram(pieces, unk_id=SPECIAL_TOKENS.index("[UNK]"), byte_fallback=False)
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    # WordPiece keeps every character of the alphabet even past vocab_size: a vocabulary that large is an error.
    if tokenizer.get_vocab_size() > vocab_size:
        raise DataError(f"vocab_size {vocab_size} is too small for this corpus: its alphabet and the special tokens "
                        f"alone need {tokenizer.get_vocab_size()}")
    SpecialTokens.from_tokenizer(tokenizer)
    return tokenizer


def word_continuation_ids(tokenizer: Tokenizer) -> frozenset[int]:
    """Ids of word-continuing tokens (WordPiece `##x`; Unigram pieces without `\u2581`), for whole-word masking."""
    special = set(SPECIAL_TOKENS)
    if isinstance(tokenizer.model, models.WordPiece):
        prefix = tokenizer.model.continuing_subword_prefix
        return frozenset(i for t, i in tokenizer.get_vocab().items() if t.startswith(prefix))
    return frozenset(i for t, i in tokenizer.get_vocab().items() if t not in special and not t.startswith(_METASPACE))


def save_tokenizer(tokenizer: Tokenizer, directory: str | os.PathLike) -> None:
    """Write `tokenizer.json` with the config files `transformers.AutoTokenizer.from_pretrained(directory)` reads."""
    SpecialTokens.from_tokenizer(tokenizer)
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    tokenizer.save(os.path.join(directory, "tokenizer.json"))
    names = dict(zip(("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"), SPECIAL_TOKENS))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", **names,
              "model_input_names": ["input_ids", "token_type_ids", "attention_mask"]}
    for name, content in (("tokenizer_config.json", config), ("special_tokens_map.json", names)):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            json.dump(content, f, indent=2)
            f.write("\n")


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Load `path`/tokenizer.json (or `path` itself when it is the JSON file) and check its special tokens."""
    path = os.fspath(path)
    file = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
    if not os.path.isfile(file):
        raise DataError(f"no tokenizer at {path}: expected a directory with tokenizer.json or the file itself")
    try:
        tokenizer = Tokenizer.from_file(file)
    except Exception as e:  # the Rust side raises a bare Exception on malformed JSON
        raise DataError(f"{file}: not a tokenizers JSON file ({str(e).splitlines()[0]})") from None
    SpecialTokens.from_tokenizer(tokenizer)
    return tokenizer


def tokenize_corpus(tokenizer: Tokenizer, corpus: list[list[str]], progress: bool = True) -> list[list[list[int]]]:
    """Token ids of every sentence (no special tokens), documents kept apart; blank sentences and documents dropped."""
    corpus = [[s for s in doc if s.strip()] for doc in corpus]  # Metaspace would turn blanks into lone word marks
    sentences = [s for doc in corpus for s in doc]
    ids = []
    with tqdm(total=len(sentences), desc="tokenizing", unit="sentence", disable=not progress) as bar:
        for start in range(0, len(sentences), _BATCH):
            batch = tokenizer.encode_batch(sentences[start:start + _BATCH], add_special_tokens=False)
            ids.extend(e.ids for e in batch)
            bar.update(len(batch))
    docs, start = [], 0
    for doc in corpus:
        tokenized = [s for s in ids[start:start + len(doc)] if s]
        start += len(doc)
        if tokenized:
            docs.append(tokenized)
    return docs

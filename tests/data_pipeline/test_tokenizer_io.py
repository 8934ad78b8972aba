import json

import pytest
from tokenizers import Tokenizer, models
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from data_pipeline import (DataError, SpecialTokens, embedded_corpus, load_tokenizer, save_tokenizer,
                           tokenize_corpus, train_tokenizer, word_continuation_ids)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TEXTS = [("The interpreter reads a module once.", "Its attributes are then cached."),
         ("Strings are immutable sequences of Unicode code points.", "")]


@pytest.fixture(scope="module")
def corpus():
    return embedded_corpus()[:150]


@pytest.fixture(scope="module", params=["wordpiece", "unigram"])
def tokenizer(request, corpus):
    return train_tokenizer(corpus, vocab_size=800, kind=request.param, progress=False)


def test_special_tokens_have_fixed_ids(tokenizer):
    assert [tokenizer.token_to_id(t) for t in SPECIALS] == [0, 1, 2, 3, 4]
    assert SpecialTokens.from_tokenizer(tokenizer) == SpecialTokens(pad=0, unk=1, cls=2, sep=3, mask=4)
    assert tokenizer.get_vocab_size() <= 800


def test_pair_template(tokenizer):
    a, b = TEXTS[0]
    encoding = tokenizer.encode(a, b)
    ids_a = tokenizer.encode(a, add_special_tokens=False).ids
    ids_b = tokenizer.encode(b, add_special_tokens=False).ids
    assert encoding.ids == [2, *ids_a, 3, *ids_b, 3]
    assert encoding.type_ids == [0] * (len(ids_a) + 2) + [1] * (len(ids_b) + 1)


@pytest.mark.parametrize("loader", [PreTrainedTokenizerFast, AutoTokenizer])
def test_transformers_round_trip(tokenizer, loader, tmp_path):
    save_tokenizer(tokenizer, str(tmp_path))
    hf = loader.from_pretrained(str(tmp_path))
    assert [hf.pad_token_id, hf.unk_token_id, hf.cls_token_id, hf.sep_token_id, hf.mask_token_id] == [0, 1, 2, 3, 4]
    assert [hf.pad_token, hf.unk_token, hf.cls_token, hf.sep_token, hf.mask_token] == SPECIALS
    for a, b in TEXTS:
        ours = tokenizer.encode(a, b) if b else tokenizer.encode(a)
        theirs = hf(a, b) if b else hf(a)
        assert theirs["input_ids"] == ours.ids
        assert theirs["token_type_ids"] == ours.type_ids
    assert json.loads((tmp_path / "special_tokens_map.json").read_text())["mask_token"] == "[MASK]"


def test_load_tokenizer(tokenizer, tmp_path):
    save_tokenizer(tokenizer, str(tmp_path))
    for path in (str(tmp_path), tmp_path / "tokenizer.json"):  # str or os.PathLike
        loaded = load_tokenizer(path)
        assert [loaded.encode(a, b).ids for a, b in TEXTS] == [tokenizer.encode(a, b).ids for a, b in TEXTS]
    with pytest.raises(DataError, match="no tokenizer"):
        load_tokenizer(str(tmp_path / "missing"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DataError, match="broken.json"):
        load_tokenizer(str(tmp_path / "broken.json"))


def test_tokenize_corpus(tokenizer):
    corpus = [["First sentence here.", "", "Second one."], ["", "  "], ["Third document."]]
    docs = tokenize_corpus(tokenizer, corpus, progress=False)
    ids = {s: tokenizer.encode(s, add_special_tokens=False).ids for s in ("First sentence here.", "Second one.",
                                                                          "Third document.")}
    assert docs == [[ids["First sentence here."], ids["Second one."]], [ids["Third document."]]]
    assert not {0, 2, 3, 4} & {t for doc in docs for s in doc for t in s}


def test_word_continuation_ids(tokenizer):
    vocab = {i: t for t, i in tokenizer.get_vocab().items()}
    continuing = word_continuation_ids(tokenizer)
    assert continuing and not continuing & set(range(5))
    if isinstance(tokenizer.model, models.WordPiece):
        assert all(vocab[i].startswith("##") == (i in continuing) for i in vocab)
    else:
        assert all(vocab[i].startswith("\u2581") != (i in continuing) for i in vocab if i >= 5)


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_vocab_too_small(corpus, kind):
    with pytest.raises(DataError, match="too small"):
        train_tokenizer(corpus, vocab_size=30, kind=kind, progress=False)
    with pytest.raises(DataError, match="special tokens"):
        train_tokenizer(corpus, vocab_size=5, kind=kind, progress=False)


def test_bad_arguments_and_foreign_tokenizers(corpus, tmp_path):
    with pytest.raises(DataError, match="wordpiece, unigram"):
        train_tokenizer(corpus, kind="bpe", progress=False)
    foreign = Tokenizer(models.WordLevel({"[UNK]": 0, "[PAD]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}, "[UNK]"))
    with pytest.raises(DataError, match=r"\[PAD\] id 1"):
        SpecialTokens.from_tokenizer(foreign)
    foreign.save(str(tmp_path / "foreign.json"))
    with pytest.raises(DataError):
        load_tokenizer(str(tmp_path / "foreign.json"))

"""Long single texts keep their head, tail, or head and tail (Sun et al. 2019) when cut to max_seq_length."""
import pytest

from data_pipeline import train_tokenizer
from data_pipeline.glue import GlueExample
from finetune.runner import _encode
from pretrain.config import ConfigError

WORDS = [f"w{i}" for i in range(300)]


@pytest.fixture(scope="module")
def tokenizer():
    tok = train_tokenizer([[" ".join(WORDS)] * 3], vocab_size=400, progress=False)
    assert len(tok.encode(" ".join(WORDS), add_special_tokens=False).ids) == 300  # one token per word
    tok.enable_truncation(66, strategy="longest_first")
    return tok


def _kept(tok, mode, text):
    ((ids, types),) = _encode(tok, [GlueExample("1", text, None, 0)], mode)
    assert ids[0] == tok.token_to_id("[CLS]") and ids[-1] == tok.token_to_id("[SEP]") and set(types) == {0}
    return [tok.id_to_token(i) for i in ids[1:-1]]


@pytest.mark.parametrize("mode,expected", [("head", WORDS[:64]), ("tail", WORDS[-64:]),
                                           ("head_tail", WORDS[:16] + WORDS[-48:])])
def test_long_text_keeps_the_chosen_part(tokenizer, mode, expected):
    assert _kept(tokenizer, mode, " ".join(WORDS)) == expected


@pytest.mark.parametrize("mode", ["head", "tail", "head_tail"])
def test_short_text_is_kept_whole(tokenizer, mode):
    assert _kept(tokenizer, mode, " ".join(WORDS[:10])) == WORDS[:10]


def test_pairs_refuse_tail_truncation(tokenizer):
    with pytest.raises(ConfigError, match="single-text"):
        _encode(tokenizer, [GlueExample("1", "a", "b", 0)], "tail")

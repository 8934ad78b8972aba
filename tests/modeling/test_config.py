import json

import pytest
import torch

from modeling import PRESETS, AlbaForPreTraining, ConfigError, ModelConfig


def test_preset_with_overrides():
    cfg = ModelConfig.from_preset("albert-demo", vocab_size=4096, sentence_head="nsp")
    assert (cfg.vocab_size, cfg.sentence_head, cfg.embedding_size, cfg.hidden_size) == (4096, "nsp", 64, 128)
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size, cfg.sharing) == (4, 2, 512, "all")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_complete_and_valid(name):
    assert set(PRESETS[name]) == set(ModelConfig.field_names())
    ModelConfig.from_preset(name)


def test_family_defaults():
    bert, albert = ModelConfig.from_preset("bert-base"), ModelConfig.from_preset("albert-base")
    assert (bert.embedding_size, bert.sharing, bert.hidden_act, bert.hidden_dropout_prob, bert.sentence_head,
            bert.vocab_size) == (768, "none", "gelu", 0.1, "nsp", 30522)
    assert (albert.embedding_size, albert.sharing, albert.hidden_act, albert.hidden_dropout_prob,
            albert.sentence_head, albert.vocab_size) == (128, "all", "gelu_new", 0.0, "sop", 30000)


def test_dict_round_trip_is_json():
    cfg = ModelConfig.from_preset("albert-test", vocab_size=123)
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_unknown_preset_lists_presets():
    with pytest.raises(ConfigError, match="albert-huge.*albert-base"):
        ModelConfig.from_preset("albert-huge")


def test_unknown_field_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match="hiden_size.*valid fields:.*hidden_size"):
        ModelConfig.from_preset("albert-test", hiden_size=32)
    with pytest.raises(ConfigError, match="colour.*valid fields:.*vocab_size"):
        ModelConfig.from_dict({"colour": 1})


@pytest.mark.parametrize("overrides, field", [
    (dict(hidden_size=65), "hidden_size=65 must be divisible by num_attention_heads=2"),
    (dict(num_hidden_layers=0), "num_hidden_layers"),
    (dict(vocab_size=10.0), "vocab_size"),
    (dict(hidden_act="silu"), "hidden_act='silu' must be one of 'gelu', 'gelu_new', 'relu'"),
    (dict(sharing="some"), "sharing='some' must be one of 'none', 'all', 'attention', 'ffn'"),
    (dict(sentence_head="mlm"), "sentence_head"),
    (dict(hidden_dropout_prob=1.0), r"hidden_dropout_prob=1.0 must be a probability in \[0, 1\)"),
    (dict(layer_norm_eps=0), "layer_norm_eps"),
    (dict(num_hidden_groups=5), r"num_hidden_groups=5 must be in \[1, num_hidden_layers=4\]"),
    (dict(sharing="none", num_hidden_groups=2), "num_hidden_groups=2 must be 1 when sharing='none'"),
    (dict(pad_token_id=4096), "pad_token_id"),
])
def test_invalid_values_name_the_field(overrides, field):
    with pytest.raises(ConfigError, match=field):
        ModelConfig.from_preset("albert-demo", **{"vocab_size": 4096, **overrides})


def _meta_count(name, **overrides):
    with torch.device("meta"):
        return AlbaForPreTraining(ModelConfig.from_preset(name, **overrides)).num_parameters()


@pytest.mark.parametrize("name, millions, tolerance", [
    ("albert-base", 12, 0.03), ("albert-large", 18, 0.03), ("albert-xlarge", 60, 0.03),
    # The paper says 235M; its own architecture (and Hugging Face's albert-xxlarge-v2 card) comes to 223M.
    ("albert-xxlarge", 235, 0.055),
    ("bert-base", 110, 0.03), ("bert-large", 340, 0.03),
])
def test_parameter_counts_match_the_papers(name, millions, tolerance):
    assert abs(_meta_count(name) / 1e6 - millions) <= tolerance * millions


@pytest.mark.parametrize("name, millions", [("bert-base", 108), ("bert-large", 334)])
def test_bert_counts_with_albert_vocabulary(name, millions):
    assert abs(_meta_count(name, vocab_size=30000) / 1e6 - millions) <= 0.03 * millions

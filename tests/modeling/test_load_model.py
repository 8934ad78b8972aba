"""modeling.load_model: alba directories and transformers directories give the same model; the README's snippet
runs as written; unusable directories are one clear error."""
import json
import re

import pytest
import torch

from conftest import ROOT
from data_pipeline import embedded_corpus, save_tokenizer, train_tokenizer
from modeling import AlbaForPreTraining, ConfigError, ModelConfig, load_model

transformers = pytest.importorskip("transformers")

VOCAB = 99


def _inputs():
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, VOCAB, (2, 9), generator=g)
    attention_mask = torch.ones(2, 9, dtype=torch.long)
    attention_mask[1, -3:] = 0
    token_type_ids = (torch.arange(9) >= 4).long().expand(2, 9) * attention_mask
    return input_ids, token_type_ids, attention_mask


def _randomized(model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


def test_alba_directory(tmp_path):
    torch.manual_seed(0)
    model = _randomized(AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=VOCAB)))
    model.save_pretrained(tmp_path)
    loaded = load_model(tmp_path).eval()
    with torch.no_grad():
        a, b = model(*_inputs()), loaded(*_inputs())
    torch.testing.assert_close(b.mlm_logits, a.mlm_logits, atol=0, rtol=0)
    torch.testing.assert_close(b.sentence_logits, a.sentence_logits, atol=0, rtol=0)


@pytest.mark.parametrize("family", ["bert", "albert"])
def test_transformers_directory(family, tmp_path):
    shape = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                 max_position_embeddings=32)
    torch.manual_seed(0)
    if family == "bert":
        hf = transformers.BertForPreTraining(transformers.BertConfig(**shape))
    else:
        hf = transformers.AlbertForPreTraining(transformers.AlbertConfig(embedding_size=16, **shape))
    _randomized(hf).save_pretrained(tmp_path)
    model = load_model(tmp_path).eval()
    ids, types, mask = _inputs()
    with torch.no_grad():
        ref = hf(input_ids=ids, token_type_ids=types, attention_mask=mask)
        ours = model(ids, types, mask)
    ref_sentence = ref.seq_relationship_logits if family == "bert" else ref.sop_logits
    torch.testing.assert_close(ours.mlm_logits, ref.prediction_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.sentence_logits, ref_sentence, atol=1e-5, rtol=0)
    assert model.config.sentence_head == ("nsp" if family == "bert" else "sop")


def test_readme_snippet_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using a model from Python", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    run_dir = tmp_path / "runs" / "my-run"
    tokenizer = train_tokenizer(embedded_corpus()[:100], vocab_size=500, progress=False)
    save_tokenizer(tokenizer, run_dir)
    torch.manual_seed(0)
    AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=500)).save_pretrained(run_dir)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, "README.md", "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    length = namespace["input_ids"].shape[1]
    assert lines[:2] == [f"torch.Size([2, {length}, 500])", "torch.Size([2, 2])"]
    assert lines[2] == tokenizer.id_to_token(int(namespace["out"].mlm_logits[0, 2].argmax()))
    assert namespace["attention_mask"][1].sum() < length  # the second pair is shorter: padding was exercised


def test_unusable_directories_are_named(tmp_path):
    with pytest.raises(ConfigError, match="holds no config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="has no model.safetensors.*never pickled"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hiden_size": 32}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"config.json: unknown model config field\(s\) hiden_size"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({}))
    with pytest.raises(ConfigError, match="model.safetensors: not a readable safetensors file"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ConfigError, match="model_type='gpt2'; alba loads 'bert' and 'albert'"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match="model.safetensors: not a readable safetensors file"):
        load_model(tmp_path)


def test_weights_that_do_not_fit_are_named(tmp_path):
    AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=VOCAB)).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, sentence_head="none")))
    with pytest.raises(ConfigError, match="model.safetensors does not fit AlbaForPreTraining.*unexpected"):
        load_model(tmp_path)

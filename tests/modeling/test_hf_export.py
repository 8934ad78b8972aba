"""Export to Hugging Face `transformers`: the written directory loads with AutoModelForPreTraining and gives alba's
logits and hidden states (eval, fp32); options transformers cannot express are refused before anything is written."""
import json
import os
import subprocess
import sys

import pytest
import torch

from modeling import AlbaForPreTraining, ConfigError, ModelConfig, from_hf, to_hf
from modeling.hf_import import module_map

transformers = pytest.importorskip("transformers")

VOCAB, T = 99, 12
ATOL = 1e-5


def _model(**overrides):
    cfg = dict(vocab_size=VOCAB, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=48, max_position_embeddings=32, hidden_act="gelu_new", sharing="all",
               num_hidden_groups=1, sentence_head="sop", hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    cfg.update(overrides)
    torch.manual_seed(0)
    model = AlbaForPreTraining(ModelConfig(**cfg))
    # Zero biases and unit LayerNorm weights would hide a swapped or missing mapping.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model.eval()


BERT = dict(embedding_size=32, sharing="none", hidden_act="gelu", sentence_head="nsp", num_hidden_layers=2)
CASES = {
    "bert": (BERT, "BertForPreTraining"),
    "albert": ({}, "AlbertForPreTraining"),
    "albert-2-groups": (dict(num_hidden_layers=4, num_hidden_groups=2), "AlbertForPreTraining"),
    "albert-all-groups": (dict(num_hidden_layers=3, num_hidden_groups=3), "AlbertForPreTraining"),
    "unshared-factorized": (dict(sharing="none", sentence_head="nsp"), "AlbertForPreTraining"),
    "shared-unfactorized": (dict(embedding_size=32), "AlbertForPreTraining"),  # ALBERT's E = H ablation
}


def _batch():
    """A padded batch of pairs: row 1 has 4 padding positions, segment B marked with 1s."""
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(1, VOCAB, (3, T), generator=g)
    attention_mask = torch.ones(3, T, dtype=torch.long)
    attention_mask[1, -4:] = 0
    input_ids[1, -4:] = 0
    token_type_ids = torch.zeros(3, T, dtype=torch.long)
    token_type_ids[:, 5:] = 1
    token_type_ids[1, -4:] = 0
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)


def _sentence_logits(out):
    return out.sop_logits if hasattr(out, "sop_logits") else out.seq_relationship_logits


@pytest.mark.parametrize("case", sorted(CASES))
def test_exported_model_matches_in_transformers(case, tmp_path):
    overrides, architecture = CASES[case]
    model = _model(**overrides)
    assert to_hf(model, tmp_path / "hf") == architecture
    hf, info = transformers.AutoModelForPreTraining.from_pretrained(tmp_path / "hf", output_loading_info=True)
    hf.eval()
    assert type(hf).__name__ == architecture
    assert not any(info.values()), info  # no missing, unexpected or mismatched weights
    assert next(hf.parameters()).dtype == torch.float32
    inputs = _batch()
    with torch.no_grad():
        ref = hf(**inputs, output_hidden_states=True)
        ours = model(**inputs)
        hidden, _ = model.alba(**inputs)
    torch.testing.assert_close(ref.hidden_states[-1], hidden, atol=ATOL, rtol=0)
    torch.testing.assert_close(ref.prediction_logits, ours.mlm_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(_sentence_logits(ref), ours.sentence_logits, atol=ATOL, rtol=0)
    # And back: importing the export gives the same function again.
    back = from_hf(hf).eval()
    with torch.no_grad():
        torch.testing.assert_close(back(**inputs).mlm_logits, ours.mlm_logits, atol=ATOL, rtol=0)


@pytest.mark.parametrize("case", ["bert", "albert-2-groups"])
def test_training_loss_and_gradients_match_after_export(case, tmp_path):
    model = _model(**CASES[case][0]).train()
    to_hf(model, tmp_path / "hf")
    hf = transformers.AutoModelForPreTraining.from_pretrained(tmp_path / "hf").train()
    inputs = _batch()
    labels = torch.full((3, T), -100)
    labels[0, 2], labels[1, 3], labels[2, 9] = 5, 7, 11
    sentence = torch.tensor([0, 1, 1])
    label_name = "next_sentence_label" if case == "bert" else "sentence_order_label"
    ref = hf(**inputs, labels=labels, **{label_name: sentence}).loss
    ours = model(**inputs, mlm_labels=labels, sentence_labels=sentence).loss
    ref.backward()
    ours.backward()
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=0)
    # Every gradient, found under its transformers name.
    hf_params = dict(hf.named_parameters())
    modules = module_map(hf.config.model_type)
    for name, p in model.named_parameters():
        module, leaf = name.rsplit(".", 1)
        torch.testing.assert_close(p.grad, hf_params[f"{modules(module)}.{leaf}"].grad, atol=1e-4, rtol=0, msg=name)
    assert model.alba.encoder.attention[0].query.weight.grad.abs().max() > 1e-3


def test_model_without_sentence_head_exports_as_masked_lm(tmp_path):
    model = _model(**dict(BERT, sentence_head="none"))
    assert to_hf(model, tmp_path / "hf") == "BertForMaskedLM"
    hf = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    inputs = _batch()
    with torch.no_grad():
        torch.testing.assert_close(hf(**inputs).logits, model(**inputs).mlm_logits, atol=ATOL, rtol=0)


def _tokenizer_dir(path, size=40):
    from tokenizers import Tokenizer, models
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
                                        + [f"w{i}" for i in range(size - 5)])}
    path.mkdir()
    Tokenizer(models.WordLevel(vocab, unk_token="[UNK]")).save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "PreTrainedTokenizerFast",
                                                            "pad_token": "[PAD]", "unk_token": "[UNK]"}))
    return path


def test_directory_export_carries_the_tokenizer_and_loads_without_alba(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "alba")
    _tokenizer_dir(tmp_path / "tok")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "alba" / name).write_bytes((tmp_path / "tok" / name).read_bytes())
    to_hf(tmp_path / "alba", tmp_path / "hf")
    assert sorted(os.listdir(tmp_path / "hf")) == ["config.json", "model.safetensors", "tokenizer.json",
                                                   "tokenizer_config.json"]
    inputs = _batch()
    with torch.no_grad():
        expected = model(**inputs).sentence_logits
    torch.save({"inputs": inputs, "expected": expected}, tmp_path / "case.pt")
    # A fresh interpreter in which every alba package is unimportable.
    script = (
        "import sys\n"
        "for name in ('modeling', 'pretrain', 'data_pipeline', 'launch', 'finetune'): sys.modules[name] = None\n"
        "import torch, transformers\n"
        f"case = torch.load({str(tmp_path / 'case.pt')!r})\n"
        f"hf = transformers.AutoModelForPreTraining.from_pretrained({str(tmp_path / 'hf')!r}).eval()\n"
        f"tok = transformers.AutoTokenizer.from_pretrained({str(tmp_path / 'hf')!r})\n"
        "assert tok.convert_tokens_to_ids('w3') == 8, tok.convert_tokens_to_ids('w3')\n"
        "with torch.no_grad():\n"
        "    got = hf(**case['inputs']).sop_logits\n"
        "torch.testing.assert_close(got, case['expected'], atol=1e-5, rtol=0)\n"
        "print('ok')\n")
    env = dict(os.environ, PYTHONPATH="")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


@pytest.mark.parametrize("overrides, message", [
    (dict(sharing="attention", num_hidden_groups=1), "sharing='attention'.*cannot express"),
    (dict(sharing="ffn", num_hidden_groups=1), "sharing='ffn'.*cannot express"),
    (dict(num_hidden_layers=18, num_hidden_groups=14), "num_hidden_groups=14 with num_hidden_layers=18"),
])
def test_unrepresentable_models_are_refused_and_nothing_is_written(overrides, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        to_hf(_model(**overrides), tmp_path / "hf")
    assert os.listdir(tmp_path) == []


def test_bad_destinations_and_tokenizers_are_refused(tmp_path):
    model = _model()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(ConfigError, match="full already exists and is not empty"):
        to_hf(model, tmp_path / "full")
    with pytest.raises(ConfigError, match="no tokenizer at"):
        to_hf(model, tmp_path / "a", tokenizer=tmp_path / "missing")
    with pytest.raises(ConfigError, match=f"has 120 tokens but the model's vocab_size is {VOCAB}"):
        to_hf(model, tmp_path / "b", tokenizer=_tokenizer_dir(tmp_path / "tok", size=120))
    with pytest.raises(ConfigError, match="full has no config.json"):
        to_hf(tmp_path / "full", tmp_path / "c")
    assert sorted(os.listdir(tmp_path)) == ["full", "tok"]


def test_bf16_weights_are_written_as_they_are(tmp_path):
    model = _model().to(torch.bfloat16)
    to_hf(model, tmp_path / "hf")
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["dtype"] == "bfloat16"
    hf = transformers.AutoModelForPreTraining.from_pretrained(tmp_path / "hf", dtype="auto")
    ours = model.alba.encoder.ffn[0].intermediate.weight
    theirs = hf.albert.encoder.albert_layer_groups[0].albert_layers[0].ffn.weight
    assert theirs.dtype == torch.bfloat16 and torch.equal(theirs, ours)


def test_albert_with_e_equal_h_keeps_its_projection_and_exports_back(tmp_path):
    """transformers' ALBERT projects E -> H also where E == H: the projection is imported as it is (not only an
    identity), and written back unchanged, as are groups of several layers (inner_group_num)."""
    torch.manual_seed(0)
    hf = transformers.AlbertForPreTraining(transformers.AlbertConfig(
        vocab_size=VOCAB, embedding_size=32, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
        intermediate_size=48, num_hidden_groups=2, inner_group_num=2)).eval()
    model = from_hf(hf).eval()
    assert model.alba.embeddings.projection is not None and model.config.inner_group_num == 2
    inputs = _batch()
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).mlm_logits, hf(**inputs).prediction_logits, atol=ATOL, rtol=0)
    out = tmp_path / "hf"
    to_hf(model, out)
    back = transformers.AutoModelForPreTraining.from_pretrained(out).eval()
    assert (back.config.inner_group_num, back.config.num_hidden_groups) == (2, 2)
    theirs, ours = hf.state_dict(), back.state_dict()
    for key in theirs:
        torch.testing.assert_close(ours[key], theirs[key], atol=0, rtol=0, msg=key)



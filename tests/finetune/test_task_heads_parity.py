"""Fine-tuning heads against transformers' Bert/Albert*For* models with the same (imported) weights: logits and
losses agree to 1e-5; alba pretraining directories and the heads' own save/load round-trip."""
import pytest
import torch

from modeling import AlbaForPreTraining, ConfigError, ModelConfig
from modeling.task_heads import (AlbaForMultipleChoice, AlbaForQuestionAnswering, AlbaForSequenceClassification,
                                 AlbaForTokenClassification, export_to_transformers)

transformers = pytest.importorskip("transformers")

VOCAB, B, T = 99, 3, 12
ATOL = 1e-5
HEADS = {  # alba class, transformers class suffix
    "seq": (AlbaForSequenceClassification, "ForSequenceClassification"),
    "mc": (AlbaForMultipleChoice, "ForMultipleChoice"),
    "tok": (AlbaForTokenClassification, "ForTokenClassification"),
    "qa": (AlbaForQuestionAnswering, "ForQuestionAnswering"),
}


# ALBERT checkpoints in shapes beyond one layer per group and E < H: groups of several layers, and E == H.
ODD_ALBERT = dict(embedding_size=32, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)


def _hf_config(kind, **extra):
    if kind == "albert-odd":
        kind, extra = "albert", {**ODD_ALBERT, **extra}
    common = dict(vocab_size=VOCAB, hidden_size=32, num_attention_heads=4, intermediate_size=48,
                  max_position_embeddings=32)
    if kind == "albert":
        albert = dict(embedding_size=16, num_hidden_layers=3, hidden_act="gelu_new", hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, **common)
        return transformers.AlbertConfig(**{**albert, **extra})
    common.update(extra)
    return transformers.BertConfig(num_hidden_layers=2, hidden_act="gelu", **common)


def _hf_model(kind, suffix, tmp_path, **extra):
    """A randomised transformers model, saved to and returned with its directory."""
    torch.manual_seed(0)
    cls = getattr(transformers, ("Albert" if kind.startswith("albert") else "Bert") + suffix)
    hf = cls(_hf_config(kind, **extra))
    with torch.no_grad():  # biases 0 / LayerNorm 1 from init would hide swapped or missing mappings
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    hf.save_pretrained(tmp_path / "hf")
    return hf.eval(), tmp_path / "hf"


def _inputs(shape=(B, T)):
    g = torch.Generator().manual_seed(1)
    input_ids = torch.randint(1, VOCAB, shape, generator=g)
    attention_mask = torch.ones(shape, dtype=torch.long)
    attention_mask[..., 1, -4:] = 0  # one padded row (per choice group for multiple choice)
    token_type_ids = torch.zeros(shape, dtype=torch.long)
    token_type_ids[..., 5:] = 1
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)


@pytest.mark.parametrize("kind", ["bert", "albert", "albert-odd"])
@pytest.mark.parametrize("num_labels", [3, 1], ids=["classification", "regression"])
def test_sequence_classification_matches(tmp_path, kind, num_labels):
    hf, path = _hf_model(kind, "ForSequenceClassification", tmp_path, num_labels=num_labels)
    model = AlbaForSequenceClassification.from_transformers(path, num_labels=num_labels).eval()
    inputs = _inputs()
    labels = torch.tensor([0, 2, 1]) if num_labels > 1 else torch.tensor([0.5, 4.0, 2.25])
    with torch.no_grad():
        ref = hf(**inputs, labels=labels)
        ours = model(**inputs, labels=labels)
    torch.testing.assert_close(ours.logits, ref.logits.squeeze(-1) if num_labels == 1 else ref.logits,
                               atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, ref.loss, atol=ATOL, rtol=0)
    if num_labels > 1:
        assert int(ours.label_correct) == int((ref.logits.argmax(-1) == labels).sum())
    else:
        assert ours.label_correct is None
    assert int(ours.label_total) == B
    if kind == "albert-odd":  # and back to transformers, in the same shape
        export_to_transformers(model, tmp_path / "back")
        back = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "back").eval()
        assert (back.config.inner_group_num, back.config.embedding_size) == (2, 32)
        with torch.no_grad():
            torch.testing.assert_close(back(**inputs).logits, ref.logits, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_multiple_choice_matches(tmp_path, kind):
    hf, path = _hf_model(kind, "ForMultipleChoice", tmp_path)
    model = AlbaForMultipleChoice.from_transformers(path).eval()
    inputs, labels = _inputs((B, 4, T)), torch.tensor([3, 0, 1])
    with torch.no_grad():
        ref, ours = hf(**inputs, labels=labels), model(**inputs, labels=labels)
    torch.testing.assert_close(ours.logits, ref.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, ref.loss, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_token_classification_matches(tmp_path, kind):
    hf, path = _hf_model(kind, "ForTokenClassification", tmp_path, num_labels=5)
    model = AlbaForTokenClassification.from_transformers(path, num_labels=5).eval()
    inputs = _inputs()
    labels = torch.randint(0, 5, (B, T), generator=torch.Generator().manual_seed(2))
    labels[1, -4:] = -100
    labels[0, 0] = -100
    with torch.no_grad():
        ref, ours = hf(**inputs, labels=labels), model(**inputs, labels=labels)
    torch.testing.assert_close(ours.logits, ref.logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, ref.loss, atol=ATOL, rtol=0)
    assert int(ours.label_total) == int((labels != -100).sum())


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_question_answering_matches(tmp_path, kind):
    hf, path = _hf_model(kind, "ForQuestionAnswering", tmp_path)
    model = AlbaForQuestionAnswering.from_transformers(path).eval()
    inputs = _inputs()
    # The last example's answer lies beyond the window: both implementations ignore it.
    start, end = torch.tensor([2, 6, 40]), torch.tensor([4, 6, 45])
    with torch.no_grad():
        ref = hf(**inputs, start_positions=start, end_positions=end)
        ours = model(**inputs, start_positions=start, end_positions=end)
    torch.testing.assert_close(ours.start_logits, ref.start_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.end_logits, ref.end_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, ref.loss, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", ["bert", "albert"])
def test_body_from_pretraining_checkpoint_matches(tmp_path, kind):
    """A transformers pretraining checkpoint gives the encoder and pooler; the classifier starts fresh."""
    hf, path = _hf_model(kind, "ForPreTraining", tmp_path)
    model = AlbaForSequenceClassification.from_transformers(path, num_labels=2).eval()
    inputs = _inputs()
    body = hf.albert if kind == "albert" else hf.bert
    with torch.no_grad():
        ref = body(**inputs)
        hidden, pooled = model.alba(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
    torch.testing.assert_close(hidden, ref.last_hidden_state, atol=ATOL, rtol=0)
    torch.testing.assert_close(pooled, ref.pooler_output, atol=ATOL, rtol=0)


def test_head_shape_mismatch_is_refused(tmp_path):
    _, path = _hf_model("bert", "ForSequenceClassification", tmp_path, num_labels=3)
    with pytest.raises(ConfigError, match="num_labels"):
        AlbaForSequenceClassification.from_transformers(path, num_labels=2)


def test_alba_pretraining_directory_and_round_trip(tmp_path):
    config = ModelConfig.from_preset("albert-test", vocab_size=VOCAB)
    torch.manual_seed(0)
    pretrained = AlbaForPreTraining(config).eval()
    pretrained.save_pretrained(tmp_path / "pre")
    model = AlbaForSequenceClassification.from_pretraining(tmp_path / "pre", num_labels=3).eval()
    inputs = _inputs()
    with torch.no_grad():
        expected = pretrained.alba(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        got = model.alba(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        for a, b in zip(got, expected):
            torch.testing.assert_close(a, b, atol=0, rtol=0)
        model.save_pretrained(tmp_path / "ft")
        again = AlbaForSequenceClassification.from_pretrained(tmp_path / "ft").eval()
        torch.testing.assert_close(again(**inputs).logits, model(**inputs).logits, atol=0, rtol=0)
    assert again.num_labels == 3
    with pytest.raises(ConfigError, match="head.json"):
        AlbaForSequenceClassification.from_pretrained(tmp_path / "pre")
    with pytest.raises(ConfigError, match="question_answering"):
        AlbaForQuestionAnswering.from_pretrained(tmp_path / "ft")


def test_pretraining_without_sentence_head_leaves_pooler_fresh(tmp_path):
    config = ModelConfig.from_preset("albert-test", vocab_size=VOCAB, sentence_head="none")
    AlbaForPreTraining(config).save_pretrained(tmp_path / "pre")
    model = AlbaForSequenceClassification.from_pretraining(tmp_path / "pre")
    assert model.alba.pooler is not None


@pytest.mark.parametrize("preset", ["bert-tiny", "albert-test"])
@pytest.mark.parametrize("make", [lambda c: AlbaForSequenceClassification(c, num_labels=3),
                                  lambda c: AlbaForSequenceClassification(c, num_labels=1),
                                  lambda c: AlbaForTokenClassification(c, num_labels=4),
                                  AlbaForQuestionAnswering, AlbaForMultipleChoice],
                         ids=["classification", "regression", "token", "qa", "multiple-choice"])
def test_export_round_trip(tmp_path, preset, make):
    """A fine-tuned model written as a transformers directory loads there (without alba) and gives the same outputs."""
    torch.manual_seed(0)
    model = make(ModelConfig.from_preset(preset, vocab_size=VOCAB, max_position_embeddings=32))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    name = export_to_transformers(model, tmp_path / "hf")
    hf = getattr(transformers, name).from_pretrained(tmp_path / "hf").eval()
    inputs = _inputs((B, 2, T) if isinstance(model, AlbaForMultipleChoice) else (B, T))
    with torch.no_grad():
        ours, ref = model(**inputs), hf(**inputs)
    if isinstance(model, AlbaForQuestionAnswering):
        torch.testing.assert_close(ours.start_logits, ref.start_logits, atol=ATOL, rtol=0)
        torch.testing.assert_close(ours.end_logits, ref.end_logits, atol=ATOL, rtol=0)
    else:
        torch.testing.assert_close(ours.logits, ref.logits.reshape(ours.logits.shape), atol=ATOL, rtol=0)
    with pytest.raises(ConfigError, match="not empty"):
        export_to_transformers(model, tmp_path / "hf")

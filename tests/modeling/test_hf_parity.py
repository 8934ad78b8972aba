"""Parity with Hugging Face `transformers` (random init from tiny configs, fp32): same logits, losses, gradients."""
import pytest
import torch
import torch.nn.functional as F

from modeling import ConfigError, from_hf

transformers = pytest.importorskip("transformers")

VOCAB, T = 99, 12
ATOL = 1e-5


def _randomize(model):
    # HF's init leaves biases 0 and LayerNorm weights 1, which would hide swapped or missing mappings.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def _albert(**overrides):
    cfg = dict(vocab_size=VOCAB, embedding_size=16, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=48, max_position_embeddings=32, hidden_act="gelu_new", hidden_dropout_prob=0.0,
               attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)
    cfg.update(overrides)
    torch.manual_seed(0)
    return _randomize(transformers.AlbertForPreTraining(transformers.AlbertConfig(**cfg))).eval()


def _bert(**overrides):
    cfg = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
               max_position_embeddings=32, hidden_act="gelu")
    cfg.update(overrides)
    torch.manual_seed(0)
    return _randomize(transformers.BertForPreTraining(transformers.BertConfig(**cfg))).eval()


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
    mlm_labels = torch.full((3, T), -100)
    for row, col in [(0, 1), (0, 7), (1, 3), (2, 2), (2, 10), (2, 11)]:
        mlm_labels[row, col] = int(torch.randint(0, VOCAB, (1,), generator=g))
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids), mlm_labels


def _hf_body(hf):
    return hf.albert if hf.config.model_type == "albert" else hf.bert


def _hf_sentence_logits(out):
    return out.sop_logits if hasattr(out, "sop_logits") else out.seq_relationship_logits


@pytest.mark.parametrize("make_hf, sentence_head", [
    (_albert, "sop"), (_bert, "nsp"), (lambda: _albert(num_hidden_layers=4, num_hidden_groups=2), "sop"),
    # ALBERT's other shapes: groups of several different layers, and E == H with its (non-identity) projection.
    (lambda: _albert(inner_group_num=2), "sop"),
    (lambda: _albert(num_hidden_layers=4, num_hidden_groups=2, inner_group_num=3, num_attention_heads=2), "sop"),
    (lambda: _albert(embedding_size=32), "sop"),
    (lambda: _albert(embedding_size=32, inner_group_num=2, num_hidden_layers=2, num_hidden_groups=2), "sop")],
    ids=["albert", "bert", "albert-2-groups", "albert-inner-2", "albert-2-groups-inner-3", "albert-e-equals-h",
         "albert-e-equals-h-inner-2-groups-2"])
def test_outputs_match(make_hf, sentence_head):
    hf = make_hf()
    model = from_hf(hf).eval()
    assert model.config.sentence_head == sentence_head
    inputs, mlm_labels = _batch()
    with torch.no_grad():
        ref = hf(**inputs)
        ref_hidden = _hf_body(hf)(**inputs).last_hidden_state
        ours = model(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        hidden, _ = model.alba(inputs["input_ids"], inputs["token_type_ids"], inputs["attention_mask"])
        sparse = model(**inputs, mlm_labels=mlm_labels)
    torch.testing.assert_close(hidden, ref_hidden, atol=ATOL, rtol=0)
    assert ours.mlm_logits.shape == (3, T, VOCAB)
    torch.testing.assert_close(ours.mlm_logits, ref.prediction_logits, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.sentence_logits, _hf_sentence_logits(ref), atol=ATOL, rtol=0)
    # The sparse head computes exactly the labelled rows of the full logits.
    selected = mlm_labels != -100
    assert sparse.mlm_logits.shape == (int(selected.sum()), VOCAB)
    torch.testing.assert_close(sparse.mlm_logits, ours.mlm_logits[selected], atol=1e-6, rtol=0)


def test_no_token_type_ids_means_segment_zero():
    hf = _albert()
    model = from_hf(hf).eval()
    inputs, _ = _batch()
    with torch.no_grad():
        ref = hf(input_ids=inputs["input_ids"]).prediction_logits
        ours = model(inputs["input_ids"]).mlm_logits
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("make_hf", [_albert, _bert], ids=["albert", "bert"])
def test_losses_match(make_hf):
    hf = make_hf()
    model = from_hf(hf).eval()
    inputs, mlm_labels = _batch()
    sentence_labels = torch.tensor([0, 1, -100])
    label_name = "sentence_order_label" if hf.config.model_type == "albert" else "next_sentence_label"
    with torch.no_grad():
        ref = hf(**inputs, labels=mlm_labels, **{label_name: sentence_labels})
        ours = model(**inputs, mlm_labels=mlm_labels, sentence_labels=sentence_labels)
    ref_sentence_loss = F.cross_entropy(_hf_sentence_logits(ref), sentence_labels)
    torch.testing.assert_close(ours.sentence_loss, ref_sentence_loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.mlm_loss, ref.loss - ref_sentence_loss, atol=ATOL, rtol=0)
    torch.testing.assert_close(ours.loss, ref.loss, atol=ATOL, rtol=0)
    assert (ours.mlm_total.item(), ours.sentence_total.item()) == (6, 2)


def test_training_step_gradients_match_albert():
    hf = _albert().train()
    model = from_hf(hf).train()
    inputs, mlm_labels = _batch()
    sentence_labels = torch.tensor([1, 0, 1])
    ref = hf(**inputs, labels=mlm_labels, sentence_order_label=sentence_labels).loss
    ours = model(**inputs, mlm_labels=mlm_labels, sentence_labels=sentence_labels).loss
    ref.backward()
    ours.backward()
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=0)
    ref_grad = hf.albert.embeddings.word_embeddings.weight.grad
    grad = model.alba.embeddings.word_embeddings.weight.grad
    assert ref_grad.abs().max() > 1e-3  # the comparison below is not between two zero tensors
    torch.testing.assert_close(grad, ref_grad, atol=1e-4, rtol=0)
    # The shared layer's gradient sums over its three uses in both.
    ref_ffn = hf.albert.encoder.albert_layer_groups[0].albert_layers[0].ffn.weight.grad
    torch.testing.assert_close(model.alba.encoder.ffn[0].intermediate.weight.grad, ref_ffn, atol=1e-4, rtol=0)


def test_masked_lm_model_imports_without_sentence_head():
    torch.manual_seed(0)
    hf = transformers.BertForMaskedLM(transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=48,
        max_position_embeddings=32)).eval()
    model = from_hf(hf).eval()
    assert model.config.sentence_head == "none" and model.alba.pooler is None
    inputs, _ = _batch()
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).mlm_logits, hf(**inputs).logits, atol=ATOL, rtol=0)


@pytest.mark.parametrize("overrides, field", [
    (dict(hidden_act="silu"), "hidden_act"),
    (dict(tie_word_embeddings=False), "tie_word_embeddings"),
    (dict(num_hidden_layers=18, num_hidden_groups=14), "num_hidden_groups"),  # float grouping differs at 18/14
])
def test_unrepresentable_options_are_refused(overrides, field):
    base = dict(vocab_size=VOCAB, embedding_size=16, hidden_size=32, num_attention_heads=4, intermediate_size=48,
                num_hidden_layers=3)
    cfg = transformers.AlbertConfig(**{**base, **overrides})
    with pytest.raises(ConfigError, match=field):
        from_hf(cfg, state_dict={})


def test_leftover_weights_are_refused():
    hf = _albert()
    state = dict(hf.state_dict(), **{"extra.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="extra.weight"):
        from_hf(hf.config, state)

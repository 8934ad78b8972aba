import json

import pytest
import torch

from modeling import AlbaForPreTraining, AlbaModel, ModelConfig

VOCAB, T = 97, 10


def _config(**overrides):
    return ModelConfig.from_preset("albert-test", **{"vocab_size": VOCAB, "num_hidden_layers": 4, **overrides})


def _inputs(batch=3):
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, VOCAB, (batch, T), generator=g)
    attention_mask = torch.ones(batch, T, dtype=torch.long)
    attention_mask[-1, -3:] = 0
    token_type_ids = (torch.arange(T) >= T // 2).long().expand(batch, T)
    return input_ids, token_type_ids, attention_mask


def _labels(batch=3):
    labels = torch.full((batch, T), -100)
    labels[0, 2], labels[1, 5], labels[2, 1] = 4, 9, 16
    return labels


def _model(config, seed=0):
    torch.manual_seed(seed)
    return AlbaForPreTraining(config).eval()


def test_shapes_and_output_fields():
    model = _model(_config())
    inputs = _inputs()
    out = model(*inputs)
    assert out.mlm_logits.shape == (3, T, VOCAB) and out.sentence_logits.shape == (3, 2)
    assert out.loss is None and out.mlm_loss is None and out.sentence_loss is None
    for count in (out.mlm_correct, out.mlm_total, out.sentence_correct, out.sentence_total):
        assert count.dtype == torch.long and count.dim() == 0 and count.item() == 0
    out = model(*inputs, mlm_labels=_labels())
    assert out.mlm_logits.shape == (3, VOCAB) and out.loss is out.mlm_loss and out.sentence_loss is None
    out = model(*inputs, sentence_labels=torch.tensor([0, 1, 1]))
    assert out.loss is out.sentence_loss and out.mlm_loss is None
    out = model(*inputs, mlm_labels=_labels(), sentence_labels=torch.tensor([0, 1, 1]))
    torch.testing.assert_close(out.loss, out.mlm_loss + out.sentence_loss)


def test_accuracy_counts():
    model = _model(_config())
    inputs, labels = _inputs(), _labels()
    with torch.no_grad():
        full = model(*inputs)
    predicted = full.mlm_logits.argmax(-1)
    selected = labels != -100
    right = torch.where(selected, predicted, labels)
    wrong = right.clone()
    wrong[0, 2] = (predicted[0, 2] + 1) % VOCAB
    sentence_predicted = full.sentence_logits.argmax(-1)
    sentence_labels = torch.stack([sentence_predicted[0], 1 - sentence_predicted[1], torch.tensor(-100)])
    out = model(*inputs, mlm_labels=right, sentence_labels=sentence_labels)
    assert (out.mlm_correct.item(), out.mlm_total.item()) == (3, 3)
    assert (out.sentence_correct.item(), out.sentence_total.item()) == (1, 2)
    out = model(*inputs, mlm_labels=wrong)
    assert (out.mlm_correct.item(), out.mlm_total.item()) == (2, 3)


def test_nothing_to_predict_gives_zero_loss_not_nan():
    model = _model(_config())
    out = model(*_inputs(), mlm_labels=torch.full((3, T), -100), sentence_labels=torch.full((3,), -100))
    assert out.loss.item() == 0.0
    out.loss.backward()
    assert out.mlm_logits.shape == (0, VOCAB)


def test_padding_is_ignored_and_all_padding_stays_finite():
    model = _model(_config())
    input_ids, token_type_ids, attention_mask = _inputs()
    changed = input_ids.clone()
    changed[-1, -3:] = 5  # different tokens behind the padding mask
    with torch.no_grad():
        a = model(input_ids, token_type_ids, attention_mask).mlm_logits
        b = model(changed, token_type_ids, attention_mask).mlm_logits
        attention_mask[0] = 0
        empty = model(input_ids, token_type_ids, attention_mask)
    torch.testing.assert_close(a[:, :-3], b[:, :-3], atol=1e-6, rtol=0)
    assert not torch.equal(a[-1, -3:], b[-1, -3:])
    assert torch.isfinite(empty.mlm_logits).all() and torch.isfinite(empty.sentence_logits).all()


def test_bf16_autocast_with_padding():
    model = _model(_config())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(*_inputs(), mlm_labels=_labels(), sentence_labels=torch.tensor([0, 1, 1]))
    assert out.loss.dtype == torch.float32 and torch.isfinite(out.loss)


def test_dropout_only_in_training():
    model = _model(_config(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3))
    inputs = _inputs()
    with torch.no_grad():
        assert torch.equal(model(*inputs).mlm_logits, model(*inputs).mlm_logits)
        model.train()
        assert not torch.equal(model(*inputs).mlm_logits, model(*inputs).mlm_logits)


def test_without_sentence_head():
    model = _model(_config(sentence_head="none"))
    assert model.alba.pooler is None and model.sentence_classifier is None
    out = model(*_inputs(), mlm_labels=_labels())
    assert out.sentence_logits is None and out.loss is out.mlm_loss
    out.loss.backward()
    assert all(p.grad is not None for p in model.parameters())  # nothing unused (DDP-safe)
    with pytest.raises(ValueError, match="sentence_head='none'"):
        model(*_inputs(), sentence_labels=torch.tensor([0, 1, 1]))


def test_decoder_is_tied_to_word_embeddings():
    model = _model(_config())
    assert not any(p.shape == (VOCAB, model.config.embedding_size) for n, p in model.named_parameters()
                   if "word_embeddings" not in n)
    with torch.no_grad():
        model.alba.embeddings.word_embeddings.weight[7] += 1.0
    hidden = torch.randn(2, model.config.hidden_size)
    transformed = model.mlm_head.layer_norm(model.mlm_head.activation(model.mlm_head.dense(hidden)))
    expected = transformed @ model.alba.embeddings.word_embeddings.weight.T + model.mlm_head.bias
    torch.testing.assert_close(model.mlm_head(hidden, model.alba.embeddings.word_embeddings.weight), expected)


def test_init():
    model = _model(ModelConfig.from_preset("bert-tiny", vocab_size=VOCAB, initializer_range=0.05))
    weight = model.alba.encoder.ffn[1].intermediate.weight
    assert 0.035 < weight.std() < 0.05 and weight.abs().max() <= 0.1  # truncated at 2 std
    assert not model.alba.encoder.ffn[1].intermediate.bias.any() and not model.mlm_head.bias.any()
    assert torch.equal(model.alba.embeddings.layer_norm.weight, torch.ones(128))
    assert not model.alba.embeddings.word_embeddings.weight[0].any()  # pad row
    assert model.alba.embeddings.projection is None  # E == H


def _copy_into_unshared(shared, unshared):
    """Load the shared model's weights into an unshared one, repeating each shared block in every layer using it."""
    state = {}
    for name, tensor in shared.state_dict().items():
        if ".encoder." not in name:
            state[name] = tensor
            continue
        prefix, rest = name.split(".encoder.")
        kind, index, leaf = rest.split(".", 2)
        uses = shared.alba.encoder.attention_index if kind == "attention" else shared.alba.encoder.ffn_index
        for layer, used in enumerate(uses):
            if used == int(index):
                state[f"{prefix}.encoder.{kind}.{layer}.{leaf}"] = tensor
    unshared.load_state_dict(state)


@pytest.mark.parametrize("sharing, groups, attention_blocks, ffn_blocks", [
    ("attention", 1, 1, 4), ("ffn", 1, 4, 1), ("all", 1, 1, 1), ("all", 2, 2, 2), ("attention", 2, 2, 4),
    ("ffn", 2, 4, 2),
])
def test_sharing_equals_unshared_copies(sharing, groups, attention_blocks, ffn_blocks):
    shared = _model(_config(sharing=sharing, num_hidden_groups=groups), seed=1)
    unshared = _model(_config(sharing="none"), seed=2)
    encoder = shared.alba.encoder
    assert (len(encoder.attention), len(encoder.ffn)) == (attention_blocks, ffn_blocks)
    if groups == 2:
        shared_index = encoder.ffn_index if sharing == "ffn" else encoder.attention_index
        assert shared_index == (0, 0, 1, 1)
    _copy_into_unshared(shared, unshared)
    inputs, labels = _inputs(), _labels()
    a = shared(*inputs, mlm_labels=labels, sentence_labels=torch.tensor([0, 1, 0]))
    b = unshared(*inputs, mlm_labels=labels, sentence_labels=torch.tensor([0, 1, 0]))
    torch.testing.assert_close(a.mlm_logits, b.mlm_logits, atol=1e-6, rtol=0)
    torch.testing.assert_close(a.sentence_logits, b.sentence_logits, atol=1e-6, rtol=0)
    # A shared block's gradient is the sum of its copies' gradients.
    a.loss.backward()
    b.loss.backward()
    users = [i for i, used in enumerate(encoder.attention_index) if used == 0]
    copies = sum(unshared.alba.encoder.attention[i].query.weight.grad for i in users)
    torch.testing.assert_close(encoder.attention[0].query.weight.grad, copies, atol=1e-6, rtol=1e-5)
    users = [i for i, used in enumerate(encoder.ffn_index) if used == 0]
    copies = sum(unshared.alba.encoder.ffn[i].intermediate.weight.grad for i in users)
    torch.testing.assert_close(encoder.ffn[0].intermediate.weight.grad, copies, atol=1e-6, rtol=1e-5)
    # Unique parameters only: the unshared model has the extra blocks.
    block = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    extra = ((4 - attention_blocks) * block(unshared.alba.encoder.attention[0])
             + (4 - ffn_blocks) * block(unshared.alba.encoder.ffn[0]))
    assert unshared.num_parameters() - shared.num_parameters() == extra


def test_base_model_outputs():
    config = _config()
    torch.manual_seed(0)
    body = AlbaModel(config)
    sequence, pooled = body(*_inputs())
    assert sequence.shape == (3, T, config.hidden_size) and pooled.shape == (3, config.hidden_size)
    torch.testing.assert_close(pooled, torch.tanh(body.pooler.dense(sequence[:, 0])))


def test_save_and_load_round_trip(tmp_path):
    model = _model(_config(sentence_head="nsp", sharing="ffn"))
    target = tmp_path / "new" / "dir"
    model.save_pretrained(target)
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "model.safetensors"]
    assert json.loads((target / "config.json").read_text()) == model.config.to_dict()
    loaded = AlbaForPreTraining.from_pretrained(target).eval()
    assert loaded.config == model.config
    inputs, labels = _inputs(), _labels()
    a, b = model(*inputs, mlm_labels=labels), loaded(*inputs, mlm_labels=labels)
    assert torch.equal(a.mlm_logits, b.mlm_logits) and torch.equal(a.sentence_logits, b.sentence_logits)
    assert all(p.requires_grad for p in loaded.parameters())


def test_too_long_input_is_refused():
    model = _model(_config(max_position_embeddings=8))
    with pytest.raises(ValueError, match="max_position_embeddings=8"):
        model(torch.ones(1, 9, dtype=torch.long))


def test_meta_construction_then_init_weights():
    # The way large models are built from outside: shapes on meta, memory with to_empty, then init_weights().
    with torch.device("meta"):
        model = AlbaForPreTraining(_config())
    model.to_empty(device="cpu")
    model.init_weights()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not model.mlm_head.bias.any() and torch.equal(model.mlm_head.layer_norm.weight, torch.ones(32))
    assert 0.015 < model.alba.encoder.attention[0].query.weight.std() < 0.02

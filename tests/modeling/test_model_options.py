"""Implementation options (gradient checkpointing, compiled layers) change nothing that the model computes; bad
inputs are refused with the offending values named."""
import pytest
import torch

import modeling.encoder as encoder
from modeling import AlbaForPreTraining, ConfigError, ModelConfig

VOCAB, T = 97, 10


def _config(**overrides):
    return ModelConfig.from_preset("albert-test", **{"vocab_size": VOCAB, "num_hidden_layers": 3, **overrides})


def _batch():
    g = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, VOCAB, (3, T), generator=g)
    attention_mask = torch.ones(3, T, dtype=torch.long)
    attention_mask[2, -3:] = 0
    token_type_ids = (torch.arange(T) >= T // 2).long().expand(3, T) * attention_mask
    labels = torch.full((3, T), -100)
    labels[0, 2], labels[1, 5], labels[2, 1] = 4, 9, 16
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask,
                mlm_labels=labels, sentence_labels=torch.tensor([0, 1, 1]))


def _step(config):
    """Loss, gradients and the number of tensors autograd saved, for one training forward/backward with dropout."""
    torch.manual_seed(0)
    model = AlbaForPreTraining(config).train()
    saved = []
    torch.manual_seed(1)  # the dropout masks
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        loss = model(**_batch()).loss
    loss.backward()
    return loss.detach(), {n: p.grad for n, p in model.named_parameters()}, len(saved)


@pytest.mark.parametrize("sharing", ["none", "all", "attention", "ffn"])
def test_gradient_checkpointing_gives_the_same_gradients(sharing):
    # A wide init, so that every gradient is far above the tolerance.
    overrides = dict(sharing=sharing, initializer_range=0.2, hidden_dropout_prob=0.1,
                     attention_probs_dropout_prob=0.1)
    loss, grads, saved = _step(_config(**overrides))
    loss_ckpt, grads_ckpt, saved_ckpt = _step(_config(gradient_checkpointing=True, **overrides))
    assert saved_ckpt < saved / 2  # the layers' activations really were dropped
    torch.testing.assert_close(loss_ckpt, loss, atol=1e-6, rtol=0)
    assert grads.keys() == grads_ckpt.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grads_ckpt[name], grad, atol=1e-6, rtol=0, msg=name)
    assert grads["alba.encoder.attention.0.query.weight"].abs().max() > 1e-2


def test_checkpointing_is_skipped_without_grad(monkeypatch):
    """Under no_grad (evaluation) the layers run plainly: checkpoint() is not even called, so evaluation pays
    nothing for it (it would save RNG states and re-enter every layer), and the output is the same."""
    calls = []
    real_checkpoint = encoder.checkpoint
    monkeypatch.setattr(encoder, "checkpoint", lambda *a, **k: calls.append(1) or real_checkpoint(*a, **k))
    torch.manual_seed(0)
    model = AlbaForPreTraining(_config(gradient_checkpointing=True)).eval()
    batch = _batch()
    with torch.no_grad():
        out = model(**batch)
    assert calls == []
    model(**batch)
    assert len(calls) == 3  # with grad, every layer is checkpointed
    model.alba.encoder.gradient_checkpointing = False
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).mlm_logits, out.mlm_logits, atol=0, rtol=0)


@pytest.mark.slow
def test_compiled_layers_compute_the_same():
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    loss, grads, _ = _step(_config())
    loss_c, grads_c, _ = _step(_config(compile_layers=True))
    assert counters["stats"]["unique_graphs"] >= 2  # attention and feed-forward blocks were compiled
    torch.testing.assert_close(loss_c, loss, atol=1e-5, rtol=0)
    for name, grad in grads.items():
        torch.testing.assert_close(grads_c[name], grad, atol=1e-5, rtol=0, msg=name)
    assert AlbaForPreTraining(_config(compile_layers=True)).state_dict().keys() == \
        AlbaForPreTraining(_config()).state_dict().keys()


@pytest.mark.parametrize("change, message", [
    (lambda b: b["input_ids"].__setitem__((0, 3), VOCAB), rf"input_ids range from \d+ to {VOCAB}, outside \[0, "
                                                          rf"vocab_size={VOCAB}\)"),
    (lambda b: b["input_ids"].__setitem__((1, 0), -1), r"input_ids range from -1 to \d+"),
    (lambda b: b["token_type_ids"].__setitem__((0, 0), 2), r"token_type_ids range from 0 to 2, outside \[0, "
                                                           r"type_vocab_size=2\)"),
    (lambda b: b.update(token_type_ids=b["token_type_ids"][:, :-1]),
     r"token_type_ids shape \(3, 9\) differs from input_ids shape \(3, 10\)"),
    (lambda b: b.update(attention_mask=b["attention_mask"][:2]),
     r"attention_mask shape \(2, 10\) differs from input_ids shape \(3, 10\)"),
    (lambda b: b.update(input_ids=b["input_ids"][0], token_type_ids=None, attention_mask=None, mlm_labels=None),
     r"input_ids must be \(batch, length\); got shape \(10,\)"),
    (lambda b: b.update(input_ids=torch.ones(3, 129, dtype=torch.long), token_type_ids=None, attention_mask=None,
                        mlm_labels=None),
     "sequence length 129 exceeds max_position_embeddings=128"),
])
def test_bad_inputs_name_the_values(change, message):
    model = AlbaForPreTraining(_config()).eval()
    batch = _batch()
    change(batch)
    with pytest.raises(ValueError, match=message):
        model(**batch)


@pytest.mark.parametrize("overrides, message", [
    (dict(hidden_size=50, num_attention_heads=4), "hidden_size=50 must be divisible by num_attention_heads=4"),
    (dict(hidden_act="swish"), "hidden_act='swish' must be one of 'gelu', 'gelu_new'"),
    (dict(sharing="layers"), "sharing='layers' must be one of 'none', 'all', 'attention', 'ffn'"),
    (dict(gradient_checkpointing="yes"), "gradient_checkpointing='yes' must be true or false"),
    (dict(compile_layers=1), "compile_layers=1 must be true or false"),
])
def test_bad_configs_are_refused_at_construction(overrides, message):
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)

"""Unpadded batches (ModelConfig.unpad) compute what the padded path computes, at every real token and in every
gradient, for padded and packed rows, with either attention core; padding positions come out zero."""
import pytest
import torch

from modeling import AlbaForPreTraining, ModelConfig

VOCAB, T = 97, 12


def _config(unpad, **overrides):
    return ModelConfig.from_preset("albert-test", **{"vocab_size": VOCAB, "num_hidden_layers": 3,
                                                    "initializer_range": 0.2, "unpad": unpad, **overrides})


def _batch(packed=False):
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([T, 7, 3, 9])
    real = torch.arange(T)[None, :] < lengths[:, None]
    input_ids = torch.randint(1, VOCAB, (4, T), generator=g) * real
    labels = torch.full((4, T), -100)
    labels[0, 2], labels[1, 5], labels[2, 1], labels[3, 8] = 4, 9, 16, 30
    batch = dict(input_ids=input_ids, token_type_ids=(torch.arange(T) >= 4).long() * real,
                 attention_mask=real.long(), mlm_labels=labels, sentence_labels=torch.tensor([0, 1, 1, 0]))
    if packed:  # rows 0 and 3 hold two pairs each: positions 0-4 and 5-, 0-3 and 4-8
        pack_ids = real.long()
        pack_ids[0, 5:] = 2
        pack_ids[3, 4:9] = 2
        batch.update(attention_mask=None, pack_ids=pack_ids, position_ids=torch.arange(T).expand(4, T).clone(),
                     cls_positions=torch.tensor([[0, 5], [0, 0], [0, 0], [0, 4]]),
                     sentence_labels=torch.tensor([[0, 1], [1, -100], [1, -100], [0, 1]]))
    return batch


def _run(config, batch):
    torch.manual_seed(0)
    model = AlbaForPreTraining(config).eval()  # no dropout: both paths must give the same numbers
    out = model(**batch)
    out.loss.backward()
    sequence = model.alba(**{k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
                          ).sequence_output if "pack_ids" not in batch else None
    return out, sequence, {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("unpad", ["always", "jagged"])
@pytest.mark.parametrize("overrides", [dict(), dict(sharing="none"), dict(gradient_checkpointing=True)])
def test_unpadded_equals_padded(unpad, overrides):
    batch = _batch()
    padded, seq_padded, grads_padded = _run(_config("never", **overrides), batch)
    unpadded, seq_unpadded, grads_unpadded = _run(_config(unpad, **overrides), batch)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(seq_unpadded[real], seq_padded[real], atol=1e-5, rtol=0)
    assert seq_unpadded[~real].abs().max() == 0
    assert seq_padded[~real].abs().max() > 0  # the padded path did compute something there
    torch.testing.assert_close(unpadded.mlm_logits, padded.mlm_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(unpadded.sentence_logits, padded.sentence_logits, atol=1e-5, rtol=0)
    for name, grad in grads_padded.items():
        torch.testing.assert_close(grads_unpadded[name], grad, atol=1e-5, rtol=0, msg=name)
    assert grads_padded["alba.encoder.attention.0.query.weight"].abs().max() > 1e-2


@pytest.mark.parametrize("unpad", ["always", "jagged"])
def test_unpadded_packed_rows_equal_padded(unpad):
    # Packed rows: a token sees its own pair alone, here as one attended sequence per pair.
    batch = _batch(packed=True)
    padded, _, grads_padded = _run(_config("never"), batch)
    unpadded, _, grads_unpadded = _run(_config(unpad), batch)
    torch.testing.assert_close(unpadded.mlm_logits, padded.mlm_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(unpadded.sentence_logits, padded.sentence_logits, atol=1e-5, rtol=0)
    for name, grad in grads_padded.items():
        torch.testing.assert_close(grads_unpadded[name], grad, atol=1e-5, rtol=0, msg=name)


def test_auto_unpads_only_batches_with_much_padding(monkeypatch):
    import modeling.encoder as encoder
    seen = []
    real_layer = encoder.Encoder._layer
    monkeypatch.setattr(encoder.Encoder, "_layer", lambda self, a, f, hidden, keep, unpadded:
                        seen.append(unpadded is not None) or real_layer(self, a, f, hidden, keep, unpadded))
    model = AlbaForPreTraining(_config("auto")).train()
    batch = _batch()
    model(**batch)  # 31 real tokens of 48 positions
    model.eval()(**batch)  # evaluation's outputs at padding stay transformers'
    batch["attention_mask"][1:] = 1
    model.train()(**batch)  # no padding
    model(**{**batch, "attention_mask": None})
    assert seen == [True] * 3 + [False] * 9
    assert AlbaForPreTraining(_config("auto", compile_layers=True)).alba.encoder.unpad == "never"

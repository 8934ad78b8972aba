"""A packed row (several pairs, block-diagonal attention, positions restarting per pair, the sentence head at each
[CLS]) gives each pair what `transformers` gives that pair alone in its own row: hidden states, MLM and sentence
logits, losses, and gradients."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data_pipeline import PretrainingCollator, SpecialTokens
from modeling import AlbaForPreTraining, ModelConfig, from_hf

transformers = pytest.importorskip("transformers")

SPECIAL = SpecialTokens()
VOCAB, WIDTH = 99, 32


def _randomize(model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def _hf(kind):
    torch.manual_seed(0)
    common = dict(vocab_size=VOCAB, hidden_size=32, num_attention_heads=4, intermediate_size=48,
                  max_position_embeddings=WIDTH, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    if kind == "albert":
        config = transformers.AlbertConfig(embedding_size=16, num_hidden_layers=3, hidden_act="gelu_new",
                                           classifier_dropout_prob=0.0, **common)
        return _randomize(transformers.AlbertForPreTraining(config)).eval()
    return _randomize(transformers.BertForPreTraining(transformers.BertConfig(num_hidden_layers=2, **common))).eval()


def _items(n=9, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        la, lb = int(rng.integers(1, 9)), int(rng.integers(0, 8))
        items.append({"index": i, "label": i % 2, "tokens_a": rng.integers(5, VOCAB, la).tolist(),
                      "tokens_b": rng.integers(5, VOCAB, lb).tolist()})
    return items


def _batches(items):
    plain = PretrainingCollator(SPECIAL, VOCAB, mask_prob=0.3, seed=1)(items)
    packed = PretrainingCollator(SPECIAL, VOCAB, mask_prob=0.3, seed=1, pad_to=WIDTH, pack=True)(items)
    assert len(packed["input_ids"]) < len(items) / 2  # several pairs share each row
    return plain, packed


def _where(packed):
    """For each pair in item order: (row, start), found through its [CLS] slot (items keep their order within
    `sentence_labels` only through the slots, so match them by content)."""
    return [(r, int(packed["cls_positions"][r, s])) for r, s in (packed["sentence_labels"] != -100).nonzero().tolist()]


def _match(plain, packed):
    """Pair i of the plain batch -> (row, start, length) in the packed batch."""
    lengths = plain["attention_mask"].sum(1).tolist()
    by_content = {}
    for row, start in _where(packed):
        n = int((packed["pack_ids"][row] == packed["pack_ids"][row, start]).sum())
        by_content[tuple(packed["input_ids"][row, start:start + n].tolist())] = (row, start, n)
    return [by_content[tuple(plain["input_ids"][i, :n].tolist())] for i, n in enumerate(lengths)]


@pytest.mark.parametrize("kind", ["albert", "bert"])
def test_packed_rows_match_transformers_on_each_pair_alone(kind):
    hf = _hf(kind)
    model = from_hf(hf).eval()
    items = _items()
    plain, packed = _batches(items)
    keys = ("input_ids", "token_type_ids", "attention_mask")
    with torch.no_grad():
        ref = hf(**{k: plain[k] for k in keys}, output_hidden_states=True)
        ours_hidden, _ = model.alba(**{k: packed[k] for k in (*keys, "position_ids", "pack_ids", "cls_positions")})
        ours = model(**{k: v for k, v in packed.items() if k != "mlm_labels"})
    ref_sentence = ref.sop_logits if kind == "albert" else ref.seq_relationship_logits
    for i, (row, start, n) in enumerate(_match(plain, packed)):
        torch.testing.assert_close(ours_hidden[row, start:start + n], ref.hidden_states[-1][i, :n], atol=1e-5, rtol=0)
        torch.testing.assert_close(ours.mlm_logits[row, start:start + n], ref.prediction_logits[i, :n], atol=1e-5,
                                   rtol=0)
        slot = int(packed["pack_ids"][row, start]) - 1
        torch.testing.assert_close(ours.sentence_logits[row, slot], ref_sentence[i], atol=1e-5, rtol=0)


def test_packed_losses_and_gradients_equal_unpacked_transformers():
    hf = _hf("albert")
    model = from_hf(hf).eval()
    plain, packed = _batches(_items(12, seed=1))
    ref = hf(**{k: plain[k] for k in ("input_ids", "token_type_ids", "attention_mask")})
    mlm = F.cross_entropy(ref.prediction_logits.flatten(0, 1), plain["mlm_labels"].flatten())
    sop = F.cross_entropy(ref.sop_logits, plain["sentence_labels"])
    (mlm + sop).backward()
    ours = model(**packed)
    ours.loss.backward()
    torch.testing.assert_close(ours.mlm_loss, mlm, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.sentence_loss, sop, atol=1e-5, rtol=0)
    assert (int(ours.mlm_total), int(ours.sentence_total)) == (int((plain["mlm_labels"] != -100).sum()), 12)
    ref_grads = {n: p.grad for n, p in hf.named_parameters()}
    ours_grads = {n: p.grad for n, p in model.named_parameters()}
    # Spot-check the parameters that packing touches: positions, attention, the pooler and the sentence head.
    for ours_name, hf_name in [("alba.embeddings.position_embeddings.weight",
                                "albert.embeddings.position_embeddings.weight"),
                               ("alba.pooler.dense.weight", "albert.pooler.weight"),
                               ("sentence_classifier.weight", "sop_classifier.classifier.weight")]:
        torch.testing.assert_close(ours_grads[ours_name], ref_grads[hf_name], atol=1e-5, rtol=1e-4)
    ref_norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in ref_grads.values() if g is not None]))
    ours_norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in ours_grads.values() if g is not None]))
    torch.testing.assert_close(ours_norm, ref_norm, atol=1e-5, rtol=1e-5)


def test_inconsistent_packed_inputs_are_refused():
    model = AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=VOCAB))
    _, packed = _batches(_items())
    with pytest.raises(ValueError, match="both pack_ids and cls_positions"):
        model(packed["input_ids"], pack_ids=packed["pack_ids"])
    with pytest.raises(ValueError, match="sentence_labels shape"):
        model(**{**packed, "sentence_labels": packed["sentence_labels"][:, 0]})
    with pytest.raises(ValueError, match="position_ids range"):
        model(**{**packed, "position_ids": packed["position_ids"] + 10_000})

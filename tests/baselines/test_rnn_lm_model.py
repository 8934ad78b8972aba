"""The recurrent LM: stateful truncated BPTT, stream batching, perplexity and temperature sampling."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data_pipeline import DataError
from data_pipeline.lm_corpus import (EOS, UNK, StreamBatches, build_vocabulary, encode_stream, read_lm_lines,
                                     split_lines, word_units)
from modeling.baselines.rnn_lm import LanguageModelConfig, RecurrentLanguageModel, sample, stream_perplexity


def tiny_model(streams=2, **kw):
    torch.manual_seed(0)
    return RecurrentLanguageModel(LanguageModelConfig(11, hidden_size=6, num_layers=2, streams=streams, **kw))


def test_stream_batches_are_contiguous_rows_with_shifted_labels():
    stream = np.arange(23)
    batches = StreamBatches(stream, streams=2, unroll=3)
    # 23 ids -> 2 rows of 11 (one dropped); (11 - 1) // 3 = 3 batches per epoch.
    assert len(batches) == 3
    got = list(batches(epoch=0))
    torch.testing.assert_close(got[0]["input_ids"], torch.tensor([[0, 1, 2], [11, 12, 13]]))
    torch.testing.assert_close(got[0]["labels"], torch.tensor([[1, 2, 3], [12, 13, 14]]))
    torch.testing.assert_close(got[2]["input_ids"], torch.tensor([[6, 7, 8], [17, 18, 19]]))
    assert got[0]["reset"].all() and not got[1]["reset"].any()
    assert [b["input_ids"][0, 0].item() for b in batches(epoch=1, start_batch=1)] == [3, 6]
    with pytest.raises(DataError, match="too few"):
        StreamBatches(np.arange(5), streams=2, unroll=3)


def test_carried_state_continues_the_sequence_and_truncates_the_gradient():
    model = tiny_model()
    ids = torch.randint(0, 11, (2, 9))
    whole = model(ids[:, :8], ids[:, 1:9], state=model.rnn.initial_state(2, model.embedding.weight))
    first = model(ids[:, :4], ids[:, 1:5], reset=torch.tensor([True, True]))
    second = model(ids[:, 4:8], ids[:, 5:9])
    torch.testing.assert_close(torch.cat([first.logits, second.logits], 1), whole.logits, atol=1e-6, rtol=1e-6)
    # Truncated BPTT: the second batch's gradient is that of a run from the first batch's final state taken as a
    # constant, and differs from the gradient through both batches.
    model.zero_grad()
    second = model(ids[:, 4:8], ids[:, 5:9], state=tuple(s.detach() for s in first.state))
    second.loss.backward()
    truncated = model.embedding.weight.grad.clone()
    model.zero_grad()
    first = model(ids[:, :4], ids[:, 1:5], reset=torch.tensor([True, True]))
    model(ids[:, 4:8], ids[:, 5:9]).loss.backward()
    torch.testing.assert_close(model.embedding.weight.grad, truncated)
    model.zero_grad()
    full = model(ids[:, 4:8], ids[:, 5:9], state=first.state)
    full.loss.backward()
    assert not torch.allclose(model.embedding.weight.grad, truncated)


def test_reset_starts_a_stream_from_zero():
    model = tiny_model()
    ids = torch.randint(0, 11, (2, 4))
    model(ids, ids)  # leaves a non-zero carried state
    fresh = model(ids, ids, state=model.rnn.initial_state(2, model.embedding.weight)).logits
    reset = model(ids, ids, reset=torch.tensor([True, False])).logits
    torch.testing.assert_close(reset[0], fresh[0])
    assert not torch.allclose(reset[1], fresh[1])


def test_loss_is_summed_over_time_and_averaged_over_streams():
    model = tiny_model()
    ids = torch.randint(0, 11, (2, 5))
    out = model(ids[:, :4], ids[:, 1:], state=model.rnn.initial_state(2, model.embedding.weight))
    nll = F.cross_entropy(out.logits.reshape(-1, 11), ids[:, 1:].reshape(-1), reduction="none")
    torch.testing.assert_close(out.loss, nll.sum() / 2)
    torch.testing.assert_close(out.token_loss, nll.mean())


@pytest.mark.parametrize("chunk", [1, 4, 100])
def test_stream_perplexity_is_exp_mean_nll_whatever_the_chunking(chunk):
    model = tiny_model(dropout=0.5)
    ids = torch.randint(0, 11, (30,))
    model.eval()
    logits = model(ids[None, :-1], state=model.rnn.initial_state(1, model.embedding.weight)).logits[0]
    expected = math.exp(F.cross_entropy(logits, ids[1:]).item())
    model.train()
    assert stream_perplexity(model, ids, chunk=chunk) == pytest.approx(expected, rel=1e-5)
    assert model.training


def test_tied_weights_share_the_embedding_and_survive_save_and_load(tmp_path):
    model = tiny_model(tie_weights=True)
    ids = torch.randint(0, 11, (2, 5))
    out = model(ids, state=model.rnn.initial_state(2, model.embedding.weight))
    expected = F.linear(out.state[0][-1], model.embedding.weight, model.decoder_bias)
    torch.testing.assert_close(out.logits[:, -1], expected)
    model.save_pretrained(tmp_path)
    loaded = RecurrentLanguageModel.from_pretrained(tmp_path)
    state = loaded.rnn.initial_state(2, loaded.embedding.weight)
    torch.testing.assert_close(loaded(ids, state=state).logits, out.logits)


def test_sampling_temperature():
    model = tiny_model()
    # Near zero temperature: the most likely continuation, step by step (greedy decoding).
    greedy, ids = [], [3]
    state = model.rnn.initial_state(1, model.embedding.weight)
    out = model(torch.tensor([ids]), state=state)
    for _ in range(5):
        greedy.append(int(out.logits[0, -1].argmax()))
        out = model(torch.tensor([[greedy[-1]]]), state=out.state)
    assert sample(model, [3], 5, temperature=1e-4) == greedy
    # Draws follow softmax(logits / T): first-token frequencies over 2000 seeded draws.
    with torch.no_grad():
        model.decoder.weight.mul_(20)  # a peaked distribution, so temperatures differ visibly
    logits = model(torch.tensor([[3]]), state=model.rnn.initial_state(1, model.embedding.weight)).logits[0, -1]
    gen = torch.Generator().manual_seed(1)
    for t in (0.5, 2.0):
        counts = np.bincount([sample(model, [3], 1, t, gen)[0] for _ in range(2000)], minlength=11)
        expected = torch.softmax(logits / t, -1).detach().numpy()
        assert np.abs(counts / 2000 - expected).max() < 0.04, (t, counts / 2000, expected)
    assert sample(model, [3], 20, 1.0, torch.Generator().manual_seed(5)) == \
        sample(model, [3], 20, 1.0, torch.Generator().manual_seed(5))
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample(model, [3], 1, temperature=0)


def test_corpus_split_vocabulary_and_unknown_words(tmp_path):
    path = tmp_path / "lm.txt"
    path.write_text("the cat sat\n\nthe dog <unk>\nthe bird flew\na cat ran\n", encoding="utf-8")
    lines = read_lm_lines(path)
    train, held = split_lines(lines, 0.5)
    assert train == [["the", "cat", "sat"], ["the", "dog", "<unk>"]] and len(held) == 2
    vocab = build_vocabulary(word_units(train))
    assert vocab.words[0] == UNK and EOS in vocab.index
    ids = encode_stream(word_units(held), vocab)
    assert [vocab.words[i] for i in ids] == ["the", UNK, UNK, EOS, UNK, "cat", UNK, EOS]
    with pytest.raises(DataError, match="leaves no training"):
        split_lines(lines, 0.1)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt: the language-model corpus holds no text"):
        read_lm_lines(empty)

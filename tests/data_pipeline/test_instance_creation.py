import random

import pytest

from data_pipeline import DataError, Instance, create_instances

STRIDE = 100_000  # a token id encodes (document, position in the document): 5 + doc * STRIDE + position


def fake_corpus(num_docs, sentences, length, seed=0):
    """Tokenized documents whose every id says where it came from."""
    rng = random.Random(seed)
    docs = []
    for d in range(num_docs):
        doc, position = [], 0
        for _ in range(rng.randint(*sentences)):
            n = rng.randint(*length)
            doc.append([5 + d * STRIDE + position + t for t in range(n)])
            position += n
        docs.append(doc)
    return docs


def span(tokens):
    """(document, first position, last position) of a run of consecutive tokens of one document."""
    doc, first = divmod(tokens[0] - 5, STRIDE)
    assert tokens == list(range(tokens[0], tokens[0] + len(tokens))), "a segment is not contiguous"
    return doc, first, first + len(tokens) - 1


@pytest.fixture(scope="module")
def corpus():
    return fake_corpus(400, (1, 14), (2, 24))


@pytest.mark.parametrize("task", ["sop", "nsp", "none"])
def test_lengths(corpus, task):
    instances = create_instances(corpus, max_seq_length=64, task=task)
    assert all(isinstance(i, Instance) and 1 <= len(i.tokens_a) for i in instances)
    assert all(len(i.tokens_a) + len(i.tokens_b) <= 61 for i in instances)
    assert all(bool(i.tokens_b) == (task != "none") for i in instances)


def test_nsp_provenance(corpus):
    instances = create_instances(corpus, max_seq_length=64, task="nsp", seed=1)
    for i in instances:
        (doc_a, _, end_a), (doc_b, start_b, _) = span(i.tokens_a), span(i.tokens_b)
        if i.label == 1:
            assert doc_b != doc_a
        else:
            assert i.label == 0 and doc_b == doc_a and start_b > end_a
            if len(i.tokens_a) + len(i.tokens_b) < 61:  # untruncated: B starts right where A ends
                assert start_b == end_a + 1
    assert {i.label for i in instances} == {0, 1}


def test_nsp_labels_are_balanced_on_long_documents():
    # one-sentence chunks (rare in long documents of short sentences) always take a random B, hence a small excess
    instances = create_instances(fake_corpus(200, (40, 80), (2, 10)), max_seq_length=64, task="nsp")
    assert 0.47 < sum(i.label for i in instances) / len(instances) < 0.57


def test_sop_provenance(corpus):
    instances = create_instances(corpus, max_seq_length=64, task="sop", seed=1)
    swapped = 0
    for i in instances:
        (doc_a, start_a, end_a), (doc_b, start_b, end_b) = span(i.tokens_a), span(i.tokens_b)
        assert doc_a == doc_b
        first_end, second_start = (end_b, start_a) if i.label == 1 else (end_a, start_b)
        assert second_start > first_end
        if len(i.tokens_a) + len(i.tokens_b) < 61:
            assert second_start == first_end + 1
        swapped += i.label
    assert 0.45 < swapped / len(instances) < 0.55


def test_sop_splits_a_lone_sentence_inside_it():
    sentence = list(range(5, 25))
    pieces = [create_instances([[sentence]], max_seq_length=64, task="sop", seed=s)[0] for s in range(40)]
    for i in pieces:
        assert (i.tokens_b + i.tokens_a if i.label else i.tokens_a + i.tokens_b) == sentence
    assert {i.label for i in pieces} == {0, 1} and len({len(i.tokens_a) for i in pieces}) > 3
    assert len(create_instances([[[7]]], task="sop")) == 0


def test_none_covers_each_token_at_most_once(corpus):
    instances = create_instances(corpus, max_seq_length=64, short_seq_prob=0.0, task="none")
    tokens = [t for i in instances for t in i.tokens_a]
    assert all(i.label == -100 for i in instances) and len(tokens) == len(set(tokens))
    for i in instances:
        span(i.tokens_a)


def test_short_seq_prob_shortens_a_tenth_of_targets():
    docs = fake_corpus(40, (3000, 3000), (1, 5), seed=2)
    ends = {doc[-1][-1] for doc in docs}

    def short_fraction(prob):
        instances = [i for i in create_instances(docs, max_seq_length=128, short_seq_prob=prob, task="none")
                     if i.tokens_a[-1] not in ends]  # a document's last chunk is short anyway
        lengths = [len(i.tokens_a) for i in instances]
        return sum(n < 125 for n in lengths) / len(lengths), min(lengths)

    fraction, shortest = short_fraction(0.1)
    assert 0.075 < fraction < 0.125 and shortest < 20
    assert short_fraction(0.0)[0] == 0.0


def test_pure_function_of_seed_and_epoch(corpus):
    first = list(create_instances(corpus, task="nsp", seed=3, epoch=2))
    assert first == list(create_instances(corpus, task="nsp", seed=3, epoch=2))
    assert first != list(create_instances(corpus, task="nsp", seed=3, epoch=3))
    assert first != list(create_instances(corpus, task="nsp", seed=4, epoch=2))
    # SOP never looks at other documents, so adding documents leaves the others' instances as they were
    few = create_instances(corpus[:100], task="sop", seed=3)
    more = create_instances(corpus[:150], task="sop", seed=3)
    key = lambda i: (tuple(i.tokens_a), tuple(i.tokens_b), i.label)  # noqa: E731
    assert set(map(key, few)) == {key(i) for i in more if span(i.tokens_a)[0] < 100}
    assert [key(i) for i in few] != sorted(map(key, few))  # shuffled


@pytest.mark.parametrize("kwargs, message", [
    (dict(task="mlm"), "sop, nsp, none"),
    (dict(max_seq_length=5), "at least"),
    (dict(short_seq_prob=1.5), "short_seq_prob"),
])
def test_invalid_arguments(corpus, kwargs, message):
    with pytest.raises(DataError, match=message):
        create_instances(corpus, **kwargs)


def test_nsp_needs_two_documents():
    with pytest.raises(DataError, match="at least 2"):
        create_instances([[[5, 6], [7, 8]], [[], []]], task="nsp")
    with pytest.raises(DataError, match="at least 1"):
        create_instances([], task="sop")

"""create_instances against an independent transcription of the reference algorithm (Google's BERT
create_pretraining_data.py, ALBERT's SOP variant), written for clarity in the reference's own style: an index walk
that rewinds by the unused sentences, lists truncated in place.

The transcription takes the same random stream and has switches for alba's documented departures
(data_pipeline/instances.py), each needed for the two to agree:
- one RNG per document seeded from (seed, epoch, document) instead of one RNG for the whole corpus, so that a
  document's instances do not depend on which worker builds them;
- the target length is drawn anew for every chunk (the reference draws it once per document);
- the random document of an NSP negative is uniform over the *other* documents (the reference redraws up to ten
  times and may, rarely, take the same document);
- SOP: a one-sentence chunk is split inside its sentence (the reference falls back to a random document's B,
  which would make such a pair an NSP negative).
Task "none" (MLM only) has no reference: there A is the whole chunk and no split point is drawn.
The test also shows that dropping any one departure changes the instances, so each switch is load-bearing.
"""
import random

import pytest

from data_pipeline import create_instances

from test_instance_creation import fake_corpus


def reference_instances(all_documents, document_index, max_seq_length, short_seq_prob, task, rng,
                        per_chunk_target=True, uniform_other=True, split_lone_sop=True):
    document = all_documents[document_index]
    max_num_tokens = max_seq_length - 3

    def draw_target():
        if rng.random() < short_seq_prob:
            return rng.randint(2, max_num_tokens)
        return max_num_tokens

    target_seq_length = draw_target()
    instances = []
    current_chunk, current_length = [], 0
    i = 0
    while i < len(document):
        segment = document[i]
        current_chunk.append(segment)
        current_length += len(segment)
        if i == len(document) - 1 or current_length >= target_seq_length:
            a_end = 1
            if len(current_chunk) >= 2 and task != "none":  # without a sentence task there is no A/B split
                a_end = rng.randint(1, len(current_chunk) - 1)
            tokens_a = [t for s in current_chunk[:a_end] for t in s]
            tokens_b = [t for s in current_chunk[a_end:] for t in s]
            label = -100
            keep = True
            if task == "none":
                tokens_a, tokens_b = tokens_a + tokens_b, []
            elif task == "nsp":
                label = 0
                if len(current_chunk) == 1 or rng.random() < 0.5:
                    label = 1
                    tokens_b = []
                    target_b_length = target_seq_length - len(tokens_a)
                    if uniform_other:
                        k = rng.randrange(len(all_documents) - 1)
                        random_document_index = k if k < document_index else k + 1
                    else:
                        for _ in range(10):
                            random_document_index = rng.randint(0, len(all_documents) - 1)
                            if random_document_index != document_index:
                                break
                    random_document = all_documents[random_document_index]
                    random_start = rng.randint(0, len(random_document) - 1)
                    for j in range(random_start, len(random_document)):
                        tokens_b.extend(random_document[j])
                        if len(tokens_b) >= target_b_length:
                            break
                    num_unused_segments = len(current_chunk) - a_end
                    i -= num_unused_segments
            else:  # sop
                label = 0
                if len(current_chunk) == 1:
                    if not split_lone_sop:
                        raise NotImplementedError("the reference takes a random document's B here")
                    sentence = current_chunk[0]
                    if len(sentence) > 1:
                        cut = rng.randint(1, len(sentence) - 1)
                        tokens_a, tokens_b = sentence[:cut], sentence[cut:]
                    else:
                        keep = False
                if keep and rng.random() < 0.5:
                    label = 1
                    tokens_a, tokens_b = tokens_b, tokens_a
            if keep:
                while len(tokens_a) + len(tokens_b) > max_num_tokens:
                    trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
                    if rng.random() < 0.5:
                        del trunc_tokens[0]
                    else:
                        trunc_tokens.pop()
                instances.append((tuple(tokens_a), tuple(tokens_b), label))
            current_chunk, current_length = [], 0
            if per_chunk_target:
                target_seq_length = draw_target()
        i += 1
    return instances


def reference_corpus(docs, max_seq_length, short_seq_prob, task, seed, epoch, ordered=False, **switches):
    """Every document's instances in document order, then (`ordered`) shuffled as a list by `random`, or sorted."""
    out = []
    for d in range(len(docs)):
        rng = random.Random(f"alba-instances/{seed}/{epoch}/{d}")
        out.extend(reference_instances(docs, d, max_seq_length, short_seq_prob, task, rng, **switches))
    if ordered:
        random.Random(f"alba-shuffle/{seed}/{epoch}").shuffle(out)
        return out
    return sorted(out)


def alba_corpus(docs, max_seq_length, short_seq_prob, task, seed, epoch, ordered=False):
    made = create_instances(docs, max_seq_length=max_seq_length, short_seq_prob=short_seq_prob, task=task,
                            seed=seed, epoch=epoch)
    made = [(tuple(x.tokens_a), tuple(x.tokens_b), x.label) for x in made]
    return made if ordered else sorted(made)


@pytest.fixture(scope="module")
def docs():
    return fake_corpus(300, (1, 16), (1, 30), seed=4)


@pytest.mark.parametrize("task", ["nsp", "sop", "none"])
@pytest.mark.parametrize("max_seq_length, short_seq_prob", [(64, 0.1), (128, 0.3)])
def test_identical_to_the_reference_with_the_documented_departures(docs, task, max_seq_length, short_seq_prob):
    expected = reference_corpus(docs, max_seq_length, short_seq_prob, task, seed=3, epoch=1)
    assert len(expected) > 300
    assert alba_corpus(docs, max_seq_length, short_seq_prob, task, seed=3, epoch=1) == expected


@pytest.mark.parametrize("task", ["nsp", "sop"])
def test_the_epoch_order_is_that_of_shuffling_the_list(docs, task):
    """The plan is shuffled without a list of instances; the order stays random.shuffle's, so runs made before
    the plan existed see the same batches."""
    expected = reference_corpus(docs, 64, 0.1, task, seed=5, epoch=2, ordered=True)
    assert alba_corpus(docs, 64, 0.1, task, seed=5, epoch=2, ordered=True) == expected


@pytest.mark.parametrize("task, switch", [("nsp", "per_chunk_target"), ("nsp", "uniform_other"),
                                          ("sop", "per_chunk_target")])
def test_each_departure_changes_the_instances(docs, task, switch):
    ours = alba_corpus(docs, 64, 0.3, task, seed=3, epoch=1)
    assert reference_corpus(docs, 64, 0.3, task, seed=3, epoch=1, **{switch: False}) != ours


def test_the_reference_sop_fallback_is_reached(docs):
    """One-sentence chunks occur in this corpus, so the SOP departure matters here."""
    with pytest.raises(NotImplementedError):
        reference_corpus(docs, 64, 0.1, "sop", seed=3, epoch=1, split_lone_sop=False)

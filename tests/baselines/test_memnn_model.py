"""MemNN against Weston et al. (2015) written out with explicit feature vectors and matrices in numpy: the scores
s(x, y) = Φx(x)ᵀ Uᵀ U Φy(y) and s_Ot (§3.1, §3.4), the hops' loop over memories with hop 2 conditioned on hop 1's
memory, and the margin ranking loss on a hand-computed example."""
import numpy as np
import pytest
import torch

from data_pipeline.babi import Example, collate, supporting_slots
from modeling.baselines.memnn import MemNN, MemNNConfig

V, N = 9, 5  # words (0 pads), embedding size; the model's null memory is word V


def batch_of(examples, hops=2):
    arrays = {**collate(examples, None), "supporting": supporting_slots(examples, hops)}
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def matrix(scorer) -> np.ndarray:
    """U as the paper's n x D matrix: columns for the question's words, the memories' words, y's words, time."""
    blocks = [scorer.question_words.weight, scorer.memory_words.weight, scorer.y_words.weight]
    blocks += [scorer.time] if scorer.time is not None else []
    return torch.cat(blocks).detach().double().numpy().T


def phi_x(question, memories) -> np.ndarray:
    out = np.zeros(3 * (V + 1) + 3)
    for w in question:
        out[w] += 1
    for sentence in memories:
        for w in sentence:
            out[V + 1 + w] += 1
    return out


def phi_y(sentence) -> np.ndarray:
    out = np.zeros(3 * (V + 1) + 3)
    for w in sentence:
        out[2 * (V + 1) + w] += 1
    return out


def phi_t(x_time, y_time, y2_time) -> np.ndarray:
    """The three 0/1 time features (x older than y, x older than y', y older than y'); None: no time (the null
    memory). Times count up: a larger one is newer."""
    older = lambda a, b: float(a is not None and b is not None and a < b)
    out = np.zeros(3 * (V + 1) + 3)
    out[-3:] = older(x_time, y_time), older(x_time, y2_time), older(y_time, y2_time)
    return out


def reference(model: MemNN, ex: Example, read_chosen=True):
    """The paper's inference: each hop loops over the memories from the oldest, keeping the winner y unless
    s_Ot(x, y, y') <= 0 for the next memory y'; from hop 2 on the null memory is a last candidate. Hop h's query
    is [x, m_o1 .. m_o(h-1)] (only x if not `read_chosen`: the broken model)."""
    timed = model.config.time_features
    U_O, U_R = matrix(model.output_scorer), matrix(model.response_scorer)
    if not timed:
        U_O = np.concatenate([U_O, np.zeros((N, 3))], 1)
    U_R = np.concatenate([U_R, np.zeros((N, 3))], 1)
    facts = list(reversed(ex.memory))  # in write order: time i
    sentences = facts + [[V]]  # the null memory last
    times = list(range(len(facts))) + [None]
    question_time = len(facts)
    chosen = []
    for hop in range(model.config.hops):
        x = phi_x(ex.question, [sentences[c] for c in chosen] if read_chosen else [])
        x_time = times[chosen[-1]] if chosen else question_time
        s = lambda a, b: x @ U_O.T @ U_O @ (phi_y(sentences[a]) - phi_y(sentences[b])
                                            + phi_t(x_time, times[a], times[b]) * timed)
        winner = None
        for i in range(len(facts) + (hop > 0)):
            if winner is None or s(winner, i) <= 0:
                winner = i
        chosen.append(winner)
    x = phi_x(ex.question, [sentences[c] for c in chosen])
    logits = np.array([x @ U_R.T @ U_R @ phi_y([w]) for w in range(V + 1)])
    slots = [-1 if c == len(facts) else len(facts) - 1 - c for c in chosen]  # slot 0: the most recent fact
    return slots, logits


def random_examples(count, seed=0):
    rng = np.random.default_rng(seed)
    sentence = lambda: rng.integers(1, V, size=rng.integers(1, 5)).tolist()
    return [Example([sentence() for _ in range(rng.integers(1, 7))], sentence(), int(rng.integers(1, V)))
            for _ in range(count)]


@pytest.mark.parametrize("time_features", [True, False])
def test_scores_are_the_papers_bilinear_form(time_features):
    torch.manual_seed(0)
    model = MemNN(MemNNConfig(V, embedding_size=N, time_features=time_features, init_std=1.0)).double()
    U = matrix(model.output_scorer)
    U = U if time_features else np.concatenate([U, np.zeros((N, 3))], 1)
    ex = Example(memory=[[3, 4, 4], [5], [6, 7]], question=[2, 8], answer=3)
    batch = batch_of([ex])
    memory = torch.cat([batch["memory"], torch.tensor([[[V, 0, 0]]])], 1)
    y = model.output_scorer.y(memory)
    chosen = torch.tensor([[2]])  # the query [x, m_2], with m_2's time
    scores = model.hop_scores(batch["input_ids"], memory, y, chosen)[0].detach().numpy()
    x = phi_x(ex.question, [ex.memory[2]])
    times = [2, 1, 0, None]  # slot 0 is the most recent fact
    sentences = ex.memory + [[V]]
    for i in range(4):
        for j in range(4):
            expected = x @ U.T @ U @ (phi_y(sentences[i]) - phi_y(sentences[j])
                                      + phi_t(0, times[i], times[j]) * time_features)
            assert scores[i, j] == pytest.approx(expected, rel=1e-10, abs=1e-10), (i, j)
    answer_scores, answerable = model.answer_scores(batch["input_ids"], memory, chosen)
    R = matrix(model.response_scorer)
    np.testing.assert_allclose(answer_scores[0].detach().numpy(),
                               [x[:-3] @ R.T @ R @ phi_y([w])[:-3] for w in range(V + 1)], rtol=1e-10)
    assert answerable.tolist() == [False] + [True] * (V - 1) + [False]  # not padding, not the null memory


@pytest.mark.parametrize("time_features", [True, False])
def test_hops_follow_the_papers_loop_and_hop_2_reads_hop_1s_memory(time_features):
    torch.manual_seed(1)
    model = MemNN(MemNNConfig(V, embedding_size=N, time_features=time_features, init_std=1.0)).double()
    examples = random_examples(40)
    out = model(**batch_of(examples))
    for i, ex in enumerate(examples):
        slots, logits = reference(model, ex)
        assert out.chosen[i].tolist() == slots, i
        np.testing.assert_allclose(out.logits[i, 1:V].detach().numpy(), logits[1:V], rtol=1e-9)
    # A second hop whose query left out the first hop's memory would choose otherwise on these examples.
    assert any(reference(model, ex, read_chosen=False)[0] != out.chosen[i].tolist() for i, ex in enumerate(examples))
    assert (out.chosen[:, 1] == -1).any() and (out.chosen[:, 1] >= 0).any()


def hand_model(time_features: bool) -> MemNN:
    """n = 1, so every embedding is a number. Words: 2 'a', 3 'b', 4 'c'; the null memory is word 9."""
    model = MemNN(MemNNConfig(V, embedding_size=1, margin=1.0, time_features=time_features))
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    with torch.no_grad():
        o, r = model.output_scorer, model.response_scorer
        o.question_words.weight[2] = 1  # U_O: question 'a' -> 1, memory 'c' -> 1
        o.memory_words.weight[4] = 1
        o.y_words.weight[3], o.y_words.weight[4], o.y_words.weight[V] = 2, 1, 0.5  # y: b 2, c 1, null 0.5
        if time_features:
            o.time.copy_(torch.tensor([[0.5], [0.25], [3.0]]))
        r.question_words.weight[2] = 1  # U_R: question 'a' -> 1, memories 'c' -> 1, null -> 0.5; answers b 1, c 2
        r.memory_words.weight[4], r.memory_words.weight[V] = 1, 0.5
        r.y_words.weight[3], r.y_words.weight[4] = 1, 2
    return model


def test_margin_ranking_loss_by_hand():
    """Question 'a', memory: slot 0 'b' (newer), slot 1 'c' (older); supporting fact 'c', answer 'b', γ = 1.
    With time (t = 0.5, 0.25, 3 on: x older than y, x older than y', y older than y'):
    hop 1, q = 1, s = (b 2, c 1): s_Ot(c, b) = 1 - 2 + 3 = 2, s_Ot(b, c) = 2 - 1 = 1: max(0, 1-2) + max(0, 1+1) = 2.
    hop 2, q = 2 ('a' + memory 'c'), the time of 'c' (older than 'b'), true m_o2 = null; s = (b 4, c 2, null 1),
    time weights (1, 0.5, 6): s_Ot(null, b) = 1 - 4 + 0.5 = -2.5, s_Ot(b, null) = 4 - 1 + 1 = 4: 3.5 + 5;
    s_Ot(null, c) = 1 - 2 = -1, s_Ot(c, null) = 2 - 1 = 1: 2 + 2; hop 2 = 12.5.
    R reads [x, c, null]: q = 1 + 1 + 0.5, scores (unk 0, a 0, b 2.5, c 5), r = b: 0 + 0 + max(0, 1 - 2.5 + 5) = 3.5.
    Total 18. Without time: hop 1 max(0, 1 - 1 + 2) = 2; hop 2 max(0, 1 - 1 + 4) + max(0, 1 - 1 + 2) = 6; R 3.5."""
    ex = Example(memory=[[3], [4]], question=[2], answer=3, supporting=(1,))
    for time_features, support, total in ((True, 14.5, 18.0), (False, 8.0, 11.5)):
        model = hand_model(time_features)
        out = model(**batch_of([ex]))
        assert out.loss.item() == pytest.approx(total) and out.support_loss.item() == pytest.approx(support)
        assert out.answer_loss.item() == pytest.approx(3.5)
        twice = model(**batch_of([ex, ex]))  # summed over the batch; the parts are means per question
        assert twice.loss.item() == pytest.approx(2 * total) and twice.support_loss.item() == pytest.approx(support)
    out.loss.backward()
    assert model.output_scorer.y_words.weight.grad[4].item() != 0  # the loss trains U_O


def test_counts_untrained_output_and_save_load(tmp_path):
    torch.manual_seed(0)
    model = MemNN(MemNNConfig(500, embedding_size=100))
    assert model.num_parameters() == 6 * 501 * 100 + 3 * 100  # U_O, U_R: 3 word blocks each (+ null), time
    examples = random_examples(6)
    batch = batch_of(examples)
    out = model(**batch)
    assert out.answer_total == 6 and out.answer_correct == (out.logits.argmax(1) == batch["answers"]).sum()
    assert out.support_correct == (out.chosen == batch["supporting"]).all(1).sum()
    bare = model(batch["input_ids"], batch["memory"], batch["memory_mask"])  # no labels: predictions only
    assert bare.loss == 0 and torch.equal(bare.chosen, out.chosen)
    model.save_pretrained(tmp_path)
    loaded = MemNN.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded(**batch).logits, out.logits, rtol=0, atol=0)

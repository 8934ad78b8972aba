"""The bAbI reader on the real task-1 files and on small broken files."""
import numpy as np
import pytest

from data_pipeline import DataError
from data_pipeline.babi import (BabiVocabulary, check_supporting, collate, make_examples, read_babi, supporting_slots,
                                task_files, with_empty_memories)


def test_task1_counts_and_spot_checks(shared_data):
    train_path, test_path = task_files(shared_data / "babi", 1)
    train, test = read_babi(train_path), read_babi(test_path)
    assert len(train) == 2000 and sum(len(s.questions) for s in train) == 10000
    assert len(test) == 200 and sum(len(s.questions) for s in test) == 1000
    assert sum(len(s.facts) for s in train) == 20000  # 30000 lines, a third of them questions
    # train lines 1-3: "1 Mary moved to the bathroom." "2 John went to the hallway." "3 Where is Mary? \tbathroom\t1"
    first = train[0].questions[0]
    assert first.words == ("where", "is", "mary") and first.answer == "bathroom"
    assert first.supporting == (0,) and first.num_facts == 2 and first.line == 3
    assert train[0].facts[0] == ("mary", "moved", "to", "the", "bathroom")
    # the test file's last line: "15 Where is John? \tbedroom\t8"; ID 8 is the story's 6th fact (3 and 6 are questions)
    last = test[-1].questions[-1]
    assert last.answer == "bedroom" and last.supporting == (5,) and last.num_facts == 10 and last.line == 3000
    assert train[1].facts[0] == ("sandra", "travelled", "to", "the", "office")  # line 16: ID 1 starts story 2


def test_examples_keep_the_most_recent_facts(shared_data):
    stories = read_babi(task_files(shared_data / "babi", 1)[0])
    vocab = BabiVocabulary(stories)
    examples = make_examples(stories[:1], vocab, memory_size=3)
    last = stories[0].questions[-1]  # line 15, after 10 facts
    assert [vocab.words[w] for w in examples[-1].memory[0]] == list(stories[0].facts[9])
    assert len(examples[-1].memory) == 3 and vocab.words[examples[-1].answer] == last.answer == "bathroom"


def test_supporting_facts_become_memory_slots(shared_data):
    """Strong supervision reads the files' supporting-fact IDs: on every task-1 question the slot they name holds the
    fact whose last word is the answer ("Mary moved to the bathroom" for "Where is Mary? bathroom 1")."""
    stories = read_babi(task_files(shared_data / "babi", 1)[0])
    vocab = BabiVocabulary(stories)
    examples = make_examples(stories, vocab, memory_size=None)
    first = examples[0]  # lines 1-3: two facts, supporting ID 1 (the older one: slot 1)
    assert first.supporting == (1,) and [vocab.words[w] for w in first.memory[1]] == ["mary", "moved", "to", "the",
                                                                                        "bathroom"]
    assert all(ex.memory[ex.supporting[0]][-1] == ex.answer for ex in examples)
    assert supporting_slots(examples[:2], hops=2).tolist() == [[1, -1], [1, -1]]  # -1: no second fact
    assert max(len(ex.memory) for ex in examples) == 10  # None keeps the whole story
    noisy = with_empty_memories(first, 1.0, np.random.default_rng(3))  # the empty slots move the fact's slot
    assert noisy.memory[noisy.supporting[0]] == first.memory[1]
    recent = make_examples(stories[:1], vocab, memory_size=1)[0]  # the supporting fact fell out of the window
    assert recent.memory == [first.memory[0]] and recent.supporting == ()


def write(tmp_path, text):
    path = tmp_path / "qa9_bad_train.txt"
    path.write_text(text)
    return path


def test_broken_id_sequence_names_file_and_line(tmp_path):
    path = write(tmp_path, "1 Mary went home.\n2 Where is Mary?\thome\t1\n4 John left.\n")
    with pytest.raises(DataError, match=r"qa9_bad_train.txt, line 3: line ID 4 does not follow 2"):
        read_babi(path)
    with pytest.raises(DataError, match=r"line 1: line ID 2 does not follow 0"):
        read_babi(write(tmp_path, "2 Mary went home.\n"))


def test_question_without_answer_names_file_and_line(tmp_path):
    for text in ("1 Mary went home.\n2 Where is Mary?\n", "1 Mary went home.\n2 Where is Mary?\t\t1\n"):
        with pytest.raises(DataError, match=r"qa9_bad_train.txt, line 2: question without an answer"):
            read_babi(write(tmp_path, text))


def test_other_bad_input(tmp_path):
    with pytest.raises(DataError, match=r"line 2: supporting fact '3' is not the ID of an earlier fact"):
        read_babi(write(tmp_path, "1 Mary went home.\n2 Where is Mary?\thome\t3\n"))
    with pytest.raises(DataError, match=r"qa9_bad_train.txt, line 3: supporting fact 'x1' is not the ID"):
        read_babi(write(tmp_path, "1 Mary went home.\n2 John left.\n3 Where is Mary?\thome\t1 x1\n"))
    with pytest.raises(DataError, match=r"line 3: supporting fact '2' is not the ID"):  # a question, not a fact
        read_babi(write(tmp_path, "1 Mary went home.\n2 Where is Mary?\thome\t1\n3 Where?\thome\t2\n"))
    with pytest.raises(DataError, match=r"line 1: expected 'ID text'"):
        read_babi(write(tmp_path, "Mary went home.\n"))
    with pytest.raises(DataError, match=r"holds no questions"):
        read_babi(write(tmp_path, "1 Mary went home.\n"))
    with pytest.raises(DataError, match=r"bAbI task 7: no file matching qa7_\*_train.txt"):
        task_files(tmp_path, 7)


def test_strong_supervision_needs_one_to_hops_supporting_facts(tmp_path):
    path = write(tmp_path, "1 a b.\n2 c d.\n3 e f.\n4 q?\tb\t1 2\n5 r?\tb\t1 2 3\n")
    check_supporting(path, read_babi(path), 3)
    with pytest.raises(DataError, match=r"qa9_bad_train.txt, line 5: 3 supporting facts; strong supervision with "
                                        r"2 hops needs 1 to 2"):
        check_supporting(path, read_babi(path), 2)
    path = write(tmp_path, "1 a b.\n2 q?\tb\n")
    with pytest.raises(DataError, match=r"line 2: 0 supporting facts"):
        check_supporting(path, read_babi(path), 2)


def test_collate_pads_and_inserts_empty_memories(tmp_path):
    stories = read_babi(write(tmp_path, "1 a b c.\n2 d e.\n3 f.\n4 g h i j.\n5 q?\ta\t1\n"))
    vocab = BabiVocabulary(stories)
    examples = make_examples(stories, vocab, memory_size=50)
    plain = collate(examples, memory_size=50)
    assert plain["memory"].shape == (1, 4, 4) and plain["memory_mask"].tolist() == [[1, 1, 1, 1]]
    assert [vocab.words[w] for w in plain["memory"][0, 0] if w] == ["g", "h", "i", "j"]  # slot 0: most recent
    noisy = collate([with_empty_memories(examples[0], 0.1, np.random.default_rng(0))], memory_size=50)
    mem, mask = noisy["memory"][0], noisy["memory_mask"][0]
    assert mask.tolist() == [1] * 5  # ceil(0.1 * 4) = 1 empty memory, still a slot
    empty = [i for i in range(5) if not mem[i].any()]
    assert len(empty) == 1
    assert [row.tolist() for i, row in enumerate(mem) if i not in empty] == plain["memory"][0].tolist()

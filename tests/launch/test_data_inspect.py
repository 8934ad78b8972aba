"""`alba data inspect` prints decoded pairs with their masks and labels; with --pack, the same pairs packed."""
import re

from conftest import run_cli

ARGS = ["launch/data.py", "inspect", "--source=synthetic", "--count=8", "--max_seq_length=48", "--seed=3"]


def _blocks(stdout):
    lines = [line for line in stdout.splitlines() if line.strip()]
    headers = [i for i, line in enumerate(lines) if line.startswith("--- ")]
    return [(lines[i], lines[i + 1]) for i in headers]


def test_inspect_shows_masked_pairs_and_packing_keeps_them():
    plain = run_cli(*ARGS)
    assert plain.returncode == 0, plain.stderr[-2000:]
    examples = _blocks(plain.stdout)
    assert len(examples) == 8
    for header, text in examples:
        assert re.fullmatch(r"--- example \d: sop label [01]", header), header
        assert text.startswith("[CLS] ") and text.endswith("[SEP]")
    assert any("<" in text for _, text in examples), "no masked position shown"

    packed = run_cli(*ARGS, "--pack")
    assert packed.returncode == 0, packed.stderr[-2000:]
    rows = _blocks(packed.stdout)
    assert len(rows) < 8
    pairs, labels = [], []
    for header, text in rows:
        found = re.fullmatch(r"--- row \d: (\d) pairs?, (\d+)/48 tokens; sop labels \[([01, ]*)\]", header)
        assert found, header
        row_pairs = text.split(" ‖ ")
        assert len(row_pairs) == int(found[1])
        assert len(text.replace(" ‖ ", " ").split()) == int(found[2]) <= 48
        pairs += row_pairs
        labels += [int(x) for x in found[3].split(", ")]
    assert sorted(pairs) == sorted(text for _, text in examples)  # same pairs, same masks
    assert sorted(labels) == sorted(int(h[-1]) for h, _ in examples)

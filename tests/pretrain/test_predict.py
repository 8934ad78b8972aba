"""What a model learned, shown to a person: mask guesses and sentence-pair verdicts, checked against transformers
running the exported model, and `alba predict` on a saved run."""
import pytest
import torch

from conftest import ROOT, run_cli
from data_pipeline import embedded_corpus, save_tokenizer, tokenize_corpus, train_tokenizer
from modeling import AlbaForPreTraining, ModelConfig, to_hf
from pretrain.predict import held_out_examples, mask_guesses, pair_probability, predict

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A saved 'run': a small random ALBERT with SOP head, and its tokenizer."""
    out = tmp_path_factory.mktemp("run")
    tok = train_tokenizer(embedded_corpus()[:80], vocab_size=300, progress=False)
    save_tokenizer(tok, out)
    torch.manual_seed(0)
    model = AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=tok.get_vocab_size()))
    with torch.no_grad():  # a random model's MLM head is nearly flat: sharpen it so the top 3 are well apart
        model.mlm_head.bias.normal_(0, 3.0)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    model.save_pretrained(out)
    return out, tok, model.eval()


def test_mask_guesses_equal_transformers_fill_mask(run_dir, tmp_path):
    out, tok, model = run_dir
    to_hf(out, tmp_path / "hf")
    fill = transformers.pipeline("fill-mask", model=str(tmp_path / "hf"), top_k=3, device="cpu")
    text = "return the [MASK] of the list."
    ours = mask_guesses(model, tok, tok.encode(text).ids)
    (theirs,) = [fill(text)]
    assert [t for t, _ in ours[0]] == [r["token_str"].replace(" ", "") for r in theirs]
    assert [p for _, p in ours[0]] == pytest.approx([r["score"] for r in theirs], abs=1e-5)


def test_pair_probability_equals_transformers_sop_head(run_dir, tmp_path):
    out, tok, model = run_dir
    to_hf(out, tmp_path / "hf")
    hf = transformers.AlbertForPreTraining.from_pretrained(tmp_path / "hf").eval()
    a, b = (tok.encode(s, add_special_tokens=False).ids for s in ("open the file.", "then read it."))
    enc = tok.encode("open the file.", "then read it.")
    with torch.no_grad():
        logits = hf(input_ids=torch.tensor([enc.ids]), token_type_ids=torch.tensor([enc.type_ids])).sop_logits
    assert pair_probability(model, tok, a, b) == pytest.approx(float(logits.softmax(-1)[0, 0]), abs=1e-5)


def test_held_out_examples_mask_one_whole_word_and_keep_the_truth(run_dir):
    _, tok, model = run_dir
    docs = tokenize_corpus(tok, embedded_corpus()[100:130], progress=False)
    examples = held_out_examples(model, tok, docs, "sop", seed=3)
    assert len(examples["masked"]) == 4 and len(examples["pairs"]) == 4
    for e in examples["masked"]:
        assert e["text"].count("[MASK]") == 1 and e["truth"].isalpha() and len(e["guesses"]) == 3
        assert e["guesses"] == sorted(e["guesses"], key=lambda g: -g[1])
    assert held_out_examples(model, tok, docs, "sop", seed=3) == examples  # the same ones every time
    assert held_out_examples(model, tok, docs, "none", seed=3)["pairs"] == []


def test_predict_command(run_dir):
    out, _, _ = run_dir
    proc = run_cli(ROOT / "launch" / "predict.py", out, "the [MASK] is open.")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[0] == "the [MASK] is open." and "[MASK] 1:" in proc.stdout
    proc = run_cli(ROOT / "launch" / "predict.py", out, "Open the file.", "Then read it.")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "p(in this order)" in proc.stdout and "swapped" in proc.stdout
    proc = run_cli(ROOT / "launch" / "predict.py", out, "no mask here")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "[MASK]" in proc.stderr
    assert "[MASK] 1:" in predict(str(out), "a [MASK] b")

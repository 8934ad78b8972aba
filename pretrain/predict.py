"""What a pretrained model has learned, in a form a person reads: its guesses for masked words, and which order of
two sentences it believes (SOP) or whether the second follows the first (NSP)."""
from __future__ import annotations

import numpy as np
import torch
from tokenizers import Tokenizer

from data_pipeline import SpecialTokens, word_continuation_ids
from modeling import AlbaForPreTraining

TOP_K = 3
# Examples come from the first held-out documents only: enough to choose from, and bounded on any corpus.
EXAMPLE_DOCUMENTS = 1000


@torch.no_grad()
def _forward(model: AlbaForPreTraining, ids: list[int], type_ids: list[int]):
    model.eval()
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    return model(input_ids, torch.tensor([type_ids], device=device), torch.ones_like(input_ids))


def mask_guesses(model: AlbaForPreTraining, tokenizer: Tokenizer, ids: list[int], top_k: int = TOP_K):
    """For each [MASK] among `ids` (a whole input, [CLS] and [SEP] included): the top_k (token, probability)."""
    mask = SpecialTokens.from_tokenizer(tokenizer).mask
    positions = [i for i, t in enumerate(ids) if t == mask]
    logits = _forward(model, ids, [0] * len(ids)).mlm_logits[0, positions].float()
    probs, tokens = logits.softmax(-1).topk(top_k, dim=-1)
    return [[(tokenizer.id_to_token(t), p) for t, p in zip(row.tolist(), pr.tolist())]
            for row, pr in zip(tokens, probs)]


def pair_probability(model: AlbaForPreTraining, tokenizer: Tokenizer, a: list[int], b: list[int]) -> float:
    """The sentence head's probability of label 0 for `[CLS] a [SEP] b [SEP]` (a and b without special tokens):
    "in this order" for SOP, "b follows a" for NSP."""
    special = SpecialTokens.from_tokenizer(tokenizer)
    ids = [special.cls, *a, special.sep, *b, special.sep]
    logits = _forward(model, ids, [0] * (len(a) + 2) + [1] * (len(b) + 1)).sentence_logits
    return float(logits[0].float().softmax(-1)[0])


def fill_mask_text(model: AlbaForPreTraining, tokenizer: Tokenizer, text: str) -> str:
    """`text` with its [MASK]s, then the model's guesses for each."""
    ids = tokenizer.encode(text).ids
    guesses = mask_guesses(model, tokenizer, ids)
    lines = [text]
    for i, top in enumerate(guesses, 1):
        lines.append(f"  [MASK] {i}: " + ", ".join(f"{_word(t)} {p:.2f}" for t, p in top))
    return "\n".join(lines)


def pair_text(model: AlbaForPreTraining, tokenizer: Tokenizer, a: str, b: str, task: str) -> str:
    """The verdict on two sentences: the probability of the order given, and of the reverse."""
    ea, eb = (tokenizer.encode(s, add_special_tokens=False).ids for s in (a, b))
    forward, backward = pair_probability(model, tokenizer, ea, eb), pair_probability(model, tokenizer, eb, ea)
    label = "in this order" if task == "sop" else "B follows A"
    verdict = "A then B" if forward >= backward else "B then A"
    return (f"A: {a}\nB: {b}\n  p({label}) = {forward:.2f} as given, {backward:.2f} swapped: the model prefers "
            f"{verdict}")


def held_out_examples(model: AlbaForPreTraining, tokenizer: Tokenizer, documents, task: str, seed: int,
                      n: int = 4) -> dict:
    """Examples from held-out documents (a sequence of documents of token ids per sentence, e.g. TokenDocs):
    sentences with one whole word masked, with the model's top guesses and the true word; and consecutive sentence
    pairs with the sentence head's verdict on the order as written and swapped. Chosen by `seed`, so a run always
    shows the same ones."""
    rng = np.random.default_rng([seed, 4242])
    documents = [documents[k] for k in range(min(len(documents), EXAMPLE_DOCUMENTS))]
    special = SpecialTokens.from_tokenizer(tokenizer)
    continuation = word_continuation_ids(tokenizer)

    def one_token_words(s):  # positions of words that are a single alphabetic token
        return [i for i, t in enumerate(s) if t >= special.first_regular_id and t not in continuation
                and (i + 1 == len(s) or s[i + 1] not in continuation)
                and _word(tokenizer.id_to_token(t)).isalpha()]

    sentences = [s for d in documents for s in d if 6 <= len(s) <= 40 and one_token_words(s)]
    masked = []
    for k in rng.choice(len(sentences), size=min(n, len(sentences)), replace=False) if sentences else []:
        s = list(sentences[k])
        pos = int(rng.choice(one_token_words(s)))
        truth, s[pos] = s[pos], special.mask
        top = mask_guesses(model, tokenizer, [special.cls, *s, special.sep])[0]
        text = f"{tokenizer.decode(s[:pos])} [MASK] {tokenizer.decode(s[pos + 1:])}".strip()
        masked.append({"text": text, "truth": _word(
            tokenizer.id_to_token(truth)), "guesses": [[_word(t), p] for t, p in top]})
    pairs = []
    if task != "none":
        candidates = [(d[i], d[i + 1]) for d in documents for i in range(len(d) - 1)
                      if 4 <= len(d[i]) <= 30 and 4 <= len(d[i + 1]) <= 30]
        for k in rng.choice(len(candidates), size=min(n, len(candidates)), replace=False) if candidates else []:
            a, b = candidates[k]
            pairs.append({"a": tokenizer.decode(a), "b": tokenizer.decode(b),
                          "p_as_written": pair_probability(model, tokenizer, a, b),
                          "p_swapped": pair_probability(model, tokenizer, b, a)})
    return {"masked": masked, "pairs": pairs}


def format_examples(examples: dict, task: str) -> str:
    lines = []
    if examples["masked"]:
        lines += ["", f"held-out sentences, one word masked: the model's top {TOP_K} guesses"]
        for e in examples["masked"]:
            ok = "right" if e["guesses"][0][0] == e["truth"] else "wrong"
            lines += [f"  {e['text']}",
                      "    guesses: " + ", ".join(f"{t} {p:.2f}" for t, p in e["guesses"])
                      + f"   true: {e['truth']} ({ok})"]
    if examples["pairs"]:
        label = "in this order" if task == "sop" else "B follows A"
        lines += ["", f"held-out consecutive sentences A, B: p({label}) as written and swapped"]
        for e in examples["pairs"]:
            ok = "right" if e["p_as_written"] > e["p_swapped"] else "wrong"
            lines += [f"  A: {e['a']}", f"  B: {e['b']}",
                      f"    as written {e['p_as_written']:.2f}, swapped {e['p_swapped']:.2f} ({ok})"]
    return "\n".join(lines)


def _word(token: str) -> str:
    """A token as a reader sees it: without the WordPiece `##` or the Unigram word-start mark."""
    return token.removeprefix("##").removeprefix("\u2581")


def predict(path: str, text: str, second: str = "") -> str:
    """The guesses for the [MASK]s of `text`, or with `second`, the sentence head's verdict on the pair."""
    from data_pipeline import load_tokenizer
    from modeling import load_model
    from .config import ConfigError
    if not second and "[MASK]" not in text:
        raise ConfigError("put [MASK] where the model should guess a word, or give a second sentence to judge "
                          "the pair's order")
    model, tokenizer = load_model(path), load_tokenizer(path)
    if not second:
        return fill_mask_text(model, tokenizer, text)
    task = model.config.sentence_head
    if task == "none":
        raise ConfigError(f"{path}: the model has no sentence head (trained with --sentence_task=none)")
    return pair_text(model, tokenizer, text, second, task)

"""The FLOP count against a count of the multiplies that torch actually runs (FlopCounterMode), forward only."""
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from modeling import AlbaForPreTraining, ModelConfig
from modeling.flops import pretraining_flops


@pytest.mark.parametrize("preset,overrides", [("albert-test", {}), ("bert-tiny", {"vocab_size": 300})])
def test_counts_the_multiplies_torch_runs(preset, overrides):
    cfg = ModelConfig.from_preset(preset, **overrides)
    model = AlbaForPreTraining(cfg).eval()
    B, T = 3, 24
    ids = torch.randint(5, cfg.vocab_size, (B, T))
    labels = torch.full((B, T), -100)
    labels[:, 1:6] = ids[:, 1:6]  # 15 MLM positions
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(ids, mlm_labels=labels)
    # FlopCounterMode does not count the CPU kernel of scaled_dot_product_attention: count the two attention
    # matmuls (scores and weighted sum) of every layer explicitly.
    heads, d = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    q = torch.randn(B, heads, T, d)
    with FlopCounterMode(display=False) as attention:
        (q @ q.transpose(-1, -2)) @ q
    measured = counter.get_total_flops() + cfg.num_hidden_layers * attention.get_total_flops()
    # Backward is counted as twice the forward, so a third of the estimate is the forward.
    assert pretraining_flops(cfg, B, T, 15) / 3 == pytest.approx(measured, rel=1e-9)

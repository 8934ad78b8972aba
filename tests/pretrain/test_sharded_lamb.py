"""LAMB with optimizer state sharded over 2 processes (by whole tensors) gives the same weights as one process; the
flat-fragment partitioning of DeepSpeed ZeRO would not, which is why alba refuses it for LAMB."""
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pretrain.lamb import Lamb
from pretrain.optim import build_optimizer, full_state_dict

STEPS = 5


def make_model():
    torch.manual_seed(0)
    # Mixed sizes and a LayerNorm so that both ranks own some tensors and both parameter groups are used.
    return torch.nn.Sequential(torch.nn.Linear(7, 16), torch.nn.LayerNorm(16), torch.nn.Linear(16, 5),
                               torch.nn.Linear(5, 3))


def gradients(model, step):
    g = torch.Generator().manual_seed(100 + step)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g) * (step + 1)


def train(model, optimizer):
    for step in range(STEPS):
        gradients(model, step)
        optimizer.step()
        optimizer.zero_grad()
    return [p.detach().clone() for p in model.parameters()]


def sharded_worker(rank, init_file, out_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    model = make_model()
    optimizer = build_optimizer(model, "lamb", lr=0.01, weight_decay=0.01, eps=1e-6, shard=True)
    owned = sum(1 for g in optimizer.optim.param_groups for _ in g["params"])
    weights = train(model, optimizer)
    state = full_state_dict(optimizer)  # collective: every rank takes part
    if rank == 0:
        torch.save({"weights": weights, "owned": owned, "state_entries": len(state["state"])}, out_file)
    else:
        torch.save({"owned": owned}, f"{out_file}.1")
    dist.barrier()  # no rank tears down its connections while the other still uses them (gloo aborts then)
    dist.destroy_process_group()


def test_sharded_lamb_equals_single_process(tmp_path):
    out = tmp_path / "sharded.pt"
    mp.spawn(sharded_worker, args=(str(tmp_path / "init"), str(out)), nprocs=2, join=True)
    got = torch.load(out, weights_only=True)
    other = torch.load(f"{out}.1", weights_only=True)

    model = make_model()
    want = train(model, build_optimizer(model, "lamb", lr=0.01, weight_decay=0.01, eps=1e-6))
    n_params = len(want)
    # Each process held only part of the state, together all of it, and the gathered checkpoint state is complete.
    assert 0 < got["owned"] < n_params and got["owned"] + other["owned"] == n_params
    assert got["state_entries"] == n_params
    for g, w in zip(got["weights"], want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)


def test_trust_ratio_on_fragments_differs_from_whole_tensor():
    # What a flat partition does: each fragment of a tensor gets its own trust ratio.
    torch.manual_seed(1)
    whole = torch.nn.Parameter(torch.randn(8, 4))
    halves = [torch.nn.Parameter(whole.detach()[:4].clone()), torch.nn.Parameter(whole.detach()[4:].clone())]
    grad = torch.randn(8, 4)
    grad[4:] *= 50  # fragments with different gradient scales get different ratios
    whole.grad = grad.clone()
    halves[0].grad, halves[1].grad = grad[:4].clone(), grad[4:].clone()
    Lamb([whole], lr=0.1, weight_decay=0.01).step()
    Lamb(halves, lr=0.1, weight_decay=0.01).step()
    assert not torch.allclose(whole.detach(), torch.cat([h.detach() for h in halves]), atol=1e-4)

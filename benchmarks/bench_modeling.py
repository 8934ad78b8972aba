"""Training step (forward + backward + AdamW step) of alba against Hugging Face `transformers`, in one run.

    python benchmarks/bench_modeling.py                                  # bert-tiny (30k vocab), bert-small, albert-base
    python benchmarks/bench_modeling.py --configs bert-small --steps 20 --threads 2

Both models start from the same weights (a `transformers` model built from the alba preset's config, imported with
`modeling.from_hf`), see the same batch with the same masking (15% of the real positions labelled: alba takes them
as `mlm_labels` and runs its sparse MLM head, transformers takes `labels` with -100 elsewhere, as its models expect)
and run under the same thread count. Steps alternate between the two models (alba first on even steps, transformers
first on odd ones) so that noise from other processes on the machine hits both.

What the table reports:
- tokens/s: batch x sequence positions (padding included) over the *fastest* step time: on a shared machine other
  processes only ever add time, so the least disturbed step is the best estimate of a step's own cost (the median
  is printed too); ratio = alba / transformers.
- peak memory, measured for each model in a fresh subprocess that runs the same steps: on CPU the growth of the
  process's peak resident set (VmHWM after the steps minus VmRSS before the model is built; Linux), which covers
  weights, gradients, optimizer state, activations and allocator slack; on CUDA `torch.cuda.max_memory_allocated`.
- loss: each model's loss on the batch before any step, with dropout off (eval mode, fp32), and their difference;
  the run fails if they differ by more than --loss_tolerance. (With dropout on, the two draw different masks.)
- MFU (CUDA only): model FLOPs (modeling.flops.pretraining_flops: the FLOPs a training step needs, with the MLM
  head at the labelled positions only) per second over the GPU's peak dense FLOP/s (bf16 tensor core peak under
  --dtype bf16, plain fp32 peak under fp32; see PEAK_FLOPS or pass --peak_tflops). The same count is used for both
  models, so the MFU ratio is the throughput ratio.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import transformers

from modeling import AlbaForPreTraining, ModelConfig, from_hf
from modeling.flops import pretraining_flops

# The configurations of the issue; bert-tiny with a 30k vocabulary, where the V-way MLM projection dominates.
PRESET_OVERRIDES = {"bert-tiny": dict(vocab_size=30000)}
DEFAULT_CONFIGS = ("bert-tiny", "bert-small", "albert-base")
# Timed steps per config when --steps is not given: about a minute each on 2 CPU cores.
DEFAULT_STEPS = {"bert-tiny": 20, "bert-small": 6, "albert-base": 3}
MASKED_FRACTION = 0.15
MASK_ID = 4
# Peak dense FLOP/s by GPU name fragment: (bf16 tensor core, fp32 without TF32), from the vendor's data sheets.
PEAK_FLOPS = {"H200": (989e12, 67e12), "H100": (989e12, 67e12), "A100": (312e12, 19.5e12)}


def model_config(name: str) -> ModelConfig:
    return ModelConfig.from_preset(name, **PRESET_OVERRIDES.get(name, {}))


def hf_model(cfg: ModelConfig, seed: int):
    """A randomly initialised transformers pretraining model of the same architecture (BERT or all-shared ALBERT)."""
    common = dict(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, num_hidden_layers=cfg.num_hidden_layers,
                  num_attention_heads=cfg.num_attention_heads, intermediate_size=cfg.intermediate_size,
                  hidden_act=cfg.hidden_act, hidden_dropout_prob=cfg.hidden_dropout_prob,
                  attention_probs_dropout_prob=cfg.attention_probs_dropout_prob,
                  max_position_embeddings=cfg.max_position_embeddings, type_vocab_size=cfg.type_vocab_size,
                  initializer_range=cfg.initializer_range, layer_norm_eps=cfg.layer_norm_eps,
                  pad_token_id=cfg.pad_token_id, attn_implementation="sdpa")
    torch.manual_seed(seed)
    if cfg.sharing == "all":
        return transformers.AlbertForPreTraining(transformers.AlbertConfig(
            embedding_size=cfg.embedding_size, num_hidden_groups=cfg.num_hidden_groups, inner_group_num=1,
            classifier_dropout_prob=cfg.hidden_dropout_prob, **common))
    if cfg.sharing == "none" and cfg.embedding_size == cfg.hidden_size and cfg.sentence_head == "nsp":
        return transformers.BertForPreTraining(transformers.BertConfig(**common))
    raise SystemExit(f"no transformers model has the architecture of {cfg}")


def make_batch(cfg: ModelConfig, batch: int, seq: int, seed: int) -> dict[str, torch.Tensor]:
    """Pairs of segments, two rows in eight padded (as in pretraining data), 15% of the real positions masked."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.full((batch,), seq)
    lengths[::8] = seq // 3
    lengths[1::8] = 3 * seq // 4
    real = torch.arange(seq) < lengths[:, None]
    original = torch.randint(MASK_ID + 1, cfg.vocab_size, (batch, seq), generator=g)
    chosen = (torch.rand(batch, seq, generator=g) < MASKED_FRACTION) & real
    chosen[:, 0] = False  # [CLS]
    labels = torch.where(chosen, original, torch.full_like(original, -100))
    return dict(input_ids=torch.where(chosen, MASK_ID, original).masked_fill(~real, cfg.pad_token_id),
                token_type_ids=((torch.arange(seq) >= lengths[:, None] // 2) & real).long(),
                attention_mask=real.long(), labels=labels,
                sentence_labels=torch.randint(0, 2, (batch,), generator=g))


def alba_loss(model, b):
    return model(b["input_ids"], b["token_type_ids"], b["attention_mask"], mlm_labels=b["labels"],
                 sentence_labels=b["sentence_labels"]).loss


def hf_loss(model, b):
    sentence = "sentence_order_label" if model.config.model_type == "albert" else "next_sentence_label"
    return model(input_ids=b["input_ids"], token_type_ids=b["token_type_ids"], attention_mask=b["attention_mask"],
                 labels=b["labels"], **{sentence: b["sentence_labels"]}).loss


class Runner:
    """One model with its optimizer; `step()` is one timed training step."""

    def __init__(self, name, model, loss_fn, batch, args):
        self.name, self.model, self.loss_fn, self.batch, self.args = name, model.train(), loss_fn, batch, args
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        self.times: list[float] = []

    def step(self) -> float:
        sync(self.args.device)
        start = time.perf_counter()
        with torch.autocast(self.args.device, dtype=torch.bfloat16, enabled=self.args.dtype == "bf16"):
            loss = self.loss_fn(self.model, self.batch)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        sync(self.args.device)
        return time.perf_counter() - start


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def build(name: str, which: str, args) -> Runner:
    cfg = model_config(name)
    hf = hf_model(cfg, args.seed)
    model = from_hf(hf) if which == "alba" else hf
    batch = {k: v.to(args.device) for k, v in make_batch(cfg, args.batch, args.seq, args.seed).items()}
    return Runner(which, model.to(args.device), alba_loss if which == "alba" else hf_loss, batch, args)


def initial_loss(runner: Runner) -> float:
    runner.model.eval()
    with torch.no_grad():
        loss = runner.loss_fn(runner.model, runner.batch).item()
    runner.model.train()
    return loss


def peak_flops(args) -> float | None:
    if args.peak_tflops:
        return args.peak_tflops * 1e12
    if args.device != "cuda":
        return None
    gpu = torch.cuda.get_device_name()
    for fragment, (bf16, fp32) in PEAK_FLOPS.items():
        if fragment in gpu:
            return bf16 if args.dtype == "bf16" else fp32
    return None


def compare(name: str, args) -> dict:
    alba, hf = build(name, "alba", args), build(name, "transformers", args)
    losses = {r.name: initial_loss(r) for r in (alba, hf)}
    for i in range(args.warmup + steps_for(name, args)):
        for runner in ((alba, hf) if i % 2 == 0 else (hf, alba)):
            elapsed = runner.step()
            if i >= args.warmup:
                runner.times.append(elapsed)
    tokens = args.batch * args.seq
    result = {"config": name, "parameters": alba.model.num_parameters(), "steps": len(alba.times),
              "loss": losses, "loss_difference": abs(losses["alba"] - losses["transformers"]),
              "tokens_per_s": {r.name: tokens / min(r.times) for r in (alba, hf)},
              "median_tokens_per_s": {r.name: tokens / statistics.median(r.times) for r in (alba, hf)}}
    peak = peak_flops(args)
    if peak:
        n_masked = int((alba.batch["labels"] != -100).sum())
        per_token = pretraining_flops(alba.model.config, args.batch, args.seq, n_masked) / tokens
        result["mfu"] = {k: v * per_token / peak for k, v in result["tokens_per_s"].items()}
    del alba, hf
    gc.collect()
    if args.memory:
        result["peak_memory_bytes"] = {which: memory_in_subprocess(name, which, args)
                                       for which in ("alba", "transformers")}
    return result


def steps_for(name: str, args) -> int:
    return args.steps if args.steps is not None else DEFAULT_STEPS.get(name, 5)


def memory_in_subprocess(name: str, which: str, args) -> int:
    command = [sys.executable, __file__, "--memory_worker", which, "--configs", name, *forwarded(args)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"memory worker for {name}/{which} failed:\n{done.stderr}")
    return int(done.stdout.strip().splitlines()[-1])


def forwarded(args) -> list[str]:
    return ["--device", args.device, "--dtype", args.dtype, "--batch", str(args.batch), "--seq", str(args.seq),
            "--threads", str(args.threads), "--seed", str(args.seed)]


def memory_worker(args) -> int:
    """Build one model on the device, run two training steps (AdamW allocates its state in the first), return the
    peak memory it added (see the module docstring)."""
    (name,) = args.configs
    cfg = model_config(name)
    batch = {k: v.to(args.device) for k, v in make_batch(cfg, args.batch, args.seq, args.seed).items()}
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    else:
        rss_before = _proc_status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (the peak RSS) to the current RSS
    if args.memory_worker == "alba":
        model, loss_fn = AlbaForPreTraining(cfg), alba_loss  # random weights: the same memory as imported ones
    else:
        model, loss_fn = hf_model(cfg, args.seed), hf_loss
    runner = Runner(args.memory_worker, model.to(args.device), loss_fn, batch, args)
    for _ in range(2):
        runner.step()
    if args.device == "cuda":
        return torch.cuda.max_memory_allocated()
    return (_proc_status_kib("VmHWM") - rss_before) * 1024


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def table(results: list[dict], args) -> str:
    mib = lambda n: f"{n / 2**20:.0f}"  # noqa: E731
    head = ["config", "params", "steps", "alba tok/s", "HF tok/s", "speed ratio", "ratio of medians"]
    if args.memory:
        head += ["alba peak MiB", "HF peak MiB", "memory ratio"]
    if any("mfu" in r for r in results):
        head += ["alba MFU", "HF MFU"]
    head += ["alba loss", "HF loss", "abs. diff"]
    rows = []
    for r in results:
        speed = r["tokens_per_s"]
        row = [r["config"], f"{r['parameters'] / 1e6:.1f}M", str(r["steps"]), f"{speed['alba']:.0f}",
               f"{speed['transformers']:.0f}", f"{speed['alba'] / speed['transformers']:.2f}x",
               f"{r['median_tokens_per_s']['alba'] / r['median_tokens_per_s']['transformers']:.2f}x"]
        if args.memory:
            memory = r["peak_memory_bytes"]
            row += [mib(memory["alba"]), mib(memory["transformers"]),
                    f"{memory['alba'] / memory['transformers']:.2f}x"]
        if "mfu" in r:
            row += [f"{100 * r['mfu']['alba']:.1f}%", f"{100 * r['mfu']['transformers']:.1f}%"]
        row += [f"{r['loss']['alba']:.6f}", f"{r['loss']['transformers']:.6f}", f"{r['loss_difference']:.1e}"]
        rows.append(row)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS), help="model presets to compare")
    p.add_argument("--steps", type=int, default=None,
                   help=f"timed steps per model (default per config: {DEFAULT_STEPS}, else 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps per model first")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=("cpu", "cuda"))
    p.add_argument("--dtype", default=None, choices=("fp32", "bf16"),
                   help="bf16 runs under torch.autocast (default: bf16 on cuda, fp32 on cpu)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                   help="measure peak memory in subprocesses")
    p.add_argument("--peak_tflops", type=float, default=None, help="the GPU's peak, for MFU (else PEAK_FLOPS)")
    p.add_argument("--loss_tolerance", type=float, default=1e-4)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--memory_worker", choices=("alba", "transformers"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.dtype = args.dtype or ("bf16" if args.device == "cuda" else "fp32")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(memory_worker(args))
        return
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu, {args.threads} threads"
    print(f"# alba vs transformers {transformers.__version__}, torch {torch.__version__}, {where}, {args.dtype}, "
          f"batch {args.batch} x seq {args.seq}", flush=True)
    results = []
    for name in args.configs:
        results.append(compare(name, args))
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    unequal = [r["config"] for r in results if r["loss_difference"] > args.loss_tolerance]
    if unequal:
        raise SystemExit(f"losses differ by more than {args.loss_tolerance} for {', '.join(unequal)}")


if __name__ == "__main__":
    main()

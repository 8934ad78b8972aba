"""Statistics printed beside a run's results."""
from __future__ import annotations

import math
import os


def wilson_interval(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default); well-behaved near 0 and 1."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


# Dense peak FLOP/s of common training GPUs (vendor figures without sparsity): bf16/fp16 and fp32 (TF32 tensor
# cores, which torch uses for fp32 matmuls only when allowed, so fp32 MFU is against the TF32 peak).
_PEAKS = {"H200": (989e12, 494e12), "H100": (989e12, 494e12), "A100": (312e12, 156e12), "L4": (121e12, 60e12)}


def peak_flops(device_name: str, precision: str) -> float | None:
    """Peak FLOP/s of one device for MFU; ALBA_PEAK_TFLOPS overrides; None (no MFU) when unknown, e.g. on CPU."""
    override = os.environ.get("ALBA_PEAK_TFLOPS")
    if override:
        return float(override) * 1e12
    for name, (half, single) in _PEAKS.items():
        if name in device_name:
            return half if precision in ("bf16", "fp16") else single
    return None


def device_name(device) -> str:
    import torch
    return torch.cuda.get_device_name(device) if getattr(device, "type", "") == "cuda" else str(device)

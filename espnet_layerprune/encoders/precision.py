"""Numeric precision of the encoder: float32, or bfloat16 autocast on a CPU with bf16 units.

ESPnet's trainer autocasts only on CUDA (``--use_amp true`` changes nothing on a CPU), and its
``--dtype`` of decoding knows no bfloat16. Here the *encoder* (front-end convolutions, attention,
feed-forward, everything between the features and the CTC head) runs under
``torch.autocast(device, dtype=torch.bfloat16)``, and its outputs are cast back to float32.
So feature extraction, every CTC head and loss (final, intermediate, per size), the attention
decoder, the optimizer and the checkpoints stay float32, and a model trained in bf16 loads and
decodes anywhere exactly like one trained in fp32.

bf16 has float32's exponent range, so no loss scaling is needed (ESPnet's ``GradScaler`` is not
used on CPU).

A CPU computes bf16 matrix products fast only with bf16 instructions: ``avx512_bf16`` or
``amx_bf16`` on x86 (``lscpu`` lists them), ``bf16`` on Arm. Without them oneDNN emulates bf16
and it is slower than float32, so :func:`resolve` falls back to float32 with a warning.
"""

import contextlib
import logging
import platform
from pathlib import Path
from typing import Optional, Tuple

import torch

PRECISIONS = ("fp32", "bf16")
#: CPU flags (from /proc/cpuinfo) that give native bf16 matrix products.
BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> Tuple[str, ...]:
    """The feature flags of the first CPU in ``cpuinfo`` (x86 ``flags``, Arm ``Features``)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return ()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return tuple(value.split())
    return ()


def bf16_support(flags: Optional[Tuple[str, ...]] = None) -> Tuple[bool, str]:
    """(whether this CPU has native bf16 matrix units, a sentence saying which flag decided)."""
    flags = cpu_flags() if flags is None else flags
    found = [f for f in BF16_FLAGS if f in flags]
    if found:
        return True, f"CPU flag {found[0]} present"
    machine = platform.machine() or "this machine"
    return False, (
        f"the CPU ({machine}) has none of the flags {', '.join(BF16_FLAGS)} "
        "(see lscpu): bf16 would be emulated, slower than float32"
    )


def resolve(precision: str, option: str = "--precision", flags=None) -> Optional[torch.dtype]:
    """The encoder's compute dtype for a requested precision: ``None`` (float32) or
    ``torch.bfloat16``; a bf16 request on a CPU without bf16 units warns and gives ``None``.

    Raises:
        ValueError: ``precision`` not in :data:`PRECISIONS` (the message names ``option``).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"{option} must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp32":
        return None
    ok, why = bf16_support(flags)
    if not ok:
        logging.warning("%s bf16: %s; computing in float32 instead", option, why)
        return None
    return torch.bfloat16


def autocast(dtype: Optional[torch.dtype], device_type: str = "cpu"):
    """``torch.autocast`` to ``dtype`` on ``device_type``, or a no-op for ``None``."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=dtype)


def describe(dtype: Optional[torch.dtype]) -> str:
    """One log line's worth: what runs in which precision."""
    if dtype is None:
        return "float32 throughout"
    return (
        f"{str(dtype).replace('torch.', '')} autocast in the encoder (matrix products and "
        "convolutions); features, CTC heads, losses, decoder, optimizer and checkpoints in float32"
    )


def set_encoder_dtype(model, dtype: Optional[torch.dtype]) -> bool:
    """Set the compute dtype of ``model.encoder`` if it is a prunable encoder; whether it was."""
    encoder = getattr(model, "encoder", None)
    if encoder is None or not hasattr(encoder, "compute_dtype"):
        return False
    encoder.compute_dtype = dtype
    return True

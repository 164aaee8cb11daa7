"""One forward pass of a supernet update: which units, gates and skipping it uses."""

from dataclasses import dataclass
from typing import Optional, Tuple

import torch


@dataclass(frozen=True)
class SubnetPass:
    """One forward pass through the shared weights.

    Attributes:
        name: ``supernet``, ``subnet`` (stage 1's gated subnet) or ``size{N}``.
        weight: Its loss weight.
        size: Units the pass keeps (selects a per-size CTC head).
        units: 1-based kept units; ``None`` keeps the encoder's current ones.
        gates: ``(U,)`` gates on the units' residual branches, or ``None``.
        gates_open: For gates that are exactly 0 or 1 in the forward pass
            (straight-through top-k): which are 1. ``None``: all contribute.
        drop_probs: Per-unit training skip probabilities, drawn per unit;
            ``None`` keeps the encoder's own stochastic depth.
        drop_mode: ``batch`` (one draw per mini-batch) or ``row`` (one per sequence).
        head_size: The size whose CTC head reads the pass (per-size heads); ``None``: ``size``.
    """

    name: str
    weight: float
    size: int
    units: Optional[Tuple[int, ...]] = None
    gates: Optional[torch.Tensor] = None
    gates_open: Optional[Tuple[bool, ...]] = None
    drop_probs: Optional[Tuple[float, ...]] = None
    drop_mode: str = "batch"
    head_size: Optional[int] = None

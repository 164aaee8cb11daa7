"""What one forward pass of a prunable encoder runs: the run plan, and the context that carries it.

A :class:`RunPlan` is the one input that decides which units of an encoder run, and how. It is
frozen, and built by the encoder (:meth:`~espnet_layerprune.encoders.prunable.
PrunableEncoderMixin.plan`), which checks the units and derives the blocks once:

* ``units``: the 1-based units that may run (the others are pruned);
* ``gates``: optional :class:`UnitGates` multiplying the units' residual branches (supernet training);
* ``drop_probs``: training-time skip probabilities per unit (``None``: the encoder's own stochastic
  depth or LayerDrop);
* ``early_exit``: an optional :class:`ExitRule`: candidate networks tried in order until its
  stop rule says so (eval only).

Which plan a forward pass runs: the one set for this encoder in the current context
(:func:`running`: ``pruned()``, ``exiting()`` and per-call decoding use it), else the encoder's
own (``keep_units``; all units unless pruned for good). The context is a :mod:`contextvars`
variable, so threads (and asyncio tasks) decoding with one model at different depths do not see
each other's plans, and nested ``with`` blocks restore what was there.

Examples:
    >>> with encoder.pruned(layers=[1, 2, 3]):     # this thread, this block only
    ...     encoder(xs, ilens)                     # runs blocks 1-3
    >>> encoder.run_units(embedded, units=[1, 2], gates=UnitGates(g))  # an explicit plan
"""

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import torch


@dataclass(frozen=True)
class UnitGates:
    """Per-unit multipliers of the residual branches for one pass.

    Attributes:
        values: ``(num_units,)`` tensor; gradients flow through it to the scores.
        open: Which units are open in the forward pass, when the gate values are
            exactly 0 or 1 (straight-through top-k); ``None`` when every unit
            contributes (soft or sigmoid gates). A block whose units are all
            closed is skipped entirely, as decoding skips it.
    """

    values: torch.Tensor
    open: Optional[Tuple[bool, ...]] = None


@dataclass(frozen=True)
class ExitRule:
    """Early exit: networks tried in order, each continuing from what an earlier one ran.

    Attributes:
        candidates: ``(depth, plan)`` pairs, in the order they are tried; the plan is the network
            of that depth (what ``--prune_depth depth`` runs). The last always ends the pass.
        stop: ``stop(depth, output) -> bool``, called with each candidate's output (through the
            final LayerNorm, float32, as the CTC head reads it); true ends the pass there.
    """

    candidates: Tuple[Tuple[int, "RunPlan"], ...]
    stop: Callable[[int, torch.Tensor], bool]


@dataclass(frozen=True)
class RunPlan:
    """Which units one forward pass runs, and how (see the module doc); build it with the
    encoder's ``plan()``.

    Attributes:
        units: 1-based units that may run, increasing.
        gates: Gates on the units' residual branches, or ``None``.
        drop_probs: Training skip probability per unit, or ``None`` (the encoder's own).
        drop_granularity: How ``drop_probs`` are drawn: ``unit`` or ``block``.
        drop_mode: ``batch`` (one draw per mini-batch) or ``row`` (one per sequence).
        early_exit: Candidate networks tried in order and when to stop, or ``None``.
        scales: Derived: per unit, ``1.0`` (may run) or ``None`` (pruned).
        present: Derived: per block, whether it is part of the pass's network (it has a unit that
            runs and, with exact 0/1 gates, is open). A block outside it whose closed gates still
            run (for their gradient) skips its final LayerNorm and is no intermediate output.
        blocks: Derived: 0-based blocks of the network, in order.
        top: Derived: the last of them (its output is the final one), -1 if none.
        end: Derived: one past the last block that may run; the loop stops there.
    """

    units: Tuple[int, ...]
    gates: Optional[UnitGates] = None
    drop_probs: Optional[Tuple[float, ...]] = None
    drop_granularity: str = "unit"
    drop_mode: str = "batch"
    early_exit: Optional[ExitRule] = None
    scales: Tuple[Optional[float], ...] = field(default=(), repr=False)
    present: Tuple[bool, ...] = field(default=(), repr=False)
    blocks: Tuple[int, ...] = field(default=(), repr=False)
    top: int = field(default=-1, repr=False)
    end: int = field(default=0, repr=False)


#: The plans set in this context, by encoder (``id``). Never mutated: :func:`running` sets a new dict.
_ACTIVE: ContextVar[Dict[int, RunPlan]] = ContextVar("espnet_layerprune_run_plans", default={})


@contextlib.contextmanager
def running(encoder, plan: RunPlan):
    """Inside the ``with`` block, in this context only, ``encoder`` runs ``plan``; then what was
    set before (nesting-safe)."""
    token = _ACTIVE.set({**_ACTIVE.get(), id(encoder): plan})
    try:
        yield encoder
    finally:
        _ACTIVE.reset(token)


def active_plan(encoder) -> Optional[RunPlan]:
    """The plan set for ``encoder`` in this context, or ``None``."""
    return _ACTIVE.get().get(id(encoder))

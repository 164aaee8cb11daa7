"""Iterative-Zero-Out: sigmoid gates, a sparsity loss pulling the gate sum to
``U - n_i`` in iteration ``i``, and the ``n_i`` lowest scores reset to
``reset_value`` at the end of each iteration (they stay trainable)."""

import dataclasses
import logging
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Tuple

import torch

from espnet_layerprune.supernet.config import fail
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.scores import sigmoid_gates, unit_ranking, zero_out_sparsity_loss
from espnet_layerprune.supernet.staged import StagedConfig, StagedMethod

#: Reset scores differ by less than this, to keep their order (see ``reset_lowest``).
RESET_ORDER_SPAN = 1e-3
SPARSITY_SCALES = ("frames", "none")


@dataclass(frozen=True)
class IterativeZeroOutConfig(StagedConfig):
    """The options of Iterative-Zero-Out (and those of :class:`~.staged.StagedConfig`).

    Attributes:
        sparsity_weight: Weight of the sparsity loss (5 in the paper).
        sparsity_scale: ``frames`` (default) multiplies the weight by the batch's mean encoder
            length, because the paper's CTC loss is divided by the number of encoder frames and
            ESPnet's is not; ``none`` uses the weight as given.
        zero_out_counts: Cumulative number of units zeroed out by the end of each iteration
            (strictly increasing, in ``[1, U - 1]``). Default: ``U - size`` for each size below
            ``U``, from the largest to the smallest.
        reset_value: Score given to the lowest units at the end of an iteration (they stay
            trainable).
        first_iteration_factor: The first iteration is this many times as long as each of the
            others (``>= 1``; the reference code of Xu et al. 2024 uses 3; default 1: all equal).
    """

    method: str = "iterative_zero_out"
    sparsity_weight: float = 5.0
    sparsity_scale: str = "frames"
    zero_out_counts: Optional[Tuple[int, ...]] = None
    reset_value: float = -5.0
    first_iteration_factor: float = 1.0
    default_init_score: ClassVar[float] = 10.0

    def _check(self) -> None:
        super()._check()
        if not self.sparsity_weight >= 0.0:
            fail("sparsity_weight", f"must be >= 0, got {self.sparsity_weight}")
        if self.sparsity_scale not in SPARSITY_SCALES:
            fail("sparsity_scale", f"must be one of {SPARSITY_SCALES}, got {self.sparsity_scale!r}")
        if not self.first_iteration_factor >= 1.0:
            fail("first_iteration_factor", f"must be >= 1, got {self.first_iteration_factor}")

    def _derived(self) -> "IterativeZeroOutConfig":
        c = super()._derived()
        return dataclasses.replace(c, zero_out_counts=c._checked_zero_out())

    def _checked_zero_out(self) -> Tuple[int, ...]:
        U = self.num_units
        if self.zero_out_counts is None:
            counts = sorted({U - s for s in self.sizes if s < U})
        else:
            counts = list(self.zero_out_counts)
        if not counts:
            fail("zero_out_counts", "must list at least one count")
        bad = [n for n in counts if not 1 <= n <= U - 1]
        if bad:
            fail("zero_out_counts", f"entries must be in [1, {U - 1}], got {bad}")
        if any(b <= a for a, b in zip(counts, counts[1:])):
            fail("zero_out_counts", f"must be strictly increasing (cumulative), got {counts}")
        if 0 < self.stage1_steps < len(counts):
            fail(
                "stage1_steps",
                f"({self.stage1_steps}) must be >= the number of zero-out iterations "
                f"({len(counts)})",
            )
        if counts[-1] != U - self.sizes[0]:
            logging.warning(
                "supernet: zero_out_counts ends at %d but the smallest size %d needs %d "
                "units zeroed out", counts[-1], self.sizes[0], U - self.sizes[0],
            )
        return tuple(counts)


class IterativeZeroOut(StagedMethod):
    """Stage 1: the supernet and a subnet under sigmoid gates, a sparsity loss, and resets at
    the end of each zero-out iteration."""

    name = "iterative_zero_out"
    config_class = IterativeZeroOutConfig

    def _iteration_ends(self) -> Tuple[int, ...]:
        """The update at which each iteration ends: stage 1 split in ``n`` iterations, the first
        ``first_iteration_factor`` times as long as the others (the last takes the remainder)."""
        c = self.config
        n, f = len(c.zero_out_counts), c.first_iteration_factor
        if f == 1.0:  # equal lengths, the last taking the remainder (as before the option existed)
            ends = [(i + 1) * (c.stage1_steps // n) for i in range(n - 1)]
        else:
            unit = c.stage1_steps / (f + n - 1)
            ends = [max(1, int((f + i) * unit)) for i in range(n - 1)]
        return tuple(ends) + (c.stage1_steps,)

    def iteration(self, step: int) -> int:
        """0-based zero-out iteration of a stage-1 update."""
        ends = self._iteration_ends()
        return next((i for i, end in enumerate(ends) if step < end), len(ends) - 1)

    def _iteration_end(self, i: int) -> int:
        return self._iteration_ends()[i]

    def subnet_size(self, step: int) -> int:
        return self.config.num_units - self.config.zero_out_counts[self.iteration(step)]

    def before_update(self, net, step: int) -> None:
        counts = self.config.zero_out_counts
        if self.config.stage1_steps > 0:
            while int(net.resets_done) < len(counts):
                i = int(net.resets_done)
                if step < self._iteration_end(i):
                    break
                logging.info(
                    "supernet: zero-out iteration %d ends at update %d with gate sum %.2f "
                    "(target %d); resetting the %d lowest scores to %g",
                    i + 1, step, float(sigmoid_gates(net.scores.detach()).sum()),
                    self.config.num_units - counts[i], counts[i], self.config.reset_value,
                )
                reset_lowest(net.scores, counts[i], self.config.reset_value)
                net.resets_done.add_(1)
        super().before_update(net, step)

    def stage1_passes(self, net, step: int) -> List[SubnetPass]:
        c = self.config
        gates = sigmoid_gates(net.scores)
        i = self.iteration(step)
        n_prev = c.zero_out_counts[i - 1] if i > 0 else 0
        left_out = [j + 1 for j in unit_ranking(net.scores)[c.num_units - n_prev:]] if n_prev else []
        no_drop = (0.0,) * c.num_units
        k = self.subnet_size(step)
        subnet = SubnetPass("subnet", c.subnet_weight, k, net.all_units, gates, None, no_drop,
                            head_size=self.stage1_head_size(k))
        return [self.supernet_pass(net, left_out), subnet]

    def sparsity_loss(self, net, step: int) -> Optional[torch.Tensor]:
        """The unweighted sparsity loss of a stage-1 update (``None`` in stage 2)."""
        if self.stage_at(step) != 1:
            return None
        n = self.config.zero_out_counts[self.iteration(step)]
        return zero_out_sparsity_loss(net.scores, n, self.config.num_units)

    def sparsity_weight(self, mean_encoder_frames: float) -> float:
        """The sparsity loss weight for a batch (``sparsity_scale: frames`` multiplies
        ``sparsity_weight`` by the batch's mean encoder length: ESPnet's CTC loss is summed
        over an utterance, the paper's was divided by its encoder frames)."""
        c = self.config
        return c.sparsity_weight * (mean_encoder_frames if c.sparsity_scale == "frames" else 1.0)

    def extra_loss(self, net, step: int, encoder_lengths: torch.Tensor) -> Optional[Tuple[torch.Tensor, float]]:
        loss = self.sparsity_loss(net, step)
        if loss is None:
            return None
        return loss, self.sparsity_weight(float(encoder_lengths.float().mean()))

    def stats(self, net, step: int, training: bool) -> dict:
        out = super().stats(net, step, training)
        out["gate_sum"] = sigmoid_gates(net.scores.detach()).sum().item()
        if training and self.stage_at(step) == 1:
            out["gate_sum_target"] = float(
                self.config.num_units - self.config.zero_out_counts[self.iteration(step)]
            )
        return out


@torch.no_grad()
def reset_lowest(scores: torch.nn.Parameter, n: int, reset_value: float) -> None:
    """Reset the ``n`` lowest scores to ``reset_value``, keeping their order.

    The reset units get ``reset_value`` plus offsets below ``RESET_ORDER_SPAN``, in the
    order of their scores before the reset. Without them the last reset would leave the
    ``n`` lowest units tied, and the masks of the sizes in between would follow the unit
    index instead of the zero-out order (units zeroed in earlier iterations rank lowest).
    """
    U = scores.numel()
    lowest = unit_ranking(scores)[U - n:]  # highest of them first
    offsets = torch.arange(n, 0, -1, dtype=scores.dtype) * (RESET_ORDER_SPAN / n)
    index = torch.tensor(lowest, device=scores.device)
    scores.data[index] = reset_value + offsets.to(scores.device)

"""Simple-Top-k: a relaxed top-k over the scores gates a subnet whose size ``k``
anneals from ``U - d`` down to the smallest size over stage 1."""

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar, List, Optional

from espnet_layerprune.supernet.config import fail
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.scores import hard_top_k, relaxed_top_k, straight_through_top_k
from espnet_layerprune.supernet.staged import StagedConfig, StagedMethod

GATES = ("hard", "soft")


@dataclass(frozen=True)
class SimpleTopKConfig(StagedConfig):
    """The options of Simple-Top-k (and those of :class:`~.staged.StagedConfig`).

    Attributes:
        anneal_step: ``k`` goes ``U - d, U - 2d, ...`` down to the smallest size, ``d = anneal_step``.
        anneal_interval: Updates between two values of ``k``. Default: stage 1 split evenly over
            the values of ``k``.
        gates: ``hard`` (straight-through: the forward pass is exactly the k-unit subnet, the
            gradient is the relaxed top-k's) or ``soft`` (the relaxed k-hot vector itself).
    """

    method: str = "simple_top_k"
    anneal_step: int = 1
    anneal_interval: Optional[int] = None
    gates: str = "hard"
    default_init_score: ClassVar[float] = 0.5

    def _check(self) -> None:
        super()._check()
        if self.gates not in GATES:
            fail("gates", f"must be one of {GATES}, got {self.gates!r}")
        if self.anneal_step < 1:
            fail("anneal_step", f"must be >= 1, got {self.anneal_step}")
        if self.anneal_interval is not None and self.anneal_interval < 1:
            fail("anneal_interval", f"must be >= 1 (updates), got {self.anneal_interval}")

    def _derived(self) -> "SimpleTopKConfig":
        c = super()._derived()
        return dataclasses.replace(c, anneal_interval=c._checked_anneal())

    def num_k_values(self) -> int:
        """Values of ``k`` that stage 1 anneals through."""
        return math.ceil((self.num_units - self.sizes[0]) / self.anneal_step)

    def _checked_anneal(self) -> int:
        n_k = self.num_k_values()
        if self.anneal_interval is None:
            if 0 < self.stage1_steps < n_k:
                fail(
                    "stage1_steps",
                    f"({self.stage1_steps}) is shorter than the {n_k} values of k "
                    f"({self.num_units - self.anneal_step} down to {self.sizes[0]} in steps of "
                    f"anneal_step={self.anneal_step}): k would never reach the smallest size; "
                    f"give at least {n_k} stage-1 updates or a larger anneal_step",
                )
            return max(1, self.stage1_steps // n_k)
        reached = (n_k - 1) * self.anneal_interval
        if self.stage1_steps and reached >= self.stage1_steps:
            fail(
                "anneal_interval",
                f"({self.anneal_interval}) is too long: k would reach the smallest size "
                f"{self.sizes[0]} at update {reached}, after stage 1 ends at "
                f"stage1_steps={self.stage1_steps}; lower it, or leave it unset to "
                "spread the annealing over stage 1",
            )
        return self.anneal_interval


class SimpleTopK(StagedMethod):
    """Stage 1: the supernet and a subnet gated by the top-``k`` of the scores."""

    name = "simple_top_k"
    config_class = SimpleTopKConfig

    def subnet_size(self, step: int) -> int:
        c = self.config
        d, U = c.anneal_step, c.num_units
        return max(U - d - (step // c.anneal_interval) * d, c.sizes[0])

    def stage1_passes(self, net, step: int) -> List[SubnetPass]:
        c = self.config
        k = self.subnet_size(step)
        if c.gates == "hard":
            gates = straight_through_top_k(net.scores, k)
            picked = gates.detach()
            is_open = tuple(bool(v) for v in picked.tolist())
        else:
            gates = relaxed_top_k(net.scores, k)
            picked = hard_top_k(gates.detach(), k)
            is_open = None  # every soft gate contributes
        left_out = [j + 1 for j in range(c.num_units) if picked[j] == 0]
        no_drop = (0.0,) * c.num_units
        subnet = SubnetPass("subnet", c.subnet_weight, k, net.all_units, gates, is_open, no_drop,
                            head_size=self.stage1_head_size(k))
        return [self.supernet_pass(net, left_out), subnet]

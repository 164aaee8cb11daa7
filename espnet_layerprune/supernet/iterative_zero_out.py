"""Iterative-Zero-Out: sigmoid gates, a sparsity loss pulling the gate sum to
``U - n_i`` in iteration ``i``, and the ``n_i`` lowest scores reset to
``reset_value`` at the end of each iteration (they stay trainable)."""

import logging
from typing import List, Optional

import torch

from espnet_layerprune.supernet.scores import sigmoid_gates, unit_ranking, zero_out_sparsity_loss
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.staged import StagedMethod

#: Reset scores differ by less than this, to keep their order (see ``reset_lowest``).
RESET_ORDER_SPAN = 1e-3


class IterativeZeroOutMethod(StagedMethod):
    def _iteration_len(self) -> int:
        return self.config.stage1_steps // len(self.config.zero_out_counts)

    def iteration(self, step: int) -> int:
        """0-based zero-out iteration of a stage-1 update."""
        return min(step // self._iteration_len(), len(self.config.zero_out_counts) - 1)

    def _iteration_end(self, i: int) -> int:
        if i == len(self.config.zero_out_counts) - 1:
            return self.config.stage1_steps  # the last iteration takes the remainder
        return (i + 1) * self._iteration_len()

    def subnet_size(self, net, step: int) -> int:
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
        subnet = SubnetPass("subnet", c.subnet_weight, self.subnet_size(net, step),
                            net.all_units, gates, None, no_drop)
        return [self.supernet_pass(net, left_out), subnet]

    def extra_loss(self, net, step: int) -> Optional[torch.Tensor]:
        if net.stage_at(step) != 1:
            return None
        n = self.config.zero_out_counts[self.iteration(step)]
        return zero_out_sparsity_loss(net.scores, n, self.config.num_units)

    def stats(self, net, step: int, training: bool) -> dict:
        out = super().stats(net, step, training)
        out["gate_sum"] = sigmoid_gates(net.scores.detach()).sum().item()
        if training and net.stage_at(step) == 1:
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

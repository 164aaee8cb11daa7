"""Simple-Top-k: a relaxed top-k over the scores gates a subnet whose size ``k``
anneals from ``U - d`` down to the smallest size over stage 1."""

from typing import List

from espnet_layerprune.supernet.scores import hard_top_k, relaxed_top_k, straight_through_top_k
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.staged import StagedMethod


class SimpleTopKMethod(StagedMethod):
    def subnet_size(self, net, step: int) -> int:
        c = self.config
        d, U = c.anneal_step, c.num_units
        return max(U - d - (step // c.anneal_interval) * d, c.sizes[0])

    def stage1_passes(self, net, step: int) -> List[SubnetPass]:
        c = self.config
        k = self.subnet_size(net, step)
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
        subnet = SubnetPass("subnet", c.subnet_weight, k, net.all_units, gates, is_open, no_drop)
        return [self.supernet_pass(net, left_out), subnet]

"""What the two scored methods of Xu et al. (Interspeech 2024) share: stage 2.

Stage 1 (``stage1_steps`` updates) learns the scores; its passes are the
method's own. At the first update of stage 2 the scores are frozen, and each
update trains the largest net (with stochastic depth on the units outside the
smallest subnet), the smallest subnet and one medium subnet drawn uniformly
(the "sandwich rule"), all with hard nested masks.
"""

import logging
from typing import List

from espnet_layerprune.supernet.scores import nested_masks
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.stochastic_depth import StochasticDepthMethod


class StagedMethod(StochasticDepthMethod):
    """Stage 2 and freezing; subclasses define :meth:`stage1_passes`."""

    scored = True

    def before_update(self, net, step: int) -> None:
        if not net.is_frozen and step >= self.config.stage1_steps:
            net.freeze()
            logging.info(
                "supernet: stage 2 from update %d, frozen masks %s",
                step, dict(zip(self.config.sizes, nested_masks(net.frozen_scores, self.config.sizes))),
            )

    def train_passes(self, net, step: int) -> List[SubnetPass]:
        if net.stage_at(step) == 1:
            return self.stage1_passes(net, step)
        c = self.config
        smallest, largest = c.sizes[0], c.sizes[-1]
        wanted = [largest, smallest]
        medium = net.medium_size(step)
        if medium is not None:
            wanted.append(medium)
        masks = dict(zip(wanted, nested_masks(net.frozen_scores, wanted)))
        inside = set(masks[smallest])
        drop = tuple(0.0 if u in inside else c.stage2_stochastic_depth for u in net.all_units)
        passes = [SubnetPass("supernet", c.supernet_weight, largest, masks[largest], None, None, drop)]
        no_drop = (0.0,) * c.num_units
        for size in wanted[1:]:
            passes.append(SubnetPass(f"size{size}", c.subnet_weight, size, masks[size], None, None, no_drop))
        return passes

    def stage1_passes(self, net, step: int) -> List[SubnetPass]:  # pragma: no cover
        raise NotImplementedError

    def supernet_pass(self, net, left_out) -> SubnetPass:
        """Stage 1's supernet pass: the units the subnet leaves out are skipped
        with ``stage1_stochastic_depth``."""
        c = self.config
        out = set(left_out)
        drop = tuple(c.stage1_stochastic_depth if u in out else 0.0 for u in net.all_units)
        return SubnetPass("supernet", c.supernet_weight, c.num_units, net.all_units, None, None, drop)

    def stats(self, net, step: int, training: bool) -> dict:
        s = net.scores.detach()
        out = dict(score_min=s.min().item(), score_max=s.max().item(), score_mean=s.mean().item())
        if training and net.stage_at(step) == 1:
            out["k"] = float(self.subnet_size(net, step))
        elif training and net.medium_size(step) is not None:
            out["medium_size"] = float(net.medium_size(step))
        return out

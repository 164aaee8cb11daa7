"""Lee, Kang, Watanabe (Interspeech 2021): the supernet alone, with the encoder's
own stochastic depth and intermediate CTC. No scores, no stages; a size keeps the
first units (whole blocks)."""

from typing import List, Optional

import torch

from espnet_layerprune.supernet.passes import SubnetPass


class StochasticDepthMethod:
    """The base of every method: one supernet pass per update.

    A method is a small object with these hooks, called by
    :class:`~espnet_layerprune.supernet.core.Supernet`:
    :meth:`before_update`, :meth:`train_passes`, :meth:`subnet_size`,
    :meth:`extra_loss` and :meth:`stats`.
    """

    scored = False

    def __init__(self, config):
        self.config = config

    def before_update(self, net, step: int) -> None:
        """What happens at an update boundary (resets, freezing)."""

    def train_passes(self, net, step: int) -> List[SubnetPass]:
        c = self.config
        return [SubnetPass("supernet", c.supernet_weight, c.sizes[-1])]

    def subnet_size(self, net, step: int) -> int:
        return self.config.sizes[0]

    def extra_loss(self, net, step: int) -> Optional[torch.Tensor]:
        """An unweighted loss term besides the passes' losses, or ``None``."""
        return None

    def stats(self, net, step: int, training: bool) -> dict:
        return {}

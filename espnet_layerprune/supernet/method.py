"""What a supernet method is: a config of its own, and the hooks the supernet calls.

A method decides, for one update, the :class:`~.passes.SubnetPass` list the model runs through
the shared encoder, what happens at update boundaries, any loss besides the passes', and which
units a size (or a depth) keeps once trained. It holds no state: the scores, the update counter
and the frozen masks are the :class:`~.core.Supernet`'s, which passes itself in. A new method is
one new file (its config dataclass and its subclass) and one line in :mod:`.methods`.
"""

from typing import ClassVar, Dict, List, Optional, Tuple, Type

import torch

from espnet_layerprune.supernet.config import SupernetConfig
from espnet_layerprune.supernet.passes import SubnetPass


class SupernetMethod:
    """The hooks of a method (defaults: no learned scores, no stages, no extra loss).

    Attributes:
        name: ``model_conf.supernet.method``.
        config_class: Its options.
        config: The resolved options.
    """

    name: ClassVar[str]
    config_class: ClassVar[Type[SupernetConfig]]

    def __init__(self, config: SupernetConfig):
        self.config = config

    def initial_scores(self) -> Optional[torch.Tensor]:
        """The initial unit scores, or ``None`` for a method that learns none."""
        return None

    def stage_at(self, step: int) -> int:
        """The stage of update ``step`` (0: a method without stages)."""
        return 0

    def before_update(self, net, step: int) -> None:
        """What happens at an update boundary (resets, freezing the masks)."""

    def train_passes(self, net, step: int) -> List[SubnetPass]:  # pragma: no cover
        """The passes of one training update, with their loss weights."""
        raise NotImplementedError

    def extra_loss(self, net, step: int, encoder_lengths: torch.Tensor) -> Optional[Tuple[torch.Tensor, float]]:
        """``(loss, weight)`` of a term besides the passes' losses (reported as
        ``loss_sparsity``), or ``None``."""
        return None

    def stats(self, net, step: int, training: bool) -> Dict[str, float]:
        """The method's own values for ESPnet's reporter."""
        return {}

    def size_units(self, net, size: int, quiet: bool = False) -> Tuple[int, ...]:  # pragma: no cover
        """1-based units kept at ``size``."""
        raise NotImplementedError

    def depth_layers(self, net, depth: int) -> Optional[Tuple[int, ...]]:
        """1-based blocks kept at ``depth``, or ``None`` (the first blocks)."""
        return None

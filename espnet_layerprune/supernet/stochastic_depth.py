"""Lee, Kang, Watanabe (Interspeech 2021): the supernet alone, with the encoder's
own stochastic depth and intermediate CTC. No scores, no stages; a size keeps the
first units (whole blocks)."""

from dataclasses import dataclass
from typing import List, Tuple

from espnet_layerprune.supernet.config import SupernetConfig, fail
from espnet_layerprune.supernet.method import SupernetMethod
from espnet_layerprune.supernet.passes import SubnetPass


@dataclass(frozen=True)
class StochasticDepthConfig(SupernetConfig):
    """The shared options only; ``sizes`` must be whole blocks."""

    method: str = "stochastic_depth"

    def _check_sizes(self, sizes: List[int]) -> None:
        per = self.units_per_layer
        if any(s % per for s in sizes):
            fail(
                "sizes",
                f"must be multiples of {per} (units per block) for method "
                f"stochastic_depth, which keeps whole blocks, got {sizes}",
            )


class StochasticDepth(SupernetMethod):
    """One supernet pass per update, skipping by the encoder's own stochastic depth."""

    name = "stochastic_depth"
    config_class = StochasticDepthConfig

    def train_passes(self, net, step: int) -> List[SubnetPass]:
        c = self.config
        return [SubnetPass("supernet", c.supernet_weight, c.sizes[-1])]

    def size_units(self, net, size: int, quiet: bool = False) -> Tuple[int, ...]:
        return tuple(range(1, size + 1))

"""The supernet methods by name (``model_conf.supernet.method``); a new method is one line here."""

from typing import Dict, Type

from espnet_layerprune.supernet.iterative_zero_out import IterativeZeroOut
from espnet_layerprune.supernet.method import SupernetMethod
from espnet_layerprune.supernet.simple_top_k import SimpleTopK
from espnet_layerprune.supernet.stochastic_depth import StochasticDepth

#: In the order error messages list them; the first is the default.
METHODS: Dict[str, Type[SupernetMethod]] = {m.name: m for m in (SimpleTopK, IterativeZeroOut, StochasticDepth)}

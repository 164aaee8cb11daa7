"""Supernet training schedules: stochastic depth (Lee et al. 2021), Simple-Top-k and
Iterative-Zero-Out (Xu et al. 2024), one file each, each with its own options. See :mod:`.core`."""

from espnet_layerprune.supernet.config import SupernetConfig
from espnet_layerprune.supernet.core import Supernet
from espnet_layerprune.supernet.iterative_zero_out import RESET_ORDER_SPAN
from espnet_layerprune.supernet.methods import METHODS
from espnet_layerprune.supernet.passes import SubnetPass

__all__ = ["METHODS", "RESET_ORDER_SPAN", "SubnetPass", "Supernet", "SupernetConfig"]

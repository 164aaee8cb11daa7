"""Training-time layer skipping: stochastic depth and LayerDrop schedules.

Two closely related regularisers decide, for every training step, which units of
the encoder run:

* stochastic depth (Huang et al. 2016; Lee et al. 2021): unit ``l`` is skipped for
  the whole mini-batch with probability ``p_l``; a unit that runs scales its
  residual branch by ``1 / (1 - p_l)`` so that the expected output matches eval;
* LayerDrop (Fan et al. 2019): the same skipping, without rescaling.

This module only turns the user's options into per-unit probabilities (validated
once, at construction) and draws one step's skip decisions. Applying them is the
encoder's job (:mod:`espnet_layerprune.encoders.prunable`).
"""

from typing import List, Optional, Sequence, Union

import torch

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.units import DROP_MODES

SCHEDULES = ("constant", "linear")
#: ``block``: a block's units share one draw (the whole block is skipped, as in
#: Lee et al. and ESPnet's conformer); ``unit``: each unit draws on its own.
GRANULARITIES = ("block", "unit")
#: ``batch``: one draw per unit for the whole mini-batch (a skipped unit is not computed, as in
#: ESPnet's conformer); ``row``: one draw per unit and sequence (torchvision's ``mode="row"``, the
#: reference code of Xu et al. 2024): every unit runs and multiplies its branch by a per-sequence
#: 0 or 1/(1-p), so nothing is saved but each sequence sees its own network.
MODES = DROP_MODES


def drop_probabilities(
    rate: Union[float, Sequence[float]],
    num_layers: int,
    schedule: str = "constant",
    option: str = "stochastic_depth_rate",
) -> List[float]:
    """Per-layer skip probabilities for a rate and a schedule.

    Args:
        rate: One probability ``p`` for all layers, or an explicit list with one
            probability per layer (the schedule is then ignored).
        num_layers: Number of layers ``L``.
        schedule: ``constant`` (``p_l = p``) or ``linear`` (``p_l = p * l / L`` for
            ``l = 1..L``, deeper layers dropped more, as in Lee et al. 2021).
        option: Option name used in error messages.

    Returns:
        ``L`` probabilities, each in ``[0, 1)``.

    Raises:
        ValueError: On a probability outside ``[0, 1)``, a list of the wrong length
            or an unknown schedule; the message names ``option``.
    """
    if isinstance(rate, (int, float)):
        if schedule not in SCHEDULES:
            raise ConfigError(
                f"stochastic_depth_schedule must be one of {SCHEDULES}, got {schedule!r}"
            )
        p = float(rate)
        if schedule == "linear":
            probs = [p * (i + 1) / num_layers for i in range(num_layers)]
        else:
            probs = [p] * num_layers
    else:
        probs = [float(r) for r in rate]
        if len(probs) != num_layers:
            raise ConfigError(
                f"{option} is a list of {len(probs)} values but the encoder has "
                f"{num_layers} layers; give one value per layer or a single float"
            )
    for i, p in enumerate(probs):
        if not 0.0 <= p < 1.0:
            raise ConfigError(
                f"{option} must be in [0, 1) for every layer, got {p} for layer {i + 1}"
            )
    return probs


def sample_scales(
    probs: Sequence[float],
    rescale: bool,
    group_size: int = 1,
    generator: Optional[torch.Generator] = None,
) -> List[float]:
    """Draw one training step's residual scales.

    Args:
        probs: Skip probability of every unit.
        rescale: Scale kept units by ``1 / (1 - p)`` (stochastic depth) or not
            (LayerDrop).
        group_size: Consecutive units sharing one draw (``units_per_layer`` for
            block-level skipping; units of a group with the same probability are
            skipped together).
        generator: Optional random generator; the global CPU generator otherwise
            (ESPnet reseeds it every epoch, so runs are reproducible).

    Returns:
        One scale per unit: ``0.0`` means skip, anything else multiplies the
        unit's residual branch.
    """
    groups = -(-len(probs) // group_size)
    draws = torch.rand(groups, generator=generator).tolist()
    out = []
    for j, p in enumerate(probs):
        if draws[j // group_size] < p:
            out.append(0.0)
        else:
            out.append(1.0 / (1.0 - p) if rescale else 1.0)
    return out


def sample_row_scales(
    probs: Sequence[float],
    rescale: bool,
    batch_size: int,
    group_size: int = 1,
    generator: Optional[torch.Generator] = None,
) -> List:
    """Draw one training step's residual scales per sequence (``row`` mode).

    Args:
        probs: Skip probability of every unit.
        rescale: Scale kept units by ``1 / (1 - p)`` (stochastic depth) or not (LayerDrop).
        batch_size: Sequences in the mini-batch.
        group_size: Consecutive units sharing one draw per sequence.
        generator: Optional random generator (the global one otherwise).

    Returns:
        One scale per unit: ``1.0`` for a unit that is never skipped, ``0.0`` for one skipped in
        every sequence (not computed), else a ``(B, 1, 1)`` tensor multiplying its branch.
    """
    groups = -(-len(probs) // group_size)
    draws = torch.rand(groups, batch_size, generator=generator)
    out: List = []
    for j, p in enumerate(probs):
        if p == 0.0:
            out.append(1.0)
            continue
        keep = (draws[j // group_size] >= p).float()
        if not keep.any():
            out.append(0.0)
        else:
            out.append((keep / (1.0 - p) if rescale else keep).view(batch_size, 1, 1))
    return out

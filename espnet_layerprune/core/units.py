"""Which units run for a request: the one place that decides it.

Decoding (``--prune_depth/--prune_layers/--prune_size``, or per call),
layer selection, analysis, export and the supernet's size tables all turn a
:class:`PruneRequest` into :class:`KeptUnits` with :func:`resolve`. Its
precedence, written once:

1. ``layers``: exactly these 1-based blocks;
2. otherwise, with a prune plan for this model (``prune_plan.yaml``, made by
   ``select_layers`` on a dev set): the plan (a depth it lacks is an error, except
   the full depth; a size only if the plan lists sizes);
3. otherwise, for a data-driven supernet (``masks``): its learned
   masks (top-``size`` units; for a depth, the blocks whose unit scores sum highest);
4. otherwise: the first ``depth`` blocks (early exit through the shared CTC
   head, what intermediate CTC trains). A size needs 2 or 3.

No request keeps everything. Layer and unit numbers are 1-based everywhere a
user sees them, like ESPnet's ``interctc_layer_idx``.
"""

import logging
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from espnet_layerprune.core.errors import ConfigError, one_of

#: How training-time skips are drawn (stochastic depth, LayerDrop): ``batch`` (one draw per unit and
#: mini-batch) or ``row`` (one per unit and sequence); the encoders and the supernet passes share it.
DROP_MODES = ("batch", "row")

#: The request options, as the command-line tools name them (``--prune_depth``, ...).
PRUNE_OPTIONS = ("prune_depth", "prune_layers", "prune_size")


@dataclass(frozen=True)
class PruneRequest:
    """What a user asks for: at most one of a depth, a layer list or a size.

    Attributes:
        depth: Keep this many blocks (``--prune_depth``).
        layers: Keep exactly these 1-based blocks (``--prune_layers``).
        size: Keep this many prunable units (``--prune_size``).
    """

    depth: Optional[int] = None
    layers: Optional[Tuple[int, ...]] = None
    size: Optional[int] = None

    def __post_init__(self):
        given = [f"--prune_{n}" for n in ("depth", "layers", "size") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ConfigError(one_of(given))
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))

    @property
    def is_full(self) -> bool:
        return self.depth is None and self.layers is None and self.size is None


@dataclass(frozen=True)
class KeptUnits:
    """What a request resolved to.

    Attributes:
        units: 1-based kept units.
        layers: 1-based blocks with at least one kept unit.
        num_layers: Blocks of the encoder.
        units_per_layer: Units per block.
        source: Where the decision came from (for logs and reports).
    """

    units: Tuple[int, ...]
    layers: Tuple[int, ...]
    num_layers: int
    units_per_layer: int
    source: str

    @property
    def num_units(self) -> int:
        return len(self.units)


# ---------------------------------------------------------------- checks
def parse_layer_list(text: str, option: str = "--prune_layers") -> List[int]:
    """Parse ``"1,3,5"`` or ranges such as ``"1-6"`` / ``"1-3,7"`` into a list.

    Raises:
        ConfigError: Anything that is not comma-separated integers or ranges.
    """
    items = [t.strip() for t in str(text).replace(" ", ",").split(",") if t.strip()]
    if not items:
        raise ConfigError(f"{option} is empty; give 1-based layer numbers like 1,3,5 or 1-6")
    out: List[int] = []
    try:
        for item in items:
            if "-" in item.strip("-"):
                lo, hi = (int(v) for v in item.split("-", 1))
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(item))
    except ValueError:
        raise ConfigError(
            f"{option} must be comma-separated integers or ranges like 1,3,5 or 1-6, got {text!r}"
        ) from None
    return out


def check_depth(depth, num_layers: int, option: str = "--prune_depth") -> int:
    """Validate a requested depth: an integer in ``[1, num_layers]``."""
    if not isinstance(depth, int) or isinstance(depth, bool):
        try:
            as_float = None if isinstance(depth, bool) else float(depth)
        except (TypeError, ValueError):
            as_float = None
        if as_float is None or not as_float.is_integer():
            raise ConfigError(f"{option} must be an integer in [1, {num_layers}], got {depth!r}")
        depth = int(as_float)
    if not 1 <= depth <= num_layers:
        raise ConfigError(f"{option} must be in [1, {num_layers}], got {depth}")
    return depth


def check_layers(
    layers: Sequence[int], num_layers: int, option: str = "--prune_layers"
) -> Tuple[int, ...]:
    """Validate an explicit list of kept layers: increasing, unique, in range."""
    layers = tuple(layers)
    if not layers:
        raise ConfigError(f"{option} must name at least one layer in [1, {num_layers}]")
    bad = [x for x in layers if not 1 <= x <= num_layers]
    if bad:
        raise ConfigError(
            f"{option} entries must be in [1, {num_layers}], got {bad} in {list(layers)}"
        )
    if len(set(layers)) != len(layers):
        raise ConfigError(f"{option} has duplicate entries: {list(layers)}")
    if list(layers) != sorted(layers):
        raise ConfigError(
            f"{option} must be in increasing order (kept layers run in their "
            f"original order), got {list(layers)}"
        )
    return layers


def units_of_layers(layers: Sequence[int], units_per_layer: int) -> Tuple[int, ...]:
    """All 1-based unit numbers of the given 1-based layers."""
    return tuple(
        (layer - 1) * units_per_layer + u + 1 for layer in layers for u in range(units_per_layer)
    )


def layers_of_units(units: Sequence[int], units_per_layer: int) -> Tuple[int, ...]:
    """1-based blocks holding at least one of ``units``."""
    return tuple(sorted({(u - 1) // units_per_layer + 1 for u in units}))


# ---------------------------------------------------------------- the decision
def resolve(
    request: PruneRequest,
    num_layers: int,
    units_per_layer: int = 1,
    masks=None,
    plan=None,
    warn: bool = True,
) -> KeptUnits:
    """Decide which units run for ``request`` (precedence: see the module doc).

    Args:
        request: Depth, layers or size (or none: everything).
        num_layers: Blocks of the encoder.
        units_per_layer: Prunable units per block.
        masks: The model's learned masks, if any (an object answering ``size_units(size)``
            and ``depth_layers(depth)``; see :mod:`espnet_layerprune.models.pruning`).
        plan: The prune plan made for this model, if any (see
            :meth:`~espnet_layerprune.core.plan.PrunePlan.find_for`).
        warn: Warn when a depth keeps blocks of learned masks that no training pass ran
            together (callers resolving every depth at once say it once themselves).

    Raises:
        ConfigError: An out-of-range request, or a size the model cannot serve.
    """
    U = units_per_layer

    def kept(units, source) -> KeptUnits:
        units = tuple(sorted(units))
        return KeptUnits(units, layers_of_units(units, U), num_layers, U, source)

    if request.layers is not None:
        layers = check_layers(request.layers, num_layers)
        return kept(units_of_layers(layers, U), "explicit --prune_layers")
    if request.size is not None:
        size = check_depth(request.size, num_layers * U, option="--prune_size")
        if plan is not None and plan.sizes:
            return kept(plan.units_for_size(size, num_layers), f"prune plan {plan.source}")
        if masks is not None:
            return kept(masks.size_units(size), "supernet learned masks")
        raise ConfigError(
            f"--prune_size {size}: this model has no learned unit masks and no prune "
            "plan with sizes; use --prune_depth, or train with model: layerprune "
            "(method simple_top_k or iterative_zero_out)"
        )
    if request.depth is None:
        return kept(range(1, num_layers * U + 1), "full depth")
    depth = check_depth(request.depth, num_layers)
    if plan is not None:
        layers = plan.layers_for_depth(depth, num_layers)
        return kept(units_of_layers(layers, U), f"prune plan {plan.source}")
    if masks is not None and depth < num_layers:
        if warn:
            _warn_blocks_not_trained_together(masks, depth, U)
        return kept(units_of_layers(masks.depth_layers(depth), U), "supernet learned scores")
    return kept(units_of_layers(range(1, depth + 1), U), "default rule: keep the first N layers")


def _warn_blocks_not_trained_together(masks, depth: int, units_per_layer: int) -> None:
    """A depth on a scored supernet keeps whole blocks ranked by summed unit scores: a
    combination no training pass ran. Its trained subnets are the sizes (measured: up to
    2 WER better on synth_en, docs/results/README.md)."""
    same = depth * units_per_layer
    sizes = tuple(masks.sizes)
    hint = f"--prune_size {same} keeps as many units" if same in sizes else f"its trained sizes are {sizes}"
    logging.warning(
        "--prune_depth %d on a data-driven supernet keeps whole blocks ranked by their summed unit "
        "scores, which were not trained together as a subnet; %s, with the learned masks",
        depth, hint,
    )

"""Which layers a pruned model keeps: the one place that answers this question.

Training, decoding, layer selection and export all call :func:`resolve_kept_layers`
(block level) or :func:`units_of_layers` (unit level). Layer and unit numbers are
1-based everywhere a user sees them, like ESPnet's ``interctc_layer_idx``.
"""

from typing import List, Optional, Sequence, Tuple

from espnet_layerprune.plan import PrunePlan


def parse_layer_list(text: str, option: str = "--prune_layers") -> List[int]:
    """Parse ``"1,3,5"`` (spaces allowed) into ``[1, 3, 5]``.

    Raises:
        ValueError: On anything that is not a comma-separated list of integers.
    """
    items = [t.strip() for t in str(text).replace(" ", ",").split(",") if t.strip()]
    if not items:
        raise ValueError(f"{option} is empty; give 1-based layer numbers like 1,3,5")
    try:
        return [int(t) for t in items]
    except ValueError:
        raise ValueError(
            f"{option} must be comma-separated integers like 1,3,5, got {text!r}"
        ) from None


def check_depth(depth, num_layers: int, option: str = "--prune_depth") -> int:
    """Validate a requested depth: an integer in ``[1, num_layers]``."""
    if not isinstance(depth, int) or isinstance(depth, bool):
        try:
            as_float = None if isinstance(depth, bool) else float(depth)
        except (TypeError, ValueError):
            as_float = None
        if as_float is None or not as_float.is_integer():
            raise ValueError(
                f"{option} must be an integer in [1, {num_layers}], got {depth!r}"
            )
        depth = int(as_float)
    if not 1 <= depth <= num_layers:
        raise ValueError(f"{option} must be in [1, {num_layers}], got {depth}")
    return depth


def check_layers(
    layers: Sequence[int], num_layers: int, option: str = "--prune_layers"
) -> Tuple[int, ...]:
    """Validate an explicit list of kept layers: sorted, unique, in range."""
    layers = tuple(layers)
    if not layers:
        raise ValueError(f"{option} must name at least one layer in [1, {num_layers}]")
    bad = [x for x in layers if not 1 <= x <= num_layers]
    if bad:
        raise ValueError(
            f"{option} entries must be in [1, {num_layers}], got {bad} in {list(layers)}"
        )
    if len(set(layers)) != len(layers):
        raise ValueError(f"{option} has duplicate entries: {list(layers)}")
    if list(layers) != sorted(layers):
        raise ValueError(
            f"{option} must be in increasing order (kept layers run in their "
            f"original order), got {list(layers)}"
        )
    return layers


def resolve_kept_layers(
    num_layers: int,
    depth: Optional[int] = None,
    layers: Optional[Sequence[int]] = None,
    plan: Optional[PrunePlan] = None,
) -> Tuple[Tuple[int, ...], str]:
    """Decide which blocks run for a requested depth or explicit layer list.

    Args:
        num_layers: Depth of the trained encoder.
        depth: Keep this many layers (``--prune_depth``).
        layers: Keep exactly these 1-based layers (``--prune_layers``).
        plan: A prune plan stored next to the model; when given, ``depth`` is
            looked up in it instead of using the default rule.

    Returns:
        The kept 1-based layers, and a short description of where they came from
        (for the log).

    Raises:
        ValueError: Both or invalid options, or a plan that does not fit the model.
    """
    if depth is not None and layers is not None:
        raise ValueError("give either --prune_depth or --prune_layers, not both")
    if layers is not None:
        return check_layers(layers, num_layers), "explicit --prune_layers"
    if depth is None:
        return tuple(range(1, num_layers + 1)), "full depth"
    depth = check_depth(depth, num_layers)
    if plan is not None:
        return plan.layers_for_depth(depth, num_layers), f"prune plan {plan.source}"
    # Default: early exit through the shared CTC head (what intermediate CTC trains).
    return tuple(range(1, depth + 1)), "default rule: keep the first N layers"


def units_of_layers(layers: Sequence[int], units_per_layer: int) -> Tuple[int, ...]:
    """All 1-based unit numbers of the given 1-based layers."""
    return tuple(
        (layer - 1) * units_per_layer + u + 1
        for layer in layers
        for u in range(units_per_layer)
    )

"""Apply a pruning request (depth, layer list or size) to a built ESPnet model.

Used by decoding, layer selection and export, so that all of them keep the same
layers for the same request. Models trained by stock ESPnet (``transformer`` or
``conformer`` encoders) are supported too: their encoder is given the prunable
behaviour in place (same modules, same weights), which is plain early exit.
"""

import logging
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch

from espnet_layerprune.encoders.prunable import PrunableEncoderMixin
from espnet_layerprune.plan import PrunePlan
from espnet_layerprune.pruning import check_depth, resolve_kept_layers


@dataclass
class PruneResult:
    """What a pruning request resolved to (for logs and reports)."""

    kept_layers: Tuple[int, ...]
    kept_units: Tuple[int, ...]
    num_layers: int
    source: str
    encoder_params_kept: int
    encoder_params_total: int

    def describe(self) -> str:
        return (
            f"keeping {len(self.kept_layers)}/{self.num_layers} encoder layers "
            f"{list(self.kept_layers)} ({self.source}); encoder parameters "
            f"{self.encoder_params_kept:,}/{self.encoder_params_total:,}"
        )

    def to_dict(self) -> dict:
        return {
            "kept_layers": list(self.kept_layers),
            "kept_units": list(self.kept_units),
            "num_layers": self.num_layers,
            "source": self.source,
            "encoder_params_kept": self.encoder_params_kept,
            "encoder_params_total": self.encoder_params_total,
        }


def as_prunable(encoder: torch.nn.Module) -> PrunableEncoderMixin:
    """Return ``encoder`` with run-time pruning; stock encoders are upgraded in place."""
    if isinstance(encoder, PrunableEncoderMixin):
        return encoder
    from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

    from espnet_layerprune.encoders.prunable_transformer import (
        PrunableTransformerEncoder,
    )

    upgrades = [(TransformerEncoder, PrunableTransformerEncoder)]
    try:
        from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

        from espnet_layerprune.encoders.prunable_conformer import (
            PrunableConformerEncoder,
        )

        upgrades.append((ConformerEncoder, PrunableConformerEncoder))
    except ImportError:  # pragma: no cover
        pass
    for stock, prunable in upgrades:
        if type(encoder) is stock:
            # Same modules and weights; only the forward loop changes.
            encoder.__class__ = prunable
            encoder._setup_units()
            encoder._init_prunable(
                len(encoder.encoders), encoder.interctc_layer_idx, 0.0, "constant", 0.0
            )
            return encoder
    raise TypeError(
        f"cannot prune a {type(encoder).__name__} encoder; supported: "
        "prunable_transformer, prunable_conformer, transformer, conformer"
    )


def prune_model(
    model: torch.nn.Module,
    depth: Optional[int] = None,
    layers: Optional[Sequence[int]] = None,
    size: Optional[int] = None,
    plan: Optional[PrunePlan] = None,
) -> PruneResult:
    """Prune ``model.encoder`` in place for a depth, a layer list or a size.

    Args:
        model: An ESPnet ASR model (``model.encoder`` is pruned).
        depth: Keep this many blocks.
        layers: Keep exactly these 1-based blocks.
        size: Keep this many units (data-driven supernets; needs masks in the
            model or a plan with ``sizes``).
        plan: Prune plan stored next to the model, if any.

    Returns:
        What was kept, with the source of the decision.
    """
    encoder = as_prunable(model.encoder)
    given = (("--prune_depth", depth), ("--prune_layers", layers), ("--prune_size", size))
    requested = [name for name, value in given if value is not None]
    if len(requested) > 1:
        raise ValueError(f"give only one of {', '.join(requested)}")
    if size is not None:
        units, source = _units_for_size(model, encoder, size, plan)
        encoder.keep_units(units)
        _use_ctc_head_for_size(model, size)
    else:
        source = None
        if depth is not None and plan is None:
            stored = _stored_depth_layers(model, encoder, depth)
            if stored is not None:
                _warn_blocks_not_trained_together(model, encoder, depth)
                layers, depth, source = stored, None, "supernet learned scores"
        kept, default_source = resolve_kept_layers(encoder.num_layers, depth, layers, plan)
        source = source or default_source
        encoder.keep_layers(kept)
    kept_params, total = encoder.kept_parameter_count()
    result = PruneResult(
        kept_layers=encoder.kept_layers,
        kept_units=encoder.kept_units,
        num_layers=encoder.num_layers,
        source=source,
        encoder_params_kept=kept_params,
        encoder_params_total=total,
    )
    logging.info("layer pruning: %s", result.describe())
    return result


def _use_ctc_head_for_size(model, size: int) -> None:
    """Load the per-size CTC head (``per_size_ctc: true``) into ``model.ctc`` in place.

    In place, because ESPnet's beam search keeps a reference to ``model.ctc``
    from when it was built; the shared head's own weights are saved first.
    """
    get_head = getattr(model, "ctc_for_size", None)
    if get_head is None:
        return
    if not hasattr(model, "_shared_ctc_state"):
        model._shared_ctc_state = {k: v.clone() for k, v in model.ctc.state_dict().items()}
    head = get_head(size)
    source = model._shared_ctc_state if head is model.ctc else head.state_dict()
    model.ctc.load_state_dict(source)


def _units_for_size(model, encoder, size: int, plan: Optional[PrunePlan]):
    check_depth(size, encoder.num_units, option="--prune_size")
    masks = getattr(model, "size_units", None)
    if callable(masks):
        units = masks(size)
        if units is not None:
            return units, "supernet learned masks"
    if plan is not None and plan.sizes:
        return plan.units_for_size(size, encoder.num_layers), f"prune plan {plan.source}"
    raise ValueError(
        f"--prune_size {size}: this model has no learned unit masks and no prune "
        "plan with sizes; use --prune_depth or train with model: layerprune"
    )


def _warn_blocks_not_trained_together(model, encoder, depth: int) -> None:
    """A depth on a scored supernet keeps whole blocks ranked by summed unit scores: a
    combination no training pass ran. Its trained subnets are the sizes (measured: up to
    2 WER better on synth_en, docs/results/README.md)."""
    sizes = tuple(getattr(getattr(model, "supernet", None), "sizes", ()) or ())
    same = depth * encoder.units_per_layer
    hint = f"--prune_size {same} keeps as many units" if same in sizes else f"its trained sizes are {sizes}"
    logging.warning(
        "--prune_depth %d on a data-driven supernet keeps whole blocks ranked by their summed unit "
        "scores, which were not trained together as a subnet; %s, with the learned masks",
        depth, hint,
    )


def _stored_depth_layers(model, encoder, depth: int):
    """Layers a data-driven supernet learned for ``depth`` blocks, if any."""
    getter = getattr(model, "depth_layers", None)
    if not callable(getter):
        return None
    check_depth(depth, encoder.num_layers)
    return getter(depth)

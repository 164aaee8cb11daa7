"""Pruning a built ESPnet model: what it can serve, and a request applied to it.

The one module that knows the models; everything above it (decoding, selection, analysis,
export, calibration) asks it, so the same request keeps the same units and decodes with the
same CTC head everywhere:

* :func:`head_for`: the CTC head of a net of ``k`` kept units: the shared ``model.ctc``, or
  with ``per_size_ctc: true`` the head of the smallest trained size ``>= k``. Self-conditioned
  CTC always conditions on the shared head, as in training;
* :func:`learned_masks`, :func:`trained_sizes`: a data-driven supernet's learned masks and
  the sizes it was trained at;
* :func:`resolve_for_model`: :func:`espnet_layerprune.core.units.resolve` (the one place that
  decides which units run) with the model's own encoder and masks; :func:`depth_networks`:
  that for every depth, the networks early exit tries in order;
* :func:`prune_model`: resolve, and set the encoder's kept units;
* :func:`as_prunable`: models trained by stock ESPnet (``transformer``, ``conformer`` or
  ``e_branchformer`` encoders) are given the prunable behaviour in place (same modules, same
  weights), which is plain early exit.
"""

import logging
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import KeptUnits, PruneRequest, resolve
from espnet_layerprune.encoders.prunable import PrunableEncoderMixin
from espnet_layerprune.models.layerprune import LayerPruneASRModel


@dataclass(frozen=True)
class PruneResult:
    """What a pruning request resolved to, with parameter counts (for logs and reports)."""

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


def head_for(model, num_units: int):
    """The CTC head that decodes a net of ``num_units`` kept units (see the module doc)."""
    if isinstance(model, LayerPruneASRModel):
        return model.ctc_for_size(num_units)
    return model.ctc


def learned_masks(model):
    """The learned unit masks of a data-driven supernet (``model: layerprune`` with
    ``simple_top_k`` or ``iterative_zero_out``), else ``None``.

    The returned object answers ``size_units(size)`` and ``depth_layers(depth)``.
    """
    if isinstance(model, LayerPruneASRModel) and model.supernet.scored:
        return model.supernet
    return None


def trained_sizes(model) -> Tuple[int, ...]:
    """The sizes (unit counts) a data-driven supernet was trained at; ``()`` for other models."""
    masks = learned_masks(model)
    return tuple(int(k) for k in masks.config.sizes) if masks is not None else ()


def running_parameter_count(model, units: Sequence[int]) -> int:
    """Parameters that run for ``units``: kept encoder units, their CTC head, everything else
    outside the encoder (front end, normalisation, a decoder) but no unused size head."""
    kept, enc_total = model.encoder.kept_parameter_count(units)
    heads = [model.ctc, *(getattr(model, "size_ctc", None) or [])]
    head_params = sum(p.numel() for h in heads for p in h.parameters())
    rest = sum(p.numel() for p in model.parameters()) - enc_total - head_params
    return kept + rest + sum(p.numel() for p in head_for(model, len(units)).parameters())


def as_prunable(encoder: torch.nn.Module) -> PrunableEncoderMixin:
    """Return ``encoder`` with run-time pruning; stock encoders are upgraded in place.

    Raises:
        TypeError: An encoder type that cannot be pruned.
        ConfigError: A stock option pruning cannot honour (``ctc_trim``).
    """
    if isinstance(encoder, PrunableEncoderMixin):
        return encoder
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
    from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
    from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

    from espnet_layerprune.encoders.prunable_conformer import PrunableConformerEncoder
    from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder
    from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

    upgrades = [
        (TransformerEncoder, PrunableTransformerEncoder),
        (ConformerEncoder, PrunableConformerEncoder),
        (EBranchformerEncoder, PrunableEBranchformerEncoder),
    ]
    for stock, prunable in upgrades:
        if type(encoder) is stock:
            if getattr(encoder, "ctc_trim", False):
                raise ConfigError(
                    "this conformer was trained with ctc_trim: true, which shortens the "
                    "sequence between blocks; pruning would change where it trims, so it "
                    "cannot be pruned"
                )
            # Same modules and weights; only the forward loop changes.
            encoder.__class__ = prunable
            encoder._setup_units()
            encoder._init_prunable(
                len(encoder.encoders), encoder.interctc_layer_idx or [], 0.0, "constant", 0.0
            )
            return encoder
    raise TypeError(
        f"cannot prune a {type(encoder).__name__} encoder; supported: "
        "prunable_transformer, prunable_conformer, prunable_e_branchformer, transformer, "
        "conformer, e_branchformer"
    )


def resolve_for_model(model, request: PruneRequest, plan: Optional[PrunePlan] = None) -> KeptUnits:
    """:func:`~espnet_layerprune.core.units.resolve` with the model's own encoder and masks."""
    encoder = as_prunable(model.encoder)
    return resolve(
        request, encoder.num_layers, encoder.units_per_layer, learned_masks(model), plan
    )


def depth_networks(model, plan: Optional[PrunePlan] = None) -> Dict[int, KeptUnits]:
    """What ``--prune_depth N`` keeps, for every depth it serves: 1..L, or with a prune plan the
    plan's depths and the full depth. Early exit tries these networks, in order of depth."""
    encoder = as_prunable(model.encoder)
    L, U, masks = encoder.num_layers, encoder.units_per_layer, learned_masks(model)
    depths = range(1, L + 1) if plan is None else sorted(set(plan.depths) | {L})
    if masks is not None and plan is None:
        logging.warning(
            "depths of a data-driven supernet keep, at each depth, the blocks whose summed unit "
            "scores rank highest, which were not trained together as subnets (its trained sizes are %s)",
            tuple(masks.sizes),
        )
    return {d: resolve(PruneRequest(depth=d), L, U, masks, plan, warn=False) for d in depths}


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
        size: Keep this many units (data-driven supernets).
        plan: The prune plan made for this model, if any.

    Returns:
        What was kept, with the source of the decision.
    """
    request = PruneRequest(depth=depth, layers=layers, size=size)
    kept = resolve_for_model(model, request, plan)
    encoder = as_prunable(model.encoder)
    encoder.keep_units(kept.units)
    params_kept, total = encoder.kept_parameter_count()
    result = PruneResult(kept.layers, kept.units, kept.num_layers, kept.source, params_kept, total)
    logging.info("layer pruning: %s", result.describe())
    return result

"""Apply a pruning request to a built ESPnet model.

:func:`prune_model` resolves the request with :func:`espnet_layerprune.core.units.resolve`
(the one place that decides which units run) and sets the encoder's kept units.
Decoding, layer selection, analysis and export all call it, so the same request
keeps the same units and decodes with the same CTC head everywhere
(:func:`espnet_layerprune.core.ctc.head_for`). Models trained by stock ESPnet
(``transformer`` or ``conformer`` encoders) are given the prunable behaviour in
place (same modules, same weights), which is plain early exit.
"""

import logging
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch

from espnet_layerprune.encoders.prunable import PrunableEncoderMixin
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import KeptUnits, PruneRequest, learned_masks, resolve


@dataclass(frozen=True)
class PruneResult:
    """What a pruning request resolved to, with parameter counts (for logs and reports)."""

    kept: KeptUnits
    encoder_params_kept: int
    encoder_params_total: int

    @property
    def kept_layers(self) -> Tuple[int, ...]:
        return self.kept.layers

    @property
    def kept_units(self) -> Tuple[int, ...]:
        return self.kept.units

    @property
    def num_layers(self) -> int:
        return self.kept.num_layers

    @property
    def source(self) -> str:
        return self.kept.source

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
    result = PruneResult(kept, params_kept, total)
    logging.info("layer pruning: %s", result.describe())
    return result

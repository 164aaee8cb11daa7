"""Prunable Transformer encoder: ESPnet's ``transformer`` plus run-time pruning."""

from typing import List, Optional, Union

from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.legacy.nets.pytorch_backend.transformer.embedding import (
    PositionalEncoding,
)
from typeguard import typechecked

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.blocks import transformer_block
from espnet_layerprune.encoders.prunable import PrunableEncoderMixin

UNIT_GRANULARITIES = {"block": ("block",), "sublayer": ("mhsa", "ffn")}


class PrunableTransformerEncoder(PrunableEncoderMixin, TransformerEncoder):
    """Transformer encoder that can run any subset of its layers.

    A drop-in superset of :class:`espnet2.asr.encoder.transformer_encoder.
    TransformerEncoder`: same arguments, same parameter names (stock checkpoints
    load with ``strict=True``) and, at full depth in eval mode, the same outputs.

    Args:
        input_size: Input feature dimension.
        output_size: Attention dimension.
        attention_heads: Number of attention heads.
        linear_units: Feed-forward hidden units.
        num_blocks: Number of encoder blocks ``L``.
        dropout_rate: Dropout rate.
        positional_dropout_rate: Dropout after the positional encoding.
        attention_dropout_rate: Dropout in attention.
        input_layer: Input layer type (``conv2d``, ``linear``, ...), as ESPnet.
        pos_enc_class: Positional encoding class, as ESPnet.
        pos_enc_layer_type: ``abs_pos`` or ``conv``, as ESPnet.
        normalize_before: Pre-LayerNorm blocks (the final LayerNorm is shared by
            the intermediate CTC outputs).
        concat_after: As ESPnet.
        positionwise_layer_type: ``linear``, ``conv1d`` or ``conv1d-linear``.
        positionwise_conv_kernel_size: As ESPnet.
        padding_idx: As ESPnet (``input_layer=embed``).
        interctc_layer_idx: 1-based layers whose outputs feed intermediate CTC
            (``model_conf.interctc_weight``); a list, ``"all"`` (every layer
            below the top) or ``"every_K"``.
        interctc_use_conditioning: Self-conditioned CTC, as ESPnet.
        interctc_normalize: Intermediate CTC (and a network pruned to one of its layers) reads
            the block output through the final LayerNorm ``after_norm`` (true) or raw (false);
            ``None`` (default): the stock encoder's behaviour, through ``after_norm`` (as ESPnet's transformer).
        layer_drop_rate: LayerDrop: skip each block with this probability in
            training, without rescaling. Unlike the stock encoder, this works.
        qk_norm: As ESPnet.
        use_flash_attn: As ESPnet.
        use_sdpa: As ESPnet.
        stochastic_depth_rate: Stochastic depth: skip probability ``p`` (float)
            or one probability per block (list), in ``[0, 1)``. Kept blocks scale
            their residual branches by ``1 / (1 - p_l)`` in training; nothing is
            skipped or scaled in eval.
        stochastic_depth_schedule: ``constant`` (``p_l = p``) or ``linear``
            (``p_l = p * l / L``); ignored when a list is given.
        stochastic_depth_granularity: ``block`` (default: one draw per block,
            all its units skipped together, as in Lee et al. and ESPnet's
            conformer) or ``unit`` (each unit draws on its own).
        stochastic_depth_mode: ``batch`` (one draw per unit and mini-batch; skipped units are
            not computed) or ``row`` (one draw per unit and sequence, as torchvision's
            ``stochastic_depth(mode="row")`` and the reference code of Xu et al. 2024).
        unit_granularity: Prunable unit: ``block`` (one per block) or
            ``sublayer`` (MHSA and FFN halves, two per block).
        prune_layers: 1-based blocks to keep from the start (``None``: all).
    """

    unit_modules = {
        "block": None,  # the whole block
        "mhsa": ("self_attn", "norm1", "concat_linear"),
        "ffn": ("feed_forward", "norm2"),
    }

    @typechecked
    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        attention_heads: int = 4,
        linear_units: int = 2048,
        num_blocks: int = 6,
        dropout_rate: float = 0.1,
        positional_dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.0,
        input_layer: Optional[str] = "conv2d",
        pos_enc_class=PositionalEncoding,
        pos_enc_layer_type="abs_pos",
        normalize_before: bool = True,
        concat_after: bool = False,
        positionwise_layer_type: str = "linear",
        positionwise_conv_kernel_size: int = 1,
        padding_idx: int = -1,
        interctc_layer_idx: Union[List[int], str] = [],
        interctc_use_conditioning: bool = False,
        interctc_normalize: Optional[bool] = None,
        layer_drop_rate: float = 0.0,
        qk_norm: bool = False,
        use_flash_attn: bool = True,
        use_sdpa: bool = False,
        stochastic_depth_rate: Union[float, List[float]] = 0.0,
        stochastic_depth_schedule: str = "constant",
        stochastic_depth_granularity: str = "block",
        stochastic_depth_mode: str = "batch",
        unit_granularity: str = "block",
        prune_layers: Optional[List[int]] = None,
    ):
        if unit_granularity not in UNIT_GRANULARITIES:
            raise ConfigError(
                f"unit_granularity must be one of {tuple(UNIT_GRANULARITIES)}, "
                f"got {unit_granularity!r}"
            )
        if num_blocks < 1:
            raise ConfigError(f"num_blocks must be >= 1, got {num_blocks}")
        super().__init__(
            input_size=input_size,
            output_size=output_size,
            attention_heads=attention_heads,
            linear_units=linear_units,
            num_blocks=num_blocks,
            dropout_rate=dropout_rate,
            positional_dropout_rate=positional_dropout_rate,
            attention_dropout_rate=attention_dropout_rate,
            input_layer=input_layer,
            pos_enc_class=pos_enc_class,
            pos_enc_layer_type=pos_enc_layer_type,
            normalize_before=normalize_before,
            concat_after=concat_after,
            positionwise_layer_type=positionwise_layer_type,
            positionwise_conv_kernel_size=positionwise_conv_kernel_size,
            padding_idx=padding_idx,
            interctc_layer_idx=[],  # validated and expanded by _init_prunable
            interctc_use_conditioning=interctc_use_conditioning,
            layer_drop_rate=0.0,  # ours is applied by the mixin, not by repeat()
            qk_norm=qk_norm,
            use_flash_attn=use_flash_attn,
            use_sdpa=use_sdpa,
        )
        self.unit_names = UNIT_GRANULARITIES[unit_granularity]
        self._init_prunable(
            num_blocks,
            interctc_layer_idx,
            stochastic_depth_rate,
            stochastic_depth_schedule,
            layer_drop_rate,
            stochastic_depth_granularity,
            prune_layers=prune_layers,
            interctc_normalize=interctc_normalize,
            stochastic_depth_mode=stochastic_depth_mode,
        )

    def _run_block(self, layer, x, pos_emb, mask, scales, final_norm):
        if len(scales) == 1:
            scales = (scales[0], scales[0])
        return transformer_block(layer, x, mask, scales)

"""Prunable Conformer encoder: ESPnet's ``conformer`` plus unit-level pruning."""

from typing import List, Optional, Tuple, Union

from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from typeguard import typechecked

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.blocks import conformer_block
from espnet_layerprune.encoders.prunable import PrunableEncoderMixin

#: The sub-modules of a conformer block, in ESPnet's order.
CONFORMER_UNITS = ("ffn1", "mhsa", "conv", "ffn2")


def conformer_unit_names(layer) -> Tuple[str, ...]:
    """Units a conformer ``EncoderLayer`` really has.

    ``ffn1`` (the macaron FFN) exists only with ``macaron_style: true`` and
    ``conv`` only with ``use_cnn_module: true``; a unit the configuration lacks
    is not a unit (it could neither be pruned nor learn a score).
    """
    present = {
        "ffn1": layer.feed_forward_macaron is not None,
        "mhsa": True,
        "conv": layer.conv_module is not None,
        "ffn2": True,
    }
    return tuple(name for name in CONFORMER_UNITS if present[name])


class PrunableConformerEncoder(PrunableEncoderMixin, ConformerEncoder):
    """Conformer encoder that can run any subset of its blocks' sub-modules.

    A drop-in superset of :class:`espnet2.asr.encoder.conformer_encoder.
    ConformerEncoder`: same arguments, same parameter names (stock checkpoints
    load with ``strict=True``) and, at full size in eval mode, the same outputs.
    Each block has up to four prunable units, ``ffn1`` (macaron FFN), ``mhsa``,
    ``conv`` and ``ffn2`` (12 macaron blocks with convolution: 48 units). A
    block's final LayerNorm runs whenever any of its units runs.

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
        normalize_before: Pre-LayerNorm blocks (the final LayerNorm is shared by
            the intermediate CTC outputs).
        concat_after: As ESPnet.
        positionwise_layer_type: ``linear``, ``conv1d`` or ``conv1d-linear``.
        positionwise_conv_kernel_size: As ESPnet.
        macaron_style: Add the first (macaron) FFN, unit ``ffn1``.
        rel_pos_type: ``legacy`` or ``latest``, as ESPnet.
        pos_enc_layer_type: As ESPnet (``rel_pos``, ``abs_pos``, ...).
        selfattention_layer_type: As ESPnet (``rel_selfattn``, ``selfattn``).
        activation_type: As ESPnet.
        use_cnn_module: Add the convolution module, unit ``conv``.
        zero_triu: As ESPnet.
        cnn_module_kernel: As ESPnet.
        padding_idx: As ESPnet (``input_layer=embed``).
        interctc_layer_idx: 1-based blocks whose outputs feed intermediate CTC
            (``model_conf.interctc_weight``); a list, ``"all"`` (every block
            below the top) or ``"every_K"``.
        interctc_use_conditioning: Self-conditioned CTC, as ESPnet.
        interctc_normalize: Intermediate CTC (and a network pruned to one of its layers) reads
            the block output through the final LayerNorm ``after_norm`` (true) or raw (false);
            ``None`` (default): the stock encoder's behaviour, through ``after_norm`` (as ESPnet's conformer).
        ctc_trim: Not supported (it changes the sequence length between blocks,
            which pruned blocks would change too); must be ``False``.
        stochastic_depth_rate: Stochastic depth: skip probability ``p`` (float)
            or one probability per block (list), in ``[0, 1)``. Every unit of a
            block has the block's probability (see
            ``stochastic_depth_granularity``); kept units scale their residual branch by
            ``1 / (1 - p)`` in training; nothing is skipped or scaled in eval.
        layer_drop_rate: LayerDrop: skip each unit with this probability in
            training, without rescaling.
        max_pos_emb_len: As ESPnet.
        qk_norm: As ESPnet.
        use_flash_attn: As ESPnet.
        use_sdpa: As ESPnet.
        stochastic_depth_schedule: ``constant`` (``p_l = p``) or ``linear``
            (``p_l = p * l / L``); ignored when a list is given.
        stochastic_depth_granularity: ``block`` (default: one draw per block,
            all its units skipped together, as in Lee et al. and ESPnet's
            conformer) or ``unit`` (each unit draws on its own).
        stochastic_depth_mode: ``batch`` (one draw per unit and mini-batch; skipped units are
            not computed) or ``row`` (one draw per unit and sequence, as torchvision's
            ``stochastic_depth(mode="row")`` and the reference code of Xu et al. 2024).
        prune_units: 1-based units to keep from the start (``None``: all), for
            models exported with a fixed mask; see :meth:`unit_labels`.
        prune_layers: 1-based blocks to keep from the start (``None``: all).
    """

    unit_names: Tuple[str, ...] = CONFORMER_UNITS
    unit_modules = {
        "ffn1": ("feed_forward_macaron", "norm_ff_macaron"),
        "mhsa": ("self_attn", "norm_mha", "concat_linear"),
        "conv": ("conv_module", "norm_conv"),
        "ffn2": ("feed_forward", "norm_ff"),
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
        normalize_before: bool = True,
        concat_after: bool = False,
        positionwise_layer_type: str = "linear",
        positionwise_conv_kernel_size: int = 3,
        macaron_style: bool = False,
        rel_pos_type: str = "legacy",
        pos_enc_layer_type: str = "rel_pos",
        selfattention_layer_type: str = "rel_selfattn",
        activation_type: str = "swish",
        use_cnn_module: bool = True,
        zero_triu: bool = False,
        cnn_module_kernel: int = 31,
        padding_idx: int = -1,
        interctc_layer_idx: Union[List[int], str] = [],
        interctc_use_conditioning: bool = False,
        interctc_normalize: Optional[bool] = None,
        ctc_trim: bool = False,
        stochastic_depth_rate: Union[float, List[float]] = 0.0,
        layer_drop_rate: float = 0.0,
        max_pos_emb_len: int = 5000,
        qk_norm: bool = False,
        use_flash_attn: bool = True,
        use_sdpa: bool = False,
        stochastic_depth_schedule: str = "constant",
        stochastic_depth_granularity: str = "block",
        stochastic_depth_mode: str = "batch",
        prune_units: Optional[List[int]] = None,
        prune_layers: Optional[List[int]] = None,
    ):
        if ctc_trim:
            raise ConfigError(
                "ctc_trim: true is not supported with pruning (it shortens the "
                "sequence between blocks); set ctc_trim: false"
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
            normalize_before=normalize_before,
            concat_after=concat_after,
            positionwise_layer_type=positionwise_layer_type,
            positionwise_conv_kernel_size=positionwise_conv_kernel_size,
            macaron_style=macaron_style,
            rel_pos_type=rel_pos_type,
            pos_enc_layer_type=pos_enc_layer_type,
            selfattention_layer_type=selfattention_layer_type,
            activation_type=activation_type,
            use_cnn_module=use_cnn_module,
            zero_triu=zero_triu,
            cnn_module_kernel=cnn_module_kernel,
            padding_idx=padding_idx,
            interctc_layer_idx=[],  # validated and expanded by _init_prunable
            interctc_use_conditioning=interctc_use_conditioning,
            ctc_trim=False,
            # Skipping is decided by the mixin, per unit; the stock layers must
            # not skip whole blocks on their own as well.
            stochastic_depth_rate=0.0,
            layer_drop_rate=0.0,
            max_pos_emb_len=max_pos_emb_len,
            qk_norm=qk_norm,
            use_flash_attn=use_flash_attn,
            use_sdpa=use_sdpa,
        )
        self._setup_units()
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
            prune_units=prune_units,
        )

    def _setup_units(self) -> None:
        self.unit_names = conformer_unit_names(self.encoders[0])
        # Where each present unit sits among (ffn1, mhsa, conv, ffn2).
        self._unit_slots = tuple(
            self.unit_names.index(n) if n in self.unit_names else None
            for n in CONFORMER_UNITS
        )

    def _run_block(self, layer, x, pos_emb, mask, scales, final_norm):
        if len(scales) != len(CONFORMER_UNITS):
            # Absent units are skipped; conformer_block ignores them anyway.
            scales = [None if i is None else scales[i] for i in self._unit_slots]
        return conformer_block(layer, x, pos_emb, mask, scales, final_norm)

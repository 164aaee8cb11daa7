"""Prunable E-Branchformer encoder: ESPnet's ``e_branchformer`` plus unit-level pruning."""

from typing import List, Optional, Tuple, Union

from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from typeguard import typechecked

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.blocks import e_branchformer_block
from espnet_layerprune.encoders.prunable import PrunableEncoderMixin

#: The residual branches of an E-Branchformer block, in ESPnet's order.
E_BRANCHFORMER_UNITS = ("ffn1", "branches", "ffn2")


def e_branchformer_unit_names(layer) -> Tuple[str, ...]:
    """Units an ``EBranchformerEncoderLayer`` really has (FFNs only with ``use_ffn``)."""
    present = {
        "ffn1": layer.feed_forward_macaron is not None,
        "branches": True,
        "ffn2": layer.feed_forward is not None,
    }
    return tuple(name for name in E_BRANCHFORMER_UNITS if present[name])


class PrunableEBranchformerEncoder(PrunableEncoderMixin, EBranchformerEncoder):
    """E-Branchformer encoder that can run any subset of its blocks' branches.

    A drop-in superset of :class:`espnet2.asr.encoder.e_branchformer_encoder.
    EBranchformerEncoder` (the encoder of ESPnet's LibriSpeech recipes): same
    arguments, same parameter names (stock checkpoints load with ``strict=True``)
    and, at full size in eval mode, the same outputs. Each block has up to three
    prunable units: ``ffn1`` (macaron FFN, with ``use_ffn`` and ``macaron_ffn``),
    ``branches`` (attention and cgMLP with their merge: one residual branch) and
    ``ffn2`` (with ``use_ffn``). A block's final LayerNorm runs whenever any of its
    units runs.

    Intermediate CTC reads the raw block output, as in ESPnet's E-Branchformer, unless
    ``interctc_normalize: true`` (our supernet configs): then every layer's output goes through
    the final LayerNorm (``after_norm``), as the top layer's does, so one head reads the same
    kind of input at every depth.

    Args:
        input_size: Input feature dimension.
        output_size: Attention dimension.
        attention_heads: Number of attention heads.
        attention_layer_type: As ESPnet (``rel_selfattn``, ``selfattn``, ...).
        pos_enc_layer_type: As ESPnet.
        rel_pos_type: As ESPnet.
        cgmlp_linear_units: cgMLP hidden units.
        cgmlp_conv_kernel: cgMLP convolution kernel.
        use_linear_after_conv: As ESPnet.
        gate_activation: As ESPnet.
        num_blocks: Number of encoder blocks ``L``.
        dropout_rate: Dropout rate.
        positional_dropout_rate: Dropout after the positional encoding.
        attention_dropout_rate: Dropout in attention.
        input_layer: Input layer type, as ESPnet.
        zero_triu: As ESPnet.
        padding_idx: As ESPnet.
        layer_drop_rate: LayerDrop: skip each unit with this probability in
            training, without rescaling (decided here, per unit).
        max_pos_emb_len: As ESPnet.
        use_ffn: Add the feed-forward module(s), unit ``ffn2`` (and ``ffn1``).
        macaron_ffn: With ``use_ffn``, add the macaron FFN, unit ``ffn1``.
        ffn_activation_type: As ESPnet.
        linear_units: Feed-forward hidden units.
        positionwise_layer_type: As ESPnet.
        merge_conv_kernel: As ESPnet.
        interctc_layer_idx: 1-based blocks feeding intermediate CTC; a list,
            ``"all"`` or ``"every_K"``.
        interctc_use_conditioning: Self-conditioned CTC, as ESPnet.
        interctc_normalize: Intermediate CTC (and a network pruned to one of its layers) reads
            the block output through the final LayerNorm ``after_norm`` (true) or raw (false);
            ``None`` (default): the stock encoder's behaviour, the raw block output (as ESPnet's E-Branchformer).
        qk_norm: As ESPnet.
        use_flash_attn: As ESPnet.
        gradient_checkpoint_layers: Not supported (must be empty).
        use_sdpa: As ESPnet.
        stochastic_depth_rate: Skip probability ``p`` (float) or one per block,
            in ``[0, 1)``; kept units scale their branch by ``1 / (1 - p)`` in
            training; nothing is skipped or scaled in eval.
        stochastic_depth_schedule: ``constant`` or ``linear`` (``p_l = p * l / L``).
        stochastic_depth_granularity: ``block`` (one draw per block) or ``unit``.
        stochastic_depth_mode: ``batch`` (one draw per unit and mini-batch; skipped units are
            not computed) or ``row`` (one draw per unit and sequence, as torchvision's
            ``stochastic_depth(mode="row")`` and the reference code of Xu et al. 2024).
        prune_units: 1-based units to keep from the start (``None``: all).
        prune_layers: 1-based blocks to keep from the start (``None``: all).
    """

    unit_names: Tuple[str, ...] = E_BRANCHFORMER_UNITS
    unit_modules = {
        "ffn1": ("feed_forward_macaron", "norm_ff_macaron"),
        "branches": ("attn", "cgmlp", "norm_mha", "norm_mlp", "depthwise_conv_fusion", "merge_proj"),
        "ffn2": ("feed_forward", "norm_ff"),
    }
    #: Pre-LayerNorm blocks with a final ``after_norm``.
    normalize_before = True
    stock_interctc_normalize = False

    @typechecked
    def __init__(
        self,
        input_size: int,
        output_size: int = 256,
        attention_heads: int = 4,
        attention_layer_type: str = "rel_selfattn",
        pos_enc_layer_type: str = "rel_pos",
        rel_pos_type: str = "latest",
        cgmlp_linear_units: int = 2048,
        cgmlp_conv_kernel: int = 31,
        use_linear_after_conv: bool = False,
        gate_activation: str = "identity",
        num_blocks: int = 12,
        dropout_rate: float = 0.1,
        positional_dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.0,
        input_layer: Optional[str] = "conv2d",
        zero_triu: bool = False,
        padding_idx: int = -1,
        layer_drop_rate: float = 0.0,
        max_pos_emb_len: int = 5000,
        use_ffn: bool = False,
        macaron_ffn: bool = False,
        ffn_activation_type: str = "swish",
        linear_units: int = 2048,
        positionwise_layer_type: str = "linear",
        merge_conv_kernel: int = 3,
        interctc_layer_idx: Union[List[int], str, None] = None,
        interctc_use_conditioning: bool = False,
        interctc_normalize: Optional[bool] = None,
        qk_norm: bool = False,
        use_flash_attn: bool = True,
        gradient_checkpoint_layers: List[int] = [],
        use_sdpa: bool = False,
        stochastic_depth_rate: Union[float, List[float]] = 0.0,
        stochastic_depth_schedule: str = "constant",
        stochastic_depth_granularity: str = "block",
        stochastic_depth_mode: str = "batch",
        prune_units: Optional[List[int]] = None,
        prune_layers: Optional[List[int]] = None,
    ):
        if num_blocks < 1:
            raise ConfigError(f"num_blocks must be >= 1, got {num_blocks}")
        if gradient_checkpoint_layers:
            raise ConfigError(
                "gradient_checkpoint_layers is not supported by prunable_e_branchformer; "
                "remove it (or set [])"
            )
        super().__init__(
            input_size=input_size,
            output_size=output_size,
            attention_heads=attention_heads,
            attention_layer_type=attention_layer_type,
            pos_enc_layer_type=pos_enc_layer_type,
            rel_pos_type=rel_pos_type,
            cgmlp_linear_units=cgmlp_linear_units,
            cgmlp_conv_kernel=cgmlp_conv_kernel,
            use_linear_after_conv=use_linear_after_conv,
            gate_activation=gate_activation,
            num_blocks=num_blocks,
            dropout_rate=dropout_rate,
            positional_dropout_rate=positional_dropout_rate,
            attention_dropout_rate=attention_dropout_rate,
            input_layer=input_layer,
            zero_triu=zero_triu,
            padding_idx=padding_idx,
            layer_drop_rate=0.0,  # skipping is decided by the mixin, per unit
            max_pos_emb_len=max_pos_emb_len,
            use_ffn=use_ffn,
            macaron_ffn=macaron_ffn,
            ffn_activation_type=ffn_activation_type,
            linear_units=linear_units,
            positionwise_layer_type=positionwise_layer_type,
            merge_conv_kernel=merge_conv_kernel,
            interctc_layer_idx=[],  # validated and expanded by _init_prunable
            interctc_use_conditioning=interctc_use_conditioning,
            qk_norm=qk_norm,
            use_flash_attn=use_flash_attn,
            gradient_checkpoint_layers=[],
            use_sdpa=use_sdpa,
        )
        self._setup_units()
        self._init_prunable(
            num_blocks,
            interctc_layer_idx or [],
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
        self.unit_names = e_branchformer_unit_names(self.encoders[0])
        self._unit_slots = tuple(
            self.unit_names.index(n) if n in self.unit_names else None for n in E_BRANCHFORMER_UNITS
        )

    def _run_block(self, layer, x, pos_emb, mask, scales, final_norm):
        scales = [None if i is None else scales[i] for i in self._unit_slots]
        return e_branchformer_block(layer, x, pos_emb, mask, scales, final_norm)

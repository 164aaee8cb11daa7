"""Block forward passes with one scale per prunable unit.

ESPnet's ``EncoderLayer`` (transformer) and conformer ``EncoderLayer`` decide
stochastic depth inside the layer, for the whole block. Here the encoder decides
(:mod:`espnet_layerprune.encoders.prunable`) and passes a scale per unit:

* ``None``: the unit is skipped, ``x = x`` (nothing is computed);
* ``1.0``: the unit runs as in the stock layer (bit-identical in eval);
* another float or a tensor: the residual branch is multiplied by it
  (stochastic-depth rescaling ``1/(1-p)``, or a learned gate, possibly 0).

These functions reuse the stock layers' sub-modules, so parameter names and
checkpoints are unchanged. The arithmetic mirrors the stock ``forward`` methods
(without the incremental-decoding cache, which CTC encoders do not use).
"""

from typing import Sequence

import torch


def _residual(residual, branch, scale):
    if isinstance(scale, float) and scale == 1.0:
        return residual + branch
    return residual + scale * branch


def transformer_block(layer, x: torch.Tensor, mask: torch.Tensor, scales: Sequence):
    """One ``espnet2 ... transformer.encoder_layer.EncoderLayer`` with unit scales.

    Args:
        layer: The stock transformer encoder layer (its sub-modules are used).
        x: ``(B, T, D)`` input.
        mask: ``(B, 1, T)`` mask.
        scales: ``(mhsa_scale, ffn_scale)``.
    """
    att_scale, ff_scale = scales
    if not _skipped(att_scale):
        residual = x
        if layer.normalize_before:
            x = layer.norm1(x)
        if layer.concat_after:
            branch = layer.concat_linear(
                torch.cat((x, layer.self_attn(x, x, x, mask)), dim=-1)
            )
        else:
            branch = layer.dropout(layer.self_attn(x, x, x, mask))
        x = _residual(residual, branch, att_scale)
        if not layer.normalize_before:
            x = layer.norm1(x)
    if not _skipped(ff_scale):
        residual = x
        if layer.normalize_before:
            x = layer.norm2(x)
        ff_out = layer.feed_forward(x, mask) if layer.apply_ff_mask else layer.feed_forward(x)
        x = _residual(residual, layer.dropout(ff_out), ff_scale)
        if not layer.normalize_before:
            x = layer.norm2(x)
    return x


def conformer_block(
    layer, x, pos_emb, mask: torch.Tensor, scales: Sequence, final_norm: bool = True
):
    """One conformer ``EncoderLayer`` with scales for (FFN1, MHSA, conv, FFN2).

    A unit the configuration does not have (no macaron FFN, no conv module) is
    absent whatever its scale. The block's final LayerNorm runs when
    ``final_norm`` (the encoder leaves it out for a block that is not part of
    the pass's network and runs only for its gates' gradient).
    """
    ffn1, mhsa, conv, ffn2 = scales
    if layer.feed_forward_macaron is not None and not _skipped(ffn1):
        residual = x
        if layer.normalize_before:
            x = layer.norm_ff_macaron(x)
        x = _residual(
            residual, layer.ff_scale * layer.dropout(layer.feed_forward_macaron(x)), ffn1
        )
        if not layer.normalize_before:
            x = layer.norm_ff_macaron(x)
    if not _skipped(mhsa):
        residual = x
        if layer.normalize_before:
            x = layer.norm_mha(x)
        if pos_emb is not None:
            x_att = layer.self_attn(x, x, x, pos_emb, mask)
        else:
            x_att = layer.self_attn(x, x, x, mask)
        if layer.concat_after:
            branch = layer.concat_linear(torch.cat((x, x_att), dim=-1))
        else:
            branch = layer.dropout(x_att)
        x = _residual(residual, branch, mhsa)
        if not layer.normalize_before:
            x = layer.norm_mha(x)
    if layer.conv_module is not None and not _skipped(conv):
        residual = x
        if layer.normalize_before:
            x = layer.norm_conv(x)
        if getattr(layer, "_conv_takes_mask", False):
            x_conv = layer.conv_module(x, mask_pad=mask)
        else:
            x_conv = layer.conv_module(x)
        x = _residual(residual, layer.dropout(x_conv), conv)
        if not layer.normalize_before:
            x = layer.norm_conv(x)
    if not _skipped(ffn2):
        residual = x
        if layer.normalize_before:
            x = layer.norm_ff(x)
        x = _residual(residual, layer.ff_scale * layer.dropout(layer.feed_forward(x)), ffn2)
        if not layer.normalize_before:
            x = layer.norm_ff(x)
    if layer.conv_module is not None and final_norm:
        x = layer.norm_final(x)
    return x


def _skipped(scale) -> bool:
    return scale is None


def e_branchformer_block(layer, x, pos_emb, mask: torch.Tensor, scales: Sequence, final_norm: bool = True):
    """One E-Branchformer ``EBranchformerEncoderLayer`` with scales for (FFN1, branches, FFN2).

    ``branches`` is the attention and cgMLP branches with their merge (depthwise
    convolution and projection): they form one residual branch, so they are one
    unit. FFN1 (macaron) and FFN2 exist only with ``use_ffn`` (and ``macaron_ffn``).
    """
    from espnet2.asr.encoder.e_branchformer_encoder import mask_padded_frames
    from espnet2.asr.layers.fastformer import FastSelfAttention

    ffn1, branches, ffn2 = scales
    if layer.feed_forward_macaron is not None and not _skipped(ffn1):
        residual = x
        x = layer.norm_ff_macaron(x)
        x = _residual(residual, layer.ff_scale * layer.dropout(layer.feed_forward_macaron(x)), ffn1)
    if not _skipped(branches):
        x1 = layer.norm_mha(x)
        if isinstance(layer.attn, FastSelfAttention):
            x_att = layer.attn(x1, mask)
        elif pos_emb is not None:
            x_att = layer.attn(x1, x1, x1, pos_emb, mask)
        else:
            x_att = layer.attn(x1, x1, x1, mask)
        x1 = layer.dropout(x_att)
        x2 = layer.norm_mlp(x)
        x2 = layer.cgmlp((x2, pos_emb) if pos_emb is not None else x2, mask)
        if isinstance(x2, tuple):
            x2 = x2[0]
        x2 = layer.dropout(x2)
        x_concat = torch.cat([x1, x2], dim=-1)
        # the merge convolution runs along time: keep it from reading padded frames, as ESPnet
        x_tmp = layer.depthwise_conv_fusion(mask_padded_frames(x_concat.transpose(1, 2), mask))
        x = _residual(x, layer.dropout(layer.merge_proj(x_concat + x_tmp.transpose(1, 2))), branches)
    if layer.feed_forward is not None and not _skipped(ffn2):
        residual = x
        x = layer.norm_ff(x)
        x = _residual(residual, layer.ff_scale * layer.dropout(layer.feed_forward(x)), ffn2)
    if final_norm:
        x = layer.norm_final(x)
    return x

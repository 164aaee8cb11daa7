"""Export-time stand-ins for ESPnet layers: the same function, in a form the ONNX graph needs.

- :class:`PaddingSafeConvFF`: the position-wise convolutions (``positionwise_layer_type: conv1d``), which
  ESPnet runs over padded frames too, reading zeros past each utterance's length, as a lone utterance does;
- :class:`MatMulConv2d`: the input layer's 2-D convolutions as one MatMul over the patches, which
  onnxruntime's int8 quantization takes (its integer convolution is slower than float32 here).

Both are written as MatMuls of the convolution's patches (the shifted copies side by side), equal to
the convolution up to float rounding. :func:`padding_safe` and :func:`matmul_convolutions` put them into
a copy of an encoder.
"""

from typing import List

import torch
import torch.nn.functional as F

from espnet_layerprune.core.errors import ConfigError


def conv_as_linear(weight: torch.Tensor, bias: torch.Tensor) -> torch.nn.Linear:
    """A Linear over patches whose columns are ``(kernel position, channel)``, channel fastest, from a
    ``(out, in, *kernel)`` convolution weight."""
    out_channels = weight.size(0)
    linear = torch.nn.Linear(weight[0].numel(), out_channels)
    with torch.no_grad():
        linear.weight.copy_(weight.movedim(1, -1).reshape(out_channels, -1))
        linear.bias.copy_(bias)
    return linear


def _shifted(x: torch.Tensor, k: int) -> torch.Tensor:
    """``(B, T, k * C)``: frames ``t - (k - 1) / 2 .. t + (k - 1) / 2`` of ``(B, T, C)``, zeros outside."""
    if k == 1:
        return x
    p = (k - 1) // 2
    x = F.pad(x, (0, 0, p, p))
    return torch.cat([x[:, j: j - (k - 1) if j < k - 1 else None] for j in range(k)], dim=-1)


class PaddingSafeConvFF(torch.nn.Module):
    """ESPnet's ``MultiLayeredConv1d`` or ``Conv1dLinear`` with each convolution's input zeroed past
    the utterance's length.

    Args:
        ff: The position-wise module.
        mask: A one-element list; the graph puts the ``(B, 1, T)`` validity mask of the current pass in
            it before the blocks run (the blocks call the feed-forward without it).
    """

    def __init__(self, ff, mask: list):
        super().__init__()
        self.mask = mask
        convs = [c for c in (ff.w_1, ff.w_2) if isinstance(c, torch.nn.Conv1d)]
        for c in convs:
            k = c.kernel_size[0]
            if c.stride[0] != 1 or c.dilation[0] != 1 or k % 2 == 0 or c.padding[0] != (k - 1) // 2:
                raise ConfigError("--format onnx needs an odd positionwise_conv_kernel_size, got "
                                  f"{k} (stride 1, 'same' padding)")
        self.w_1 = conv_as_linear(ff.w_1.weight, ff.w_1.bias)
        self.k1 = ff.w_1.kernel_size[0]
        conv2 = isinstance(ff.w_2, torch.nn.Conv1d)
        self.w_2 = conv_as_linear(ff.w_2.weight, ff.w_2.bias) if conv2 else ff.w_2
        self.k2 = ff.w_2.kernel_size[0] if conv2 else 1

    def forward(self, x: torch.Tensor, mask=None) -> torch.Tensor:
        valid = self.mask[0].transpose(1, 2).to(x.dtype)  # (B, T, 1)
        x = torch.relu(self.w_1(_shifted(x * valid, self.k1)))
        return self.w_2(_shifted(x * valid, self.k2))


class MatMulConv2d(torch.nn.Module):
    """An unpadded ``torch.nn.Conv2d`` (any stride, dilation 1, one group) as a MatMul of its patches.

    Args:
        conv: The convolution (its weights are copied).
    """

    def __init__(self, conv: torch.nn.Conv2d):
        super().__init__()
        if conv.padding != (0, 0) or conv.dilation != (1, 1) or conv.groups != 1 or conv.bias is None:
            raise ConfigError(f"MatMulConv2d takes unpadded, undilated convolutions, got {conv}")
        self.kernel_size, self.stride, self.padding, self.dilation = conv.kernel_size, conv.stride, (0, 0), (1, 1)
        self.linear = conv_as_linear(conv.weight, conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        x = x.permute(0, 2, 3, 1)  # (B, T, F, C): channels last, as the patch columns
        patches = torch.cat([x[:, i: i - (kh - 1) or None: sh, j: j - (kw - 1) or None: sw]
                             for i in range(kh) for j in range(kw)], dim=-1)
        return self.linear(patches).permute(0, 3, 1, 2)


def padding_safe(encoder) -> list:
    """Put :class:`PaddingSafeConvFF` in place of the position-wise convolutions of ``encoder`` (a copy);
    return the list the graph puts each pass's mask into."""
    from espnet2.legacy.nets.pytorch_backend.transformer.multi_layer_conv import Conv1dLinear, MultiLayeredConv1d

    mask: List = [None]
    for layer in encoder.encoders:
        for name in ("feed_forward", "feed_forward_macaron"):
            if isinstance(getattr(layer, name, None), (MultiLayeredConv1d, Conv1dLinear)):
                setattr(layer, name, PaddingSafeConvFF(getattr(layer, name), mask))
    return mask


def matmul_convolutions(module) -> None:
    """Put :class:`MatMulConv2d` in place of the unpadded ``Conv2d`` of ``module`` (a copy of an input
    layer) that read more than one channel (a one-channel convolution is cheap and a poor MatMul)."""
    if module is None:
        return
    for parent in list(module.modules()):
        for name, child in parent.named_children():
            if (isinstance(child, torch.nn.Conv2d) and child.in_channels > 1 and child.padding == (0, 0)
                    and child.dilation == (1, 1) and child.groups == 1 and child.bias is not None):
                setattr(parent, name, MatMulConv2d(child))

"""Decode-time position-wise convolutions as one matrix product over windows.

ESPnet's convolutional feed-forward (``positionwise_layer_type: conv1d`` or ``conv1d-linear``:
``MultiLayeredConv1d``, ``Conv1dLinear``) is most of a decode on a CPU. For the short sequences of
speech after subsampling (tens of frames), ``torch.conv1d`` pays a near-constant cost per call (about
0.3 ms on one Zen 4 core below 30 frames); the same convolution as one ``linear`` over the windows of
``kernel_size`` frames takes 0.4-0.6x of that there and about as long from 90 frames on
(docs/results/ffn_forms.md). In training (forward and backward) it is slower, so training keeps ``conv1d``.

:func:`use_matmul_ffn` switches the modules' class to a subclass whose ``forward`` does so: the
parameters, their names and the state dict stay the same, and no weight is copied (the
``(out, in, k)`` weight viewed as ``(out, in * k)`` matches windows laid out channel-major). The
output equals the convolution up to float rounding (about 1e-6), not bit for bit, so training and the
stock-equivalence tests keep ESPnet's modules; ``Speech2Text(matmul_ffn=False)`` decodes with them too.
"""

import torch
import torch.nn.functional as F
from espnet2.legacy.nets.pytorch_backend.transformer.multi_layer_conv import Conv1dLinear, MultiLayeredConv1d


def windowed_linear(conv: torch.nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """``conv`` ('same' padding, stride 1) applied to ``x`` of shape ``(B, T, C)``, as ``(B, T, out)``."""
    k = conv.kernel_size[0]
    if k > 1:
        pad = conv.padding[0]
        x = F.pad(x, (0, 0, pad, pad)).unfold(1, k, 1)  # (B, T, C, k): each frame's window
    return F.linear(x.reshape(x.size(0), x.size(1), -1), conv.weight.view(conv.out_channels, -1), conv.bias)


class MatMulMultiLayeredConv1d(MultiLayeredConv1d):
    """:class:`MultiLayeredConv1d` computed by :func:`windowed_linear`."""

    def forward(self, x, mask=None):
        if mask is not None:
            x = x.masked_fill(~mask.transpose(-1, 1), 0)
        x = torch.relu(windowed_linear(self.w_1, x))
        if mask is not None:
            x = x.masked_fill(~mask.transpose(-1, 1), 0)
        return windowed_linear(self.w_2, self.dropout(x))


class MatMulConv1dLinear(Conv1dLinear):
    """:class:`Conv1dLinear` computed by :func:`windowed_linear`."""

    def forward(self, x):
        return self.w_2(self.dropout(torch.relu(windowed_linear(self.w_1, x))))


MATMUL_CLASSES = {MultiLayeredConv1d: MatMulMultiLayeredConv1d, Conv1dLinear: MatMulConv1dLinear}


def _same_padded(conv: torch.nn.Conv1d) -> bool:
    k = conv.kernel_size[0]
    return (conv.stride == (1,) and conv.dilation == (1,) and conv.groups == 1 and k % 2 == 1
            and conv.padding == ((k - 1) // 2,) and conv.padding_mode == "zeros")


def use_matmul_ffn(module: torch.nn.Module) -> int:
    """Switch every ESPnet convolutional feed-forward in ``module`` to its matrix-product form; return
    how many. Modules whose convolutions are not odd-sized with 'same' padding are left as they are."""
    switched = 0
    for child in module.modules():
        matmul_class = MATMUL_CLASSES.get(type(child))
        if matmul_class is None:
            continue
        if all(_same_padded(c) for c in (child.w_1, child.w_2) if isinstance(c, torch.nn.Conv1d)):
            child.__class__ = matmul_class
            switched += 1
    return switched

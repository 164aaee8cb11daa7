"""Specification of bf16 autocast in the prunable encoders (espnet_layerprune.encoders.precision)."""

import logging

import pytest
import torch
from espnet2.asr.ctc import CTC

from espnet_layerprune.encoders import precision
from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

SMALL = dict(input_size=20, output_size=32, attention_heads=4, linear_units=48, num_blocks=4,
             interctc_layer_idx="all", input_layer="conv2d")


def _encoder(**extra):
    torch.manual_seed(0)
    return PrunableTransformerEncoder(**SMALL, **extra)


def _batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(2, 80, 20, generator=g), torch.tensor([80, 60])


def test_cpu_flags_decide_support():
    assert precision.bf16_support(("fpu", "avx512_bf16"))[0]
    assert precision.bf16_support(("amx_bf16",))[0]
    ok, why = precision.bf16_support(("fpu", "avx2"))
    assert not ok and "avx512_bf16" in why and "lscpu" in why


def test_resolve_falls_back_to_fp32_with_a_warning_naming_the_flag(caplog):
    with caplog.at_level(logging.WARNING):
        assert precision.resolve("bf16", option="--precision", flags=("avx2",)) is None
    assert "avx512_bf16" in caplog.text and "--precision" in caplog.text
    assert precision.resolve("bf16", flags=("avx512_bf16",)) is torch.bfloat16
    assert precision.resolve("fp32") is None


def test_resolve_refuses_unknown_precision():
    with pytest.raises(ValueError, match=r"--precision must be one of fp32, bf16, got 'fp16'"):
        precision.resolve("fp16")


def test_bf16_encoder_multiplies_in_bf16_and_returns_fp32():
    encoder = _encoder().eval()
    encoder.compute_dtype = torch.bfloat16
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
             for m in encoder.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    (out, inter), _, _ = encoder(*_batch())
    for h in hooks:
        h.remove()
    assert seen and set(seen) == {torch.bfloat16}  # every matrix product ran in bf16
    assert out.dtype == torch.float32 and {h.dtype for _, h in inter} == {torch.float32}
    assert next(encoder.parameters()).dtype == torch.float32  # weights are not converted


def test_bf16_loss_and_gradients_stay_close_to_fp32():
    encoder = _encoder(dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0).train()
    ctc = CTC(odim=10, encoder_output_size=32)
    x, lens = _batch()
    text, text_lens = torch.tensor([[3, 4, 5, 6], [2, 2, 7, 0]]), torch.tensor([4, 3])

    def loss_and_grad(dtype):
        encoder.compute_dtype = dtype
        encoder.zero_grad()
        (out, _), olens, _ = encoder(x, lens)
        loss = ctc(out, olens, text, text_lens)
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in encoder.parameters() if p.grad is not None])
        return loss.detach(), grads

    loss32, grad32 = loss_and_grad(None)
    loss16, grad16 = loss_and_grad(torch.bfloat16)
    assert loss16.dtype == torch.float32  # the CTC loss is computed in fp32
    assert abs(float(loss16 - loss32)) / float(loss32) < 0.02
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0) > 0.99


def test_depth_outputs_under_bf16_match_pruned_forward():
    encoder = _encoder().eval()
    encoder.compute_dtype = torch.bfloat16
    x, lens = _batch()
    outputs = encoder.depth_outputs(encoder.embed_input(x, lens))
    with encoder.pruned(layers=[1, 2]):
        (top, _), _, _ = encoder(x, lens)
    assert all(o.dtype == torch.float32 for o in outputs)
    torch.testing.assert_close(outputs[1], top)


def test_set_encoder_dtype_only_on_prunable_encoders():
    class Model(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

    assert precision.set_encoder_dtype(Model(_encoder()), torch.bfloat16)
    assert not precision.set_encoder_dtype(Model(torch.nn.Linear(2, 2)), torch.bfloat16)

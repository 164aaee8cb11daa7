"""Drop-in means drop-in: with every parameter perturbed (LayerNorms included, which fresh
encoders leave at the identity), each prunable encoder equals ESPnet's own, final and
intermediate CTC outputs, with and without self-conditioning; and a decoder's lean pass
(``return_intermediate = False``) gives the same final output."""

import pytest
import torch
from espnet2.asr.ctc import CTC
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

from espnet_layerprune.encoders.prunable_conformer import PrunableConformerEncoder
from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder
from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

VOCAB = 11
ENCODERS = {
    "transformer": (TransformerEncoder, PrunableTransformerEncoder,
                    dict(input_size=20, output_size=16, attention_heads=2, linear_units=24, num_blocks=4)),
    "conformer": (ConformerEncoder, PrunableConformerEncoder,
                  dict(input_size=20, output_size=16, attention_heads=2, linear_units=24, num_blocks=4,
                       cnn_module_kernel=5, macaron_style=True)),
    "e_branchformer": (EBranchformerEncoder, PrunableEBranchformerEncoder,
                       dict(input_size=20, output_size=16, attention_heads=2, cgmlp_linear_units=32,
                            cgmlp_conv_kernel=5, linear_units=24, num_blocks=4, use_ffn=True, macaron_ffn=True)),
}


def _perturbed_pair(kind: str, conditioning: bool, **extra):
    stock_cls, ours_cls, conf = ENCODERS[kind]
    conf = {**conf, "interctc_layer_idx": [1, 3], "interctc_use_conditioning": conditioning}
    torch.manual_seed(0)
    stock = stock_cls(**conf)
    if conditioning:  # what ESPnetASRModel adds to an encoder with self-conditioned CTC
        stock.conditioning_layer = torch.nn.Linear(VOCAB, 16)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in stock.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    ours = ours_cls(**conf, **extra)
    if conditioning:
        ours.conditioning_layer = torch.nn.Linear(VOCAB, 16)
    ours.load_state_dict(stock.state_dict(), strict=True)
    torch.manual_seed(2)
    ctc = CTC(VOCAB, 16).eval()
    return stock.eval(), ours.eval(), ctc


def _inputs():
    g = torch.Generator().manual_seed(3)
    return torch.randn(2, 50, 20, generator=g), torch.tensor([50, 37])


@pytest.mark.parametrize("conditioning", [False, True], ids=["plain", "self_conditioned"])
@pytest.mark.parametrize("kind", list(ENCODERS))
def test_perturbed_encoder_equals_stock_final_and_intermediate(kind, conditioning):
    stock, ours, ctc = _perturbed_pair(kind, conditioning)
    xs, lens = _inputs()
    with torch.no_grad():
        (a, inter_a), alen, _ = stock(xs, lens, ctc=ctc)
        (b, inter_b), blen, _ = ours(xs, lens, ctc=ctc)
    assert torch.allclose(a, b, atol=1e-5) and torch.equal(alen, blen)
    assert [i for i, _ in inter_a] == [i for i, _ in inter_b] == [1, 3]
    for (_, x), (_, y) in zip(inter_a, inter_b):
        assert torch.allclose(x, y, atol=1e-5)
    assert not torch.allclose(a, xs.new_zeros(()))  # the perturbation reached the output


@pytest.mark.parametrize("conditioning", [False, True], ids=["plain", "self_conditioned"])
@pytest.mark.parametrize("kind", list(ENCODERS))
def test_lean_pass_returns_the_same_final_output_and_no_intermediates(kind, conditioning):
    stock, ours, ctc = _perturbed_pair(kind, conditioning)
    xs, lens = _inputs()
    ours.return_intermediate = False
    with torch.no_grad():
        (a, _), _, _ = stock(xs, lens, ctc=ctc)
        b, _, _ = ours(xs, lens, ctc=ctc)
    assert isinstance(b, torch.Tensor) and torch.allclose(a, b, atol=1e-5)


def test_e_branchformer_stock_intermediate_is_raw_and_pruned_top_reads_it_too():
    stock, ours, ctc = _perturbed_pair("e_branchformer", False)
    xs, lens = _inputs()
    with torch.no_grad():
        (_, inter), _, _ = ours(xs, lens)
        with ours.pruned(layers=[1]):
            top1 = ours(xs, lens)[0]
    assert ours.interctc_normalize is False
    assert torch.allclose(inter[0][1], top1, atol=1e-6)  # depth 1 decodes what layer 1's CTC trained on
    assert not torch.allclose(ours.after_norm(inter[0][1]), inter[0][1], atol=1e-3)  # not the identity


@pytest.mark.parametrize("kind", list(ENCODERS))
def test_interctc_normalize_true_sends_intermediates_through_after_norm(kind):
    stock, ours, _ = _perturbed_pair(kind, False, interctc_normalize=True)
    xs, lens = _inputs()
    with torch.no_grad():
        (_, inter), _, _ = ours(xs, lens)
        with ours.pruned(layers=[1]):
            top1 = ours(xs, lens)[0]
        (_, stock_inter), _, _ = stock(xs, lens)
    assert torch.allclose(inter[0][1], top1, atol=1e-6)
    if kind == "e_branchformer":  # the one stock encoder that feeds intermediate CTC the raw output
        assert torch.allclose(inter[0][1], stock.after_norm(stock_inter[0][1]), atol=1e-5)

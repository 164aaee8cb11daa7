"""Specification of the prunable E-Branchformer encoder against ESPnet's own."""

import pytest
import torch
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder

from espnet_layerprune.encoders.run_plan import UnitGates
from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder

SMALL = dict(
    input_size=20,
    output_size=16,
    attention_heads=2,
    cgmlp_linear_units=32,
    cgmlp_conv_kernel=5,
    linear_units=24,
    num_blocks=3,
    use_ffn=True,
    macaron_ffn=True,
)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 40, 20, generator=g), torch.tensor([40, 29])


def _pair(extra_stock=None, **extra):
    stock_conf = {**SMALL, **(extra_stock or {})}
    torch.manual_seed(0)
    stock = EBranchformerEncoder(**stock_conf)
    ours = PrunableEBranchformerEncoder(**stock_conf, **extra)
    ours.load_state_dict(stock.state_dict(), strict=True)
    return stock.eval(), ours.eval()


def test_is_registered_under_its_yaml_name():
    import espnet_layerprune  # noqa: F401
    from espnet2.tasks.asr import encoder_choices

    assert encoder_choices.get_class("prunable_e_branchformer") is PrunableEBranchformerEncoder


def test_units_are_the_residual_branches_the_config_has():
    enc = PrunableEBranchformerEncoder(**SMALL)
    assert enc.unit_names == ("ffn1", "branches", "ffn2") and enc.num_units == 9
    assert enc.unit_labels()[:4] == ["L1.ffn1", "L1.branches", "L1.ffn2", "L2.ffn1"]
    assert PrunableEBranchformerEncoder(**{**SMALL, "macaron_ffn": False}).unit_names == ("branches", "ffn2")
    assert PrunableEBranchformerEncoder(**{**SMALL, "use_ffn": False}).unit_names == ("branches",)


@pytest.mark.parametrize(
    "conf",
    [
        {},  # rel_pos, macaron FFN
        {"use_ffn": False},  # ESPnet's default: no FFN at all
        {"attention_layer_type": "selfattn", "pos_enc_layer_type": "abs_pos"},
        {"input_layer": "conv2d6"},
    ],
)
def test_full_size_eval_equals_stock_bitwise_and_loads_strict(conf):
    stock, ours = _pair(conf)
    xs, lens = _inputs()
    with torch.no_grad():
        a, alen, _ = stock(xs, lens)
        b, blen, _ = ours(xs, lens)
    assert torch.equal(a, b) and torch.equal(alen, blen)


def test_pruned_block_equals_stock_without_it():
    _, ours = _pair()
    torch.manual_seed(0)
    two = EBranchformerEncoder(**{**SMALL, "num_blocks": 2}).eval()
    state = {k: v for k, v in ours.state_dict().items() if not k.startswith("encoders.1.")}
    state = {k.replace("encoders.2.", "encoders.1."): v for k, v in state.items()}
    two.load_state_dict(state, strict=True)
    xs, lens = _inputs(1)
    with torch.no_grad(), ours.pruned(layers=[1, 3]):
        assert torch.equal(ours(xs, lens)[0], two(xs, lens)[0])


def test_pruned_unit_equals_stock_with_that_branch_removed():
    stock, ours = _pair()
    stock.encoders[1].feed_forward = None  # ESPnet's layer skips an absent FFN
    xs, lens = _inputs(2)
    with torch.no_grad(), ours.pruned(units=[u for u in range(1, 10) if u != 6]):  # L2.ffn2
        assert torch.equal(ours(xs, lens)[0], stock(xs, lens)[0])


def test_intermediate_ctc_reads_what_a_network_pruned_to_that_layer_decodes():
    _, ours = _pair(interctc_layer_idx="all")
    xs, lens = _inputs()
    with torch.no_grad():
        (_, inter), _, _ = ours(xs, lens)
        with ours.pruned(layers=[1]):
            top1 = ours(xs, lens)[0]
    assert [layer for layer, _ in inter] == [1, 2]
    assert torch.equal(inter[0][1], top1)  # what layer 1's CTC trained on is what depth 1 decodes


def test_stochastic_depth_skips_whole_blocks_in_training_only():
    _, ours = _pair(stochastic_depth_rate=[0.0, 0.999, 0.0])
    ours.train()
    calls = []
    for m in (ours.encoders[1].attn, ours.encoders[1].cgmlp, ours.encoders[1].feed_forward):
        m.register_forward_pre_hook(lambda *a: calls.append(1))
    xs, lens = _inputs()
    torch.manual_seed(3)
    ours(xs, lens)
    assert calls == []
    ours.eval()
    with torch.no_grad():
        ours(xs, lens)
    assert calls  # nothing is skipped in eval


def test_gates_scale_units_and_carry_gradients():
    _, ours = _pair()
    gates = torch.full((9,), 0.5, requires_grad=True)
    xs, lens = _inputs()
    out = ours.run_units(ours.embed_input(xs, lens), gates=UnitGates(gates))[0]
    out.sum().backward()
    assert gates.grad is not None and bool((gates.grad != 0).all())


def test_stock_encoder_is_upgraded_for_decoding():
    from espnet_layerprune.models.pruning import as_prunable

    stock, _ = _pair()
    xs, lens = _inputs()
    with torch.no_grad():
        full = stock(xs, lens)[0]
    enc = as_prunable(stock)
    assert isinstance(enc, PrunableEBranchformerEncoder) and enc.num_units == 9
    with torch.no_grad():
        assert torch.equal(enc(xs, lens)[0], full)
        with enc.pruned(layers=[1, 2]):
            assert enc(xs, lens)[0].shape == full.shape


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"gradient_checkpoint_layers": [1]}, "gradient_checkpoint_layers is not supported"),
        ({"stochastic_depth_rate": 0.2, "layer_drop_rate": 0.1}, "not both"),
        ({"prune_layers": [4]}, "kept layers"),
        ({"interctc_layer_idx": [3]}, "interctc_layer_idx"),
    ],
)
def test_bad_options_fail_with_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrunableEBranchformerEncoder(**{**SMALL, **kwargs})

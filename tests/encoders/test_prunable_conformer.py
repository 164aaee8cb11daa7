"""Specification of the prunable conformer encoder against ESPnet's own."""

import pytest
import torch
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

from espnet_layerprune.encoders.run_plan import UnitGates
from espnet_layerprune.encoders.prunable_conformer import PrunableConformerEncoder

SMALL = dict(
    input_size=20,
    output_size=16,
    attention_heads=2,
    linear_units=24,
    num_blocks=3,
    cnn_module_kernel=5,
    macaron_style=True,
)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 40, 20, generator=g), torch.tensor([40, 29])


def _pair(extra_stock=None, **extra):
    stock_conf = {**SMALL, **(extra_stock or {})}
    torch.manual_seed(0)
    stock = ConformerEncoder(**stock_conf)
    ours = PrunableConformerEncoder(**stock_conf, **extra)
    ours.load_state_dict(stock.state_dict(), strict=True)
    return stock.eval(), ours.eval()


def test_is_registered_under_its_yaml_name():
    import espnet_layerprune  # noqa: F401
    from espnet2.tasks.asr import encoder_choices

    assert encoder_choices.get_class("prunable_conformer") is PrunableConformerEncoder


def test_units_are_the_four_submodules_of_each_block():
    enc = PrunableConformerEncoder(**SMALL)
    assert enc.unit_names == ("ffn1", "mhsa", "conv", "ffn2")
    assert enc.num_units == 12
    assert enc.unit_labels()[:5] == ["L1.ffn1", "L1.mhsa", "L1.conv", "L1.ffn2", "L2.ffn1"]


def test_absent_submodules_are_not_units():
    enc = PrunableConformerEncoder(**{**SMALL, "macaron_style": False})
    assert enc.unit_names == ("mhsa", "conv", "ffn2") and enc.num_units == 9
    enc = PrunableConformerEncoder(**{**SMALL, "use_cnn_module": False})
    assert enc.unit_names == ("ffn1", "mhsa", "ffn2")


@pytest.mark.parametrize(
    "conf",
    [
        {},  # legacy rel_pos, macaron
        {"rel_pos_type": "latest"},
        {"pos_enc_layer_type": "abs_pos", "selfattention_layer_type": "selfattn"},
        {"macaron_style": False, "input_layer": "linear"},
        {"use_cnn_module": False, "normalize_before": False, "concat_after": True},
    ],
)
def test_full_size_eval_equals_stock_bitwise_and_loads_strict(conf):
    stock, ours = _pair(conf, stochastic_depth_rate=0.5)
    assert list(stock.state_dict()) == list(ours.state_dict())
    x, lens = _inputs()
    ys, ls, _ = stock(x, lens)
    yo, lo, _ = ours(x, lens)
    assert torch.equal(ys, yo) and torch.equal(ls, lo)


def test_intermediate_outputs_equal_stock():
    stock, ours = _pair({"interctc_layer_idx": [1, 2]})
    x, lens = _inputs()
    (ys, inter_s), _, _ = stock(x, lens)
    (yo, inter_o), _, _ = ours(x, lens)
    assert torch.equal(ys, yo)
    assert [i for i, _ in inter_s] == [i for i, _ in inter_o] == [1, 2]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(inter_s, inter_o))


class _Zero(torch.nn.Module):
    """Stands in for a sub-module whose output is zero: ``x + 0 = x``."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        out = self.module(*args, **kwargs)
        return torch.zeros_like(out[0] if isinstance(out, tuple) else out)


@pytest.mark.parametrize(
    "unit,attr", [(5, "feed_forward_macaron"), (6, "self_attn"), (7, "conv_module"), (8, "feed_forward")]
)
def test_pruned_unit_equals_stock_with_that_submodule_silenced(unit, attr):
    stock, ours = _pair()
    layer = stock.encoders[1]  # units 5..8 are block 2's
    setattr(layer, attr, _Zero(getattr(layer, attr)))
    layer._conv_takes_mask = False if attr == "conv_module" else layer._conv_takes_mask
    ours.keep_units([u for u in range(1, 13) if u != unit])
    x, lens = _inputs(1)
    assert ours.kept_layers == (1, 2, 3)
    assert torch.equal(ours(x, lens)[0], stock(x, lens)[0])


def test_pruned_block_equals_stock_without_it():
    _, ours = _pair()
    small = ConformerEncoder(**{**SMALL, "num_blocks": 2}).eval()
    state = {}
    for k, v in ours.state_dict().items():
        if k.startswith("encoders."):
            _, idx, rest = k.split(".", 2)
            if idx != "1":
                state[f"encoders.{0 if idx == '0' else 1}.{rest}"] = v
        else:
            state[k] = v
    small.load_state_dict(state, strict=True)
    x, lens = _inputs(2)
    ours.keep_units([1, 2, 3, 4, 9, 10, 11, 12])
    assert ours.kept_layers == (1, 3)
    assert torch.equal(ours(x, lens)[0], small(x, lens)[0])


def test_prune_units_and_prune_layers_from_construction():
    enc = PrunableConformerEncoder(**SMALL, prune_units=[1, 2, 6, 12])
    assert enc.kept_units == (1, 2, 6, 12) and enc.kept_layers == (1, 2, 3)
    enc = PrunableConformerEncoder(**SMALL, prune_layers=[2])
    assert enc.kept_units == (5, 6, 7, 8)


def test_stock_layers_do_not_skip_on_their_own():
    enc = PrunableConformerEncoder(**SMALL, stochastic_depth_rate=0.4)
    assert all(layer.stochastic_depth_rate == 0.0 for layer in enc.encoders)
    assert enc.unit_drop_probs == pytest.approx([0.4] * 12)


def _unit_calls(enc):
    """Per forward: which (block, unit) ran, from hooks on the sub-modules."""
    calls = []
    for i, layer in enumerate(enc.encoders):
        for name, module in (("mhsa", layer.self_attn), ("conv", layer.conv_module)):
            module.register_forward_hook(lambda m, a, o, key=(i, name): calls.append(key))
    return calls


def test_stochastic_depth_skips_whole_blocks_by_default():
    """Lee et al. and ESPnet's conformer skip whole blocks (0.1 drew per unit: a
    whole block was skipped with probability p**4)."""
    torch.manual_seed(0)
    enc = PrunableConformerEncoder(**SMALL, stochastic_depth_rate=0.5, dropout_rate=0.0).train()
    assert enc.stochastic_depth_granularity == "block"
    calls = _unit_calls(enc)
    x, lens = _inputs()
    runs, whole_block_skips = 100, 0  # 300 draws of p=0.5: the bounds are 3.5 sd wide
    for _ in range(runs):
        calls.clear()
        enc(x, lens)
        ran = set(calls)
        for i in range(3):
            mhsa, conv = (i, "mhsa") in ran, (i, "conv") in ran
            assert mhsa == conv  # the units of a block go together
            whole_block_skips += not mhsa
        assert set(enc.unit_scales()) <= {None, 2.0}
    assert 0.4 < whole_block_skips / (runs * 3) < 0.6


def test_stochastic_depth_per_unit_when_asked():
    torch.manual_seed(0)
    enc = PrunableConformerEncoder(
        **SMALL, stochastic_depth_rate=0.5, dropout_rate=0.0, stochastic_depth_granularity="unit"
    ).train()
    calls = _unit_calls(enc)
    x, lens = _inputs()
    split = 0
    for _ in range(50):
        calls.clear()
        enc(x, lens)
        ran = set(calls)
        split += sum(((i, "mhsa") in ran) != ((i, "conv") in ran) for i in range(3))
    assert split > 10  # units of one block are skipped independently


def test_stochastic_depth_is_inert_in_eval():
    stock, ours = _pair(stochastic_depth_rate=0.9, stochastic_depth_schedule="linear")
    x, lens = _inputs()
    assert torch.equal(ours(x, lens)[0], stock(x, lens)[0])
    assert set(ours.unit_scales()) == {1.0}


def test_gates_scale_units_and_carry_gradients():
    _, ours = _pair()
    gates = torch.tensor([0.0] + [1.0] * 11, requires_grad=True)
    x, lens = _inputs()
    y = ours.run_units(ours.embed_input(x, lens), gates=UnitGates(gates))[0]
    (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    assert gates.grad[0] != 0  # a closed gate still learns


def test_block_of_closed_gates_is_the_pruned_network_and_still_learns():
    """Stage 1's straight-through subnet must equal the subnet decoding runs: a block
    whose gates are all closed leaves out its final LayerNorm too."""
    _, ours = _pair()
    with torch.no_grad():  # a trained final LayerNorm (not the identity of init)
        for layer in ours.encoders:
            layer.norm_final.weight.uniform_(0.5, 1.5)
            layer.norm_final.bias.uniform_(-0.5, 0.5)
    is_open = tuple(not 5 <= u <= 8 for u in range(1, 13))  # block 2 closed
    values = torch.tensor([float(o) for o in is_open], requires_grad=True)
    x, lens = _inputs()
    embedded = ours.embed_input(x, lens)
    gated = ours.run_units(embedded, gates=UnitGates(values, is_open))[0]
    with ours.pruned(layers=[1, 3]):
        pruned = ours(x, lens)[0]
    assert torch.equal(gated, pruned)
    gated.sum().backward()
    assert values.grad[4:8].abs().sum() > 0  # the closed units' gates get gradients


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(ctc_trim=True), "ctc_trim: true is not supported with pruning"),
        (dict(stochastic_depth_rate=1.0), r"stochastic_depth_rate must be in \[0, 1\)"),
        (dict(stochastic_depth_rate=[0.1]), "one value per layer"),
        (dict(layer_drop_rate=0.1, stochastic_depth_rate=0.1), "not both"),
        (dict(interctc_layer_idx=[3]), r"interctc_layer_idx entries must be in \[1, 2\]"),
        (dict(prune_units=[13]), r"must be in \[1, 12\]"),
        (dict(prune_units=[1], prune_layers=[1]), "not both"),
    ],
)
def test_bad_options_fail_with_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrunableConformerEncoder(**SMALL, **kwargs)

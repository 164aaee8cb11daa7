"""Specification of the prunable transformer encoder against ESPnet's own."""

import pytest
import torch
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder

from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

SMALL = dict(input_size=20, output_size=32, attention_heads=4, linear_units=48, num_blocks=6)


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(3, 60, 20, generator=g), torch.tensor([60, 45, 30])


def _pair(**extra):
    torch.manual_seed(0)
    stock = TransformerEncoder(**SMALL)
    ours = PrunableTransformerEncoder(**SMALL, **extra)
    ours.load_state_dict(stock.state_dict(), strict=True)
    return stock.eval(), ours.eval()


def test_is_registered_under_its_yaml_name():
    import espnet_layerprune  # noqa: F401
    from espnet2.tasks.asr import encoder_choices

    assert encoder_choices.get_class("prunable_transformer") is PrunableTransformerEncoder


def test_state_dict_keys_identical_to_stock():
    stock, ours = _pair(stochastic_depth_rate=0.2, interctc_layer_idx="all")
    assert list(stock.state_dict()) == list(ours.state_dict())


def test_full_depth_eval_equals_stock_bitwise():
    stock, ours = _pair(stochastic_depth_rate=0.5, stochastic_depth_schedule="linear")
    x, lens = _inputs()
    ys, ls, _ = stock(x, lens)
    yo, lo, _ = ours(x, lens)
    assert torch.equal(ys, yo) and torch.equal(ls, lo)


def test_intermediate_outputs_match_stock_format_and_values():
    torch.manual_seed(0)
    stock = TransformerEncoder(**SMALL, interctc_layer_idx=[2, 4]).eval()
    ours = PrunableTransformerEncoder(**SMALL, interctc_layer_idx=[2, 4]).eval()
    ours.load_state_dict(stock.state_dict(), strict=True)
    x, lens = _inputs()
    (ys, inter_s), _, _ = stock(x, lens)
    (yo, inter_o), _, _ = ours(x, lens)
    assert torch.equal(ys, yo)
    assert [i for i, _ in inter_s] == [i for i, _ in inter_o] == [2, 4]
    for (_, a), (_, b) in zip(inter_s, inter_o):
        assert torch.equal(a, b)


@pytest.mark.parametrize("value,expected", [("all", [1, 2, 3, 4, 5]), ("every_2", [2, 4]), ([3, 1], [1, 3])])
def test_interctc_shorthands(value, expected):
    enc = PrunableTransformerEncoder(**SMALL, interctc_layer_idx=value)
    assert enc.interctc_layer_idx == expected


def test_pruned_equals_stock_encoder_built_from_kept_layers():
    _, ours = _pair()
    kept = [1, 3, 4, 6]
    small = TransformerEncoder(**{**SMALL, "num_blocks": len(kept)}).eval()
    state = {}
    for k, v in ours.state_dict().items():
        if k.startswith("encoders."):
            _, idx, rest = k.split(".", 2)
            if int(idx) + 1 in kept:
                state[f"encoders.{kept.index(int(idx) + 1)}.{rest}"] = v
        else:
            state[k] = v
    small.load_state_dict(state, strict=True)
    x, lens = _inputs(1)
    ours.keep_layers(kept)
    assert ours.kept_layers == tuple(kept)
    assert torch.equal(ours(x, lens)[0], small(x, lens)[0])


def test_pruned_context_restores_full_depth():
    _, ours = _pair()
    x, lens = _inputs()
    full = ours(x, lens)[0]
    with ours.pruned(layers=[1, 2]):
        shallow = ours(x, lens)[0]
    assert not torch.allclose(full, shallow)
    assert torch.equal(ours(x, lens)[0], full)
    assert ours.kept_layers == tuple(range(1, 7))


def test_pruned_intermediates_only_for_kept_layers_below_top():
    enc = PrunableTransformerEncoder(**SMALL, interctc_layer_idx="all").eval()
    x, lens = _inputs()
    enc.keep_layers([1, 2, 4])
    (_, inter), _, _ = enc(x, lens)
    assert [i for i, _ in inter] == [1, 2]


def _count_block_calls(enc):
    calls = []
    for i, layer in enumerate(enc.encoders):
        layer.self_attn.register_forward_hook(lambda m, a, o, i=i: calls.append(i))
    return calls


def test_stochastic_depth_really_skips_and_rescales_in_training():
    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(**SMALL, stochastic_depth_rate=0.5, dropout_rate=0.0).train()
    calls = _count_block_calls(enc)
    x, lens = _inputs()
    runs = 40
    for _ in range(runs):
        enc(x, lens)
        scales = enc.unit_scales()
        assert set(scales) <= {None, 2.0}  # skipped, or kept and scaled by 1/(1-0.5)
    rate = 1 - len(calls) / (runs * 6)
    assert 0.35 < rate < 0.65


def test_stochastic_depth_is_inert_in_eval():
    _, ours = _pair(stochastic_depth_rate=0.9)
    calls = _count_block_calls(ours)
    x, lens = _inputs()
    a = ours(x, lens)[0]
    b = ours(x, lens)[0]
    assert torch.equal(a, b) and len(calls) == 12
    assert set(ours.unit_scales()) == {1.0}


def test_linear_schedule_drops_deep_layers_more():
    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(
        **SMALL, stochastic_depth_rate=0.6, stochastic_depth_schedule="linear"
    ).train()
    assert enc.unit_drop_probs == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    calls = _count_block_calls(enc)
    x, lens = _inputs()
    for _ in range(60):
        enc(x, lens)
    assert calls.count(0) > calls.count(5)


def test_layer_drop_rate_actually_drops_without_rescaling():
    """ESPnet's own transformer ignores layer_drop_rate; ours must not."""
    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(**SMALL, layer_drop_rate=0.5).train()
    calls = _count_block_calls(enc)
    x, lens = _inputs()
    for _ in range(20):
        enc(x, lens)
        assert set(enc.unit_scales()) <= {None, 1.0}
    assert 0 < len(calls) < 20 * 6


def test_training_output_changes_with_skips():
    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(**SMALL, stochastic_depth_rate=0.5, dropout_rate=0.0).train()
    x, lens = _inputs()
    calls = _count_block_calls(enc)
    outs = {}
    for _ in range(10):
        calls.clear()
        y = enc(x, lens)[0]
        outs[tuple(calls)] = y
    assert len(outs) > 1
    first, *others = outs.values()
    assert all(not torch.allclose(first, other) for other in others)


def test_sublayer_units_skip_halves():
    enc = PrunableTransformerEncoder(**SMALL, unit_granularity="sublayer").eval()
    assert enc.num_units == 12
    assert enc.unit_labels()[:2] == ["L1.mhsa", "L1.ffn"]
    x, lens = _inputs()
    full = enc(x, lens)[0]
    enc.keep_units([u for u in range(1, 13) if u != 4])  # drop layer 2's FFN only
    assert enc.kept_layers == tuple(range(1, 7))
    assert not torch.allclose(enc(x, lens)[0], full)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(stochastic_depth_rate=1.0), r"stochastic_depth_rate must be in \[0, 1\)"),
        (dict(stochastic_depth_rate=-0.1), r"stochastic_depth_rate must be in \[0, 1\)"),
        (dict(stochastic_depth_rate=[0.1, 0.2]), "one value per layer"),
        (dict(stochastic_depth_rate=0.1, stochastic_depth_schedule="cosine"), "stochastic_depth_schedule must be one of"),
        (dict(layer_drop_rate=1.5), r"layer_drop_rate must be in \[0, 1\)"),
        (dict(layer_drop_rate=0.1, stochastic_depth_rate=0.1), "not both"),
        (dict(interctc_layer_idx=[6]), r"interctc_layer_idx entries must be in \[1, 5\]"),
        (dict(interctc_layer_idx="some"), "'all' or 'every_K'"),
        (dict(unit_granularity="head"), "unit_granularity must be one of"),
        (dict(prune_layers=[2, 1]), "increasing order"),
    ],
)
def test_bad_options_fail_with_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PrunableTransformerEncoder(**SMALL, **kwargs)


def test_bad_kept_layers():
    enc = PrunableTransformerEncoder(**SMALL)
    with pytest.raises(ValueError, match=r"must be in \[1, 6\]"):
        enc.keep_layers([0, 1])
    with pytest.raises(ValueError, match="duplicate"):
        enc.keep_layers([1, 1])


def test_parameter_count_follows_kept_layers_and_units():
    enc = PrunableTransformerEncoder(**SMALL, unit_granularity="sublayer")
    kept, total = enc.kept_parameter_count()
    assert kept == total
    layer = enc.encoders[1]
    attn = sum(p.numel() for m in (layer.self_attn, layer.norm1) for p in m.parameters())
    enc.keep_units([u for u in range(1, 13) if u != 3])  # layer 2's MHSA
    assert enc.kept_parameter_count() == (total - attn, total)
    enc.keep_layers([1])
    per_layer = sum(p.numel() for p in layer.parameters())
    assert enc.kept_parameter_count()[0] == total - 5 * per_layer


def test_embedded_input_is_shared_by_passes_and_equals_the_full_forward():
    _, ours = _pair(unit_granularity="sublayer")
    calls = []
    ours.embed.register_forward_hook(lambda *_: calls.append(1))
    xs, ilens = _inputs()
    alone = [ours(xs, ilens)[0], None]
    with ours.pruned(layers=[1]):
        alone[1] = ours(xs, ilens)[0]
    calls.clear()
    embedded = ours.embed_input(xs, ilens)
    shared = [ours.run_units(embedded)[0], ours.run_units(embedded, units=[1, 2])[0]]
    assert len(calls) == 1
    assert all(torch.equal(a, b) for a, b in zip(alone, shared))


def test_shared_embedding_sends_gradients_from_every_pass():
    _, ours = _pair()
    xs, ilens = _inputs()
    embedded = ours.embed_input(xs, ilens)
    first = ours.run_units(embedded)[0].sum()
    second = ours.run_units(embedded, units=[1])[0].sum()
    weight = next(ours.embed.parameters())
    (g_first,) = torch.autograd.grad(first, weight, retain_graph=True)
    (g_second,) = torch.autograd.grad(second, weight, retain_graph=True)
    (g_both,) = torch.autograd.grad(first + second, weight)
    assert g_second.abs().sum() > 0
    assert torch.allclose(g_both, g_first + g_second, atol=1e-5)


def test_bad_interctc_index_is_both_value_and_assertion_error_like_stock():
    """ESPnet's own tests expect AssertionError from the stock encoders' check."""
    with pytest.raises(AssertionError):
        TransformerEncoder(**dict(SMALL, interctc_layer_idx=[6]))
    for bad in ([0], [6]):
        with pytest.raises(AssertionError):
            PrunableTransformerEncoder(**SMALL, interctc_layer_idx=bad)
        with pytest.raises(ValueError, match="interctc_layer_idx entries must be in"):
            PrunableTransformerEncoder(**SMALL, interctc_layer_idx=bad)


def test_layer_outputs_include_self_conditioning():
    """return_all_hs gives what the next block sees, self-conditioning included."""
    import espnet_layerprune  # noqa: F401
    from espnet2.asr.ctc import CTC

    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(
        **SMALL, interctc_layer_idx=[2, 4], interctc_use_conditioning=True
    ).eval()
    ctc = CTC(odim=7, encoder_output_size=32)
    enc.conditioning_layer = torch.nn.Linear(7, 32)
    xs, ilens = _inputs()
    embedded = enc.embed_input(xs, ilens)
    (_, states), _, _ = enc.run_units(embedded, ctc=ctc, return_all_hs=True)
    # restarting from the state after layer 2 must reproduce the full output
    rest = enc.run_units(
        type(embedded)(states[1], embedded.pos_emb, embedded.masks), units=[3, 4, 5, 6], ctc=ctc
    )[0][0]
    assert torch.allclose(rest, enc.run_units(embedded, ctc=ctc)[0][0], atol=1e-6)

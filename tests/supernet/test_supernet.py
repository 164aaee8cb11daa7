"""Specification of the supernet schedule (stages, annealing, zero-out, sandwich)."""

import pytest
import torch

from espnet_layerprune.supernet.scores import nested_masks
from espnet_layerprune.supernet import RESET_ORDER_SPAN, Supernet


def _net(**config):
    return Supernet.from_config(config, num_units=12, units_per_layer=4)


def _run(net, forwards):
    return [net.start_train_step() for _ in range(forwards)]


# ---------------------------------------------------------------- simple top-k
def test_k_anneals_from_u_minus_d_to_the_smallest_size_over_stage_1():
    net = _net(sizes=[3, 6, 12], stage1_steps=90)
    assert net.config.anneal_interval == 10  # 9 values of k share the 90 updates
    ks = [net.subnet_size(t) for t in range(0, 90, 10)]
    assert ks == [11, 10, 9, 8, 7, 6, 5, 4, 3]
    assert net.subnet_size(9) == 11 and net.subnet_size(89) == 3
    assert net.stage_at(89) == 1 and net.stage_at(90) == 2


def test_k_anneals_in_steps_of_d_every_interval_and_stops_at_the_smallest():
    net = _net(sizes=[3, 12], stage1_steps=100, anneal_step=2, anneal_interval=5)
    assert [net.subnet_size(t) for t in range(0, 30, 5)] == [10, 8, 6, 4, 3, 3]


def test_stage_1_passes_supernet_and_gated_subnet():
    net = _net(sizes=[3, 6, 12], stage1_steps=90, stage1_stochastic_depth=0.2)
    supernet, subnet = net.train_passes(25)
    assert (supernet.name, supernet.weight, supernet.gates) == ("supernet", 1.0, None)
    assert supernet.units == tuple(range(1, 13))
    assert (subnet.name, subnet.weight, subnet.size) == ("subnet", 0.3, 9)
    gates = subnet.gates
    assert set(gates.tolist()) == {0.0, 1.0} and gates.sum() == 9  # hard by default
    assert gates.requires_grad  # the straight-through gradient reaches the scores
    # the supernet skips (p = 0.2) exactly the units the subnet leaves out
    assert [p > 0 for p in supernet.drop_probs] == [g == 0 for g in gates.tolist()]
    assert set(supernet.drop_probs) == {0.0, 0.2}
    assert subnet.drop_probs == (0.0,) * 12


def test_soft_gates_sum_to_k():
    net = _net(sizes=[3, 12], stage1_steps=10, gates="soft")
    gates = net.train_passes(0)[1].gates
    assert gates.sum().item() == pytest.approx(net.subnet_size(0), abs=1e-4)
    assert len(set(gates.tolist())) == 1  # all scores start equal


def test_scores_start_at_init_score_and_are_a_parameter():
    net = _net(sizes=[3, 12], stage1_steps=10)
    assert isinstance(net.scores, torch.nn.Parameter)
    assert net.scores.tolist() == [0.5] * 12
    assert _net(method="iterative_zero_out", sizes=[3, 12], stage1_steps=10).scores[0] == 10.0
    assert _net(method="stochastic_depth", sizes=[4, 12]).scores is None


# ---------------------------------------------------------------- zero-out
def test_zero_out_counts_default_from_sizes_and_iteration_length():
    net = _net(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=7)
    assert net.config.zero_out_counts == (3, 6, 9)
    # iterations of 7 // 3 = 2 updates; the last one takes the remainder
    assert [net.zero_out_iteration(t) for t in range(7)] == [0, 0, 1, 1, 2, 2, 2]
    assert [net.subnet_size(t) for t in (0, 2, 6)] == [9, 6, 3]


def test_zero_out_resets_the_lowest_scores_at_each_iteration_end():
    net = _net(method="iterative_zero_out", sizes=[3, 12], zero_out_counts=[2, 5],
               stage1_steps=4)
    with torch.no_grad():
        net.scores.copy_(torch.arange(12.0))  # unit 1 lowest
    _run(net, 2)  # updates 0, 1: iteration 0
    assert int(net.resets_done) == 0
    net.start_train_step()  # update 2: iteration 0 ended, 2 lowest -> -5
    assert net.scores[:2].tolist() == pytest.approx([-5.0, -5.0], abs=RESET_ORDER_SPAN)
    assert net.scores[0] < net.scores[1] and net.scores[2] == 2.0  # order kept
    assert int(net.resets_done) == 1 and not net.is_frozen
    _run(net, 1)
    net.start_train_step()  # update 4: iteration 1 ended (5 lowest), then stage 2
    assert net.scores[:5].tolist() == pytest.approx([-5.0] * 5, abs=RESET_ORDER_SPAN)
    assert net.scores[5] == 5.0
    assert net.is_frozen and net.scores.requires_grad  # reset scores stay trainable


def test_zero_out_masks_follow_the_zero_out_order_not_the_unit_index():
    # Units zeroed first must leave the intermediate sizes first, although the last
    # reset puts all of them at about reset_value.
    net = _net(method="iterative_zero_out", sizes=[3, 6, 9, 12], zero_out_counts=[3, 6, 9],
               stage1_steps=3)
    with torch.no_grad():
        net.scores.copy_(torch.arange(12.0))  # unit 1 lowest
    _run(net, 4)  # resets after updates 0, 1, 2, then stage 2 freezes
    assert net.is_frozen
    assert [net.size_units(k) for k in (9, 6, 3)] == [
        tuple(range(4, 13)), tuple(range(7, 13)), (10, 11, 12)]


def test_zero_out_passes_and_sparsity_loss():
    net = _net(method="iterative_zero_out", sizes=[3, 12], zero_out_counts=[4, 9],
               stage1_steps=10, stage1_stochastic_depth=0.1)
    supernet, subnet = net.train_passes(0)
    assert torch.allclose(subnet.gates, torch.sigmoid(net.scores))
    assert set(supernet.drop_probs) == {0.0}  # nothing zeroed out yet
    # target of iteration 0: 4 of 12 units off; all gates ~1 -> loss ~4/12
    assert net.sparsity_loss(0).item() == pytest.approx(4 / 12, abs=1e-3)
    assert net.sparsity_loss(10) is None  # stage 2
    _run(net, 6)  # reset of iteration 0 done at update 5
    supernet, _ = net.train_passes(6)
    assert sum(p > 0 for p in supernet.drop_probs) == 4  # the 4 zeroed-out units


# ---------------------------------------------------------------- stage 2
def _stage2(**config):
    # anneal_step 9: one value of k, so that a 2-update stage 1 reaches the smallest size
    net = _net(**{"sizes": [3, 6, 9, 12], "stage1_steps": 2, "anneal_step": 9, **config})
    with torch.no_grad():
        net.scores.copy_(torch.tensor([5.0, 1, 9, 3, 7, 0, 11, 2, 8, 4, 10, 6]))
    _run(net, 3)
    assert net.is_frozen
    return net


def test_stage_2_sandwich_largest_smallest_and_one_medium():
    net = _stage2()
    passes = net.train_passes(10)
    names = [p.name for p in passes]
    assert names[:2] == ["supernet", "size3"] and names[2] in ("size6", "size9")
    assert [p.weight for p in passes] == [1.0, 0.3, 0.3]
    assert all(p.gates is None for p in passes)
    masks = {p.size: p.units for p in passes}
    assert masks[12] == tuple(range(1, 13))
    assert masks[3] == (3, 7, 11)  # the top-3 scores
    assert set(masks[3]) <= set(masks[names[2] == "size6" and 6 or 9])
    # stochastic depth on the largest net outside the smallest subnet only
    assert [p > 0 for p in passes[0].drop_probs] == [u not in (3, 7, 11) for u in range(1, 13)]
    assert set(passes[0].drop_probs) == {0.0, 0.3}
    assert passes[1].drop_probs == (0.0,) * 12


def test_stage_2_masks_stay_frozen_when_scores_move():
    net = _stage2()
    before = net.train_passes(10)[1].units
    with torch.no_grad():
        net.scores.neg_()
    assert net.train_passes(10)[1].units == before
    assert net.size_units(3) == before


def test_medium_subnet_drawn_uniformly_and_only_from_the_step():
    net = _stage2()
    draws = []
    for t in range(400):
        torch.manual_seed(t * 7)  # the global RNG must not matter
        draws.append(net.medium_size(t))
    assert set(draws) == {6, 9} and 150 < draws.count(6) < 250
    other = _stage2()
    assert [other.medium_size(t) for t in range(400)] == draws  # same seed, same draws
    assert [_stage2(seed=1).medium_size(t) for t in range(400)] != draws


def test_two_sizes_have_no_medium():
    net = _stage2(sizes=[4, 12])
    assert [p.name for p in net.train_passes(5)] == ["supernet", "size4"]


def test_stochastic_depth_method_trains_the_supernet_only_with_prefix_sizes():
    net = _net(method="stochastic_depth", sizes=[4, 8, 12])
    (p,) = net.train_passes(net.start_train_step())
    assert (p.name, p.units, p.gates, p.drop_probs) == ("supernet", None, None, None)
    assert net.size_units(8) == tuple(range(1, 9))
    assert net.depth_layers(2) is None and net.stage_at(0) == 0


def test_depth_layers_rank_blocks_by_summed_scores():
    net = _stage2()
    # block sums: [5+1+9+3, 7+0+11+2, 8+4+10+6] = [18, 20, 28]
    assert net.depth_layers(1) == (3,)
    assert net.depth_layers(2) == (2, 3)


# ---------------------------------------------------------------- state
def test_accum_grad_counts_optimizer_updates():
    net = _net(sizes=[3, 12], stage1_steps=3, anneal_step=9, accum_grad=4)
    steps = _run(net, 16)
    assert steps == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert net.step == 4
    net2 = _net(sizes=[3, 12], stage1_steps=3, anneal_step=9, accum_grad=4)
    _run(net2, 12)
    assert not net2.is_frozen
    net2.start_train_step()  # first forward of update 3
    assert net2.is_frozen


def test_state_dict_round_trip_resumes_exactly():
    a = _net(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=6)
    with torch.no_grad():
        a.scores.copy_(torch.randn(12, generator=torch.Generator().manual_seed(0)))
    _run(a, 4)
    b = _net(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=6)
    b.load_state_dict(a.state_dict(), strict=True)
    assert set(a.state_dict()) == {"scores", "num_forwards", "resets_done", "frozen",
                                   "frozen_scores"}
    for _ in range(6):  # through the last reset and the stage switch
        assert a.start_train_step() == b.start_train_step()
        assert torch.equal(a.scores, b.scores)
        assert int(a.resets_done) == int(b.resets_done)
    assert a.is_frozen and b.is_frozen
    pa, pb = a.train_passes(a.step), b.train_passes(b.step)
    assert [(p.name, p.units, p.drop_probs) for p in pa] == [
        (p.name, p.units, p.drop_probs) for p in pb
    ]


def test_averaged_checkpoints_keep_the_frozen_ranking():
    """ESPnet averages n-best checkpoints; mixing stage 1 and 2 must keep the masks."""
    frozen = _stage2()
    unfrozen = _net(sizes=[3, 6, 9, 12], stage1_steps=2, anneal_step=9)
    avg = {
        k: v if not v.is_floating_point() else (v + unfrozen.state_dict()[k]) / 2
        for k, v in frozen.state_dict().items()
    }
    net = _net(sizes=[3, 6, 9, 12], stage1_steps=2, anneal_step=9)
    net.load_state_dict(avg)
    assert net.is_frozen
    assert net.size_units(3) == nested_masks(frozen.frozen_scores, [3])[0]


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "config,message",
    [
        ({"method": "greedy", "stage1_steps": 5}, r"method must be one of \('simple_top_k'"),
        ({"sizes": [], "stage1_steps": 5}, "sizes must list at least one"),
        ({"sizes": [6, 3], "stage1_steps": 5}, "sizes must be strictly increasing"),
        ({"sizes": [3, 3, 12], "stage1_steps": 5}, "sizes must be strictly increasing"),
        ({"sizes": [3, 13], "stage1_steps": 5}, r"sizes entries must be in \[1, 12\]"),
        ({"sizes": [0, 12], "stage1_steps": 5}, r"sizes entries must be in \[1, 12\]"),
        ({"sizes": [12], "stage1_steps": 5}, "needs a size below 12"),
        ({"method": "stochastic_depth", "sizes": [3, 12]}, "multiples of 4"),
        ({"sizes": [3, 12]}, "stage1_steps is required"),
        ({"sizes": [3, 12], "stage1_steps": -1}, "stage1_steps must be >= 0"),
        ({"sizes": [3, 12], "stage1_steps": 100, "total_steps": 100}, "must be less than total_steps"),
        ({"sizes": [3, 12], "stage1_steps": 5, "bogus": 1}, r"unknown model_conf.supernet option\(s\) \['bogus'\]"),
        ({"sizes": [3, 12], "stage1_steps": 5, "reset_value": -3.0}, "do not apply to method simple_top_k"),
        ({"method": "stochastic_depth", "stage1_steps": 5}, "do not apply to method stochastic_depth"),
        ({"sizes": "3,12", "stage1_steps": 5}, "model_conf.supernet: .*sizes"),
        ({"sizes": [3, 12], "stage1_steps": 5, "gates": "sharp"}, r"gates must be one of \('hard', 'soft'\)"),
        ({"sizes": [3, 12], "stage1_steps": 5, "anneal_step": 0}, "anneal_step must be >= 1"),
        ({"sizes": [3, 12], "stage1_steps": 20, "anneal_interval": 5}, "anneal_interval .* is too long"),
        ({"sizes": [3, 12], "stage1_steps": 5}, r"stage1_steps \(5\) is shorter than the 9 values of k .* never reach the smallest size"),
        ({"sizes": [3, 12], "stage1_steps": 9, "stage1_fraction": 0.5}, "stage1_fraction and stage1_steps both set"),
        ({"sizes": [3, 12], "stage1_fraction": 1.5, "total_steps": 100}, r"stage1_fraction must be in \(0, 1\)"),
        ({"sizes": [3, 12], "stage1_fraction": 0.5}, "stage1_fraction needs total_steps"),
        ({"sizes": [3, 12], "stage1_steps": 9, "sizez": [3, 12]}, "did you mean 'sizes'"),
        ({"sizes": [3, 12], "stage1_steps": 5, "accum_grad": 0}, "accum_grad must be >= 1"),
        ({"sizes": [3, 12], "stage1_steps": 5, "subnet_weight": -1.0}, "subnet_weight must be >= 0"),
        ({"sizes": [3, 12], "stage1_steps": 5, "stage2_stochastic_depth": 1.0}, r"stage2_stochastic_depth must be in \[0, 1\)"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 5, "zero_out_counts": [4, 2]}, "zero_out_counts must be strictly increasing"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 5, "zero_out_counts": [12]}, r"zero_out_counts entries must be in \[1, 11\]"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 1, "zero_out_counts": [3, 9]}, "must be >= the number of zero-out iterations"),
    ],
)
def test_bad_config_fails_at_construction_with_clear_message(config, message):
    with pytest.raises(ValueError, match=message):
        _net(**config)


def test_too_short_stage_1_is_refused_instead_of_stopping_k_early():
    # Version 0.1 accepted this and k stopped at 38 of 48 units, never reaching 12.
    with pytest.raises(ValueError, match=r"stage1_steps \(10\) is shorter than the 36 values of k"):
        Supernet.from_config(dict(sizes=[12, 24, 36, 48], stage1_steps=10), num_units=48, units_per_layer=4)
    net = Supernet.from_config(dict(sizes=[12, 24, 36, 48], stage1_steps=36), num_units=48, units_per_layer=4)
    assert net.subnet_size(35) == 12


def test_stage1_fraction_is_a_share_of_all_updates():
    net = _net(sizes=[3, 12], stage1_fraction=0.4, total_steps=250)
    assert net.config.stage1_steps == 100


def test_integers_are_accepted_for_float_options():
    net = _net(sizes=[3, 12], stage1_steps=9, init_score=1, supernet_weight=1)
    assert net.scores[0].item() == 1.0

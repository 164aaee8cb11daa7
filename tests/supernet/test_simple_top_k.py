"""Simple-Top-k: k anneals over stage 1, the supernet pass and the gated subnet."""

import pytest

from espnet_layerprune.supernet import Supernet
from supernet_nets import build


def test_k_anneals_from_u_minus_d_to_the_smallest_size_over_stage_1():
    net = build(sizes=[3, 6, 12], stage1_steps=90)
    assert net.config.anneal_interval == 10  # 9 values of k share the 90 updates
    ks = [net.method.subnet_size(t) for t in range(0, 90, 10)]
    assert ks == [11, 10, 9, 8, 7, 6, 5, 4, 3]
    assert net.method.subnet_size(9) == 11 and net.method.subnet_size(89) == 3
    assert net.method.stage_at(89) == 1 and net.method.stage_at(90) == 2


def test_k_anneals_in_steps_of_d_every_interval_and_stops_at_the_smallest():
    net = build(sizes=[3, 12], stage1_steps=100, anneal_step=2, anneal_interval=5)
    assert [net.method.subnet_size(t) for t in range(0, 30, 5)] == [10, 8, 6, 4, 3, 3]


def test_stage_1_passes_supernet_and_gated_subnet():
    net = build(sizes=[3, 6, 12], stage1_steps=90, stage1_stochastic_depth=0.2)
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
    net = build(sizes=[3, 12], stage1_steps=10, gates="soft")
    gates = net.train_passes(0)[1].gates
    assert gates.sum().item() == pytest.approx(net.method.subnet_size(0), abs=1e-4)
    assert len(set(gates.tolist())) == 1  # all scores start equal


def test_too_short_stage_1_is_refused_instead_of_stopping_k_early():
    # Version 0.1 accepted this and k stopped at 38 of 48 units, never reaching 12.
    with pytest.raises(ValueError, match=r"stage1_steps \(10\) is shorter than the 36 values of k"):
        Supernet.from_config(dict(sizes=[12, 24, 36, 48], stage1_steps=10), num_units=48, units_per_layer=4)
    net = Supernet.from_config(dict(sizes=[12, 24, 36, 48], stage1_steps=36), num_units=48, units_per_layer=4)
    assert net.method.subnet_size(35) == 12

"""The stochastic-depth method: the supernet alone, sizes keep the first units."""

from supernet_nets import build


def test_stochastic_depth_method_trains_the_supernet_only_with_prefix_sizes():
    net = build(method="stochastic_depth", sizes=[4, 8, 12])
    (p,) = net.train_passes(net.start_train_step())
    assert (p.name, p.units, p.gates, p.drop_probs) == ("supernet", None, None, None)
    assert net.size_units(8) == tuple(range(1, 9))
    assert net.depth_layers(2) is None and net.method.stage_at(0) == 0

"""Stage 2 of the scored methods: frozen nested masks, the sandwich of subnets, ranked blocks."""

import torch

from supernet_nets import stage2


def test_stage_2_sandwich_largest_smallest_and_one_medium():
    net = stage2()
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
    net = stage2()
    before = net.train_passes(10)[1].units
    with torch.no_grad():
        net.scores.neg_()
    assert net.train_passes(10)[1].units == before
    assert net.size_units(3) == before


def test_medium_subnet_drawn_uniformly_and_only_from_the_step():
    net = stage2()
    draws = []
    for t in range(400):
        torch.manual_seed(t * 7)  # the global RNG must not matter
        draws.append(net.method.medium_size(t))
    assert set(draws) == {6, 9} and 150 < draws.count(6) < 250
    other = stage2()
    assert [other.method.medium_size(t) for t in range(400)] == draws  # same seed, same draws
    assert [stage2(seed=1).method.medium_size(t) for t in range(400)] != draws


def test_two_sizes_have_no_medium():
    net = stage2(sizes=[4, 12])
    assert [p.name for p in net.train_passes(5)] == ["supernet", "size4"]


def test_depth_layers_rank_blocks_by_summed_scores():
    net = stage2()
    # block sums: [5+1+9+3, 7+0+11+2, 8+4+10+6] = [18, 20, 28]
    assert net.depth_layers(1) == (3,)
    assert net.depth_layers(2) == (2, 3)

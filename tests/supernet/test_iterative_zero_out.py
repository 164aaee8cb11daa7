"""Iterative-Zero-Out: iterations, resets that keep the order, passes and the sparsity loss."""

import pytest
import torch

from espnet_layerprune.supernet import RESET_ORDER_SPAN
from supernet_nets import build, run


def test_zero_out_counts_default_from_sizes_and_iteration_length():
    net = build(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=7)
    assert net.config.zero_out_counts == (3, 6, 9)
    # iterations of 7 // 3 = 2 updates; the last one takes the remainder
    assert [net.method.iteration(t) for t in range(7)] == [0, 0, 1, 1, 2, 2, 2]
    assert [net.method.subnet_size(t) for t in (0, 2, 6)] == [9, 6, 3]


def test_zero_out_resets_the_lowest_scores_at_each_iteration_end():
    net = build(method="iterative_zero_out", sizes=[3, 12], zero_out_counts=[2, 5],
               stage1_steps=4)
    with torch.no_grad():
        net.scores.copy_(torch.arange(12.0))  # unit 1 lowest
    run(net, 2)  # updates 0, 1: iteration 0
    assert int(net.resets_done) == 0
    net.start_train_step()  # update 2: iteration 0 ended, 2 lowest -> -5
    assert net.scores[:2].tolist() == pytest.approx([-5.0, -5.0], abs=RESET_ORDER_SPAN)
    assert net.scores[0] < net.scores[1] and net.scores[2] == 2.0  # order kept
    assert int(net.resets_done) == 1 and not net.is_frozen
    run(net, 1)
    net.start_train_step()  # update 4: iteration 1 ended (5 lowest), then stage 2
    assert net.scores[:5].tolist() == pytest.approx([-5.0] * 5, abs=RESET_ORDER_SPAN)
    assert net.scores[5] == 5.0
    assert net.is_frozen and net.scores.requires_grad  # reset scores stay trainable


def test_zero_out_masks_follow_the_zero_out_order_not_the_unit_index():
    # Units zeroed first must leave the intermediate sizes first, although the last
    # reset puts all of them at about reset_value.
    net = build(method="iterative_zero_out", sizes=[3, 6, 9, 12], zero_out_counts=[3, 6, 9],
               stage1_steps=3)
    with torch.no_grad():
        net.scores.copy_(torch.arange(12.0))  # unit 1 lowest
    run(net, 4)  # resets after updates 0, 1, 2, then stage 2 freezes
    assert net.is_frozen
    assert [net.size_units(k) for k in (9, 6, 3)] == [
        tuple(range(4, 13)), tuple(range(7, 13)), (10, 11, 12)]


def test_zero_out_passes_and_sparsity_loss():
    net = build(method="iterative_zero_out", sizes=[3, 12], zero_out_counts=[4, 9],
               stage1_steps=10, stage1_stochastic_depth=0.1)
    supernet, subnet = net.train_passes(0)
    assert torch.allclose(subnet.gates, torch.sigmoid(net.scores))
    assert set(supernet.drop_probs) == {0.0}  # nothing zeroed out yet
    # target of iteration 0: 4 of 12 units off; all gates ~1 -> loss ~4/12
    assert net.method.sparsity_loss(net, 0).item() == pytest.approx(4 / 12, abs=1e-3)
    assert net.method.sparsity_loss(net, 10) is None  # stage 2
    run(net, 6)  # reset of iteration 0 done at update 5
    supernet, _ = net.train_passes(6)
    assert sum(p > 0 for p in supernet.drop_probs) == 4  # the 4 zeroed-out units

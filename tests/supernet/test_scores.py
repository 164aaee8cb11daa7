"""Specification of the learned-score math (Simple-Top-k, Iterative-Zero-Out)."""

import pytest
import torch

from espnet_layerprune.supernet.scores import (
    hard_top_k,
    nested_masks,
    relaxed_top_k,
    sigmoid_gates,
    straight_through_top_k,
    top_blocks,
    unit_ranking,
    zero_out_sparsity_loss,
)


def _scores(n=12, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("k", [1, 5, 11, 12])
def test_relaxed_top_k_sums_to_k(k):
    khot = relaxed_top_k(_scores(), k)
    assert khot.sum().item() == pytest.approx(k, abs=1e-4)
    assert khot.min() >= 0


def test_relaxed_top_k_favours_the_highest_scores():
    s = torch.tensor([5.0, -5.0, 4.0, -4.0, 3.0])
    for scale in (0.1, 1.0, 10.0):
        khot = relaxed_top_k(s * scale, 3)
        assert set(torch.topk(khot, 3).indices.tolist()) == {0, 2, 4}
        assert khot[[1, 3]].max() < khot[[0, 2, 4]].min()


def test_relaxed_top_k_of_equal_scores_is_uniform():
    khot = relaxed_top_k(torch.full((8,), 0.5), 2)
    assert torch.allclose(khot, torch.full((8,), 0.25))


def test_soft_gradient_reaches_every_score():
    s = _scores().requires_grad_()
    (relaxed_top_k(s, 4) * torch.arange(12.0)).sum().backward()
    assert (s.grad != 0).all()


def test_straight_through_forward_is_exactly_hard_top_k():
    s = _scores()
    gates = straight_through_top_k(s, 4)
    assert set(gates.tolist()) == {0.0, 1.0} and gates.sum() == 4
    assert torch.equal(gates, hard_top_k(relaxed_top_k(s, 4), 4))
    assert torch.equal(gates, hard_top_k(s, 4))  # the soft order follows the scores


def test_straight_through_backward_is_the_soft_gradient():
    weights = torch.arange(12.0)
    s1 = _scores().requires_grad_()
    (straight_through_top_k(s1, 4) * weights).sum().backward()
    s2 = _scores().requires_grad_()
    (relaxed_top_k(s2, 4) * weights).sum().backward()
    assert torch.allclose(s1.grad, s2.grad)
    assert (s1.grad != 0).all()  # unpicked units learn too


def test_sigmoid_gates_and_sparsity_loss():
    s = torch.tensor([10.0, 10.0, -10.0, -10.0])
    assert torch.allclose(sigmoid_gates(s), torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-4)
    assert zero_out_sparsity_loss(s, 2).item() == pytest.approx(0.0, abs=1e-4)
    assert zero_out_sparsity_loss(s, 0).item() == pytest.approx(0.5, abs=1e-4)
    assert zero_out_sparsity_loss(torch.full((4,), 10.0), 1).item() == pytest.approx(0.25, abs=1e-4)


def test_sparsity_loss_pushes_scores_down_when_too_few_units_are_off():
    s = torch.full((4,), 10.0, requires_grad=True)
    zero_out_sparsity_loss(s, 2).backward()
    assert (s.grad > 0).all()  # gradient descent lowers every score


def test_nested_masks_are_top_k_and_nested():
    s = _scores(16)
    masks = nested_masks(s, [4, 8, 12, 16])
    assert [len(m) for m in masks] == [4, 8, 12, 16]
    for small, large in zip(masks, masks[1:]):
        assert set(small) <= set(large)
    assert set(masks[0]) == {i + 1 for i in torch.topk(s, 4).indices.tolist()}
    assert masks[-1] == tuple(range(1, 17))
    assert all(list(m) == sorted(m) for m in masks)


def test_ties_are_broken_by_unit_index():
    s = torch.tensor([1.0, 2.0, 1.0, 2.0, 1.0])
    assert unit_ranking(s) == [1, 3, 0, 2, 4]
    assert nested_masks(s, [1, 3]) == [(2,), (1, 2, 4)]
    assert nested_masks(torch.zeros(6), [2, 4]) == [(1, 2), (1, 2, 3, 4)]
    assert hard_top_k(torch.zeros(5), 2).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_top_blocks_rank_by_summed_unit_scores():
    # 3 blocks of 2 units; sums 1, 5, 3
    s = torch.tensor([0.5, 0.5, 4.0, 1.0, 2.0, 1.0])
    assert top_blocks(s, 2, 1) == (2,)
    assert top_blocks(s, 2, 2) == (2, 3)
    assert top_blocks(torch.zeros(6), 2, 2) == (1, 2)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: relaxed_top_k(torch.zeros(4), 0), r"k must be in \[1, 4\]"),
        (lambda: straight_through_top_k(torch.zeros(4), 5), r"k must be in \[1, 4\]"),
        (lambda: nested_masks(torch.zeros(4), [2, 6]), r"size must be in \[1, 4\]"),
        (lambda: zero_out_sparsity_loss(torch.zeros(4), 5), r"n_zero must be in \[0, 4\]"),
        (lambda: top_blocks(torch.zeros(4), 2, 3), r"depth must be in \[1, 2\]"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()

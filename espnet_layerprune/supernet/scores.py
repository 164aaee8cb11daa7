"""Learned unit scores: from one score vector to gates and nested masks.

Pure tensor functions (no ESPnet) used by the data-driven supernet
(:mod:`espnet_layerprune.supernet`, Xu et al., Interspeech 2024):

* :func:`relaxed_top_k`, :func:`straight_through_top_k`: the gates of the
  Simple-Top-k method (a differentiable k-hot vector);
* :func:`sigmoid_gates`, :func:`zero_out_sparsity_loss`: the gates and the extra
  loss of the Iterative-Zero-Out method;
* :func:`unit_ranking`, :func:`nested_masks`, :func:`top_blocks`: the hard masks
  of stage 2 and of decoding. Every size takes the top of the same ranking, so
  the masks are nested; ties go to the lower unit index.

Units are 0-based inside tensors and 1-based in returned masks, like the rest
of the package.
"""

from typing import List, Optional, Sequence, Tuple

import torch


def _check_k(k: int, num_units: int, option: str = "k") -> None:
    if not 1 <= k <= num_units:
        raise ValueError(f"{option} must be in [1, {num_units}], got {k}")


def relaxed_top_k(
    scores: torch.Tensor, k: int, eps: Optional[float] = None
) -> torch.Tensor:
    """Soft k-hot vector of the top-k scores (continuous relaxation).

    Repeats ``k`` times: ``s <- s + log(max(1 - p, eps)); p = softmax(s);
    khot += p``, so each round picks (softly) one unit not yet picked.

    Args:
        scores: ``(U,)`` scores.
        k: Number of units to pick, in ``[1, U]``.
        eps: Floor inside the log (default: the smallest normal number of the
            scores' dtype), so that a unit already picked gets a score of about
            ``log(eps)`` instead of ``-inf``.

    Returns:
        ``(U,)`` non-negative values summing to ``k``, differentiable in
        ``scores``. Close to 0/1 when the scores are far apart; when they are
        close, a value can exceed 1 (the relaxation is soft).
    """
    _check_k(k, scores.numel())
    if eps is None:
        eps = torch.finfo(scores.dtype).tiny
    khot = torch.zeros_like(scores)
    p = torch.zeros_like(scores)
    s = scores
    for _ in range(k):
        s = s + torch.log(torch.clamp(1.0 - p, min=eps))
        p = torch.softmax(s, dim=-1)
        khot = khot + p
    return khot


def unit_ranking(scores: torch.Tensor) -> List[int]:
    """0-based unit indices from the highest score to the lowest.

    Ties are broken by unit index (lower first), so the ranking, and every
    mask derived from it, is deterministic.
    """
    order = torch.sort(scores.detach().flatten().cpu(), descending=True, stable=True)
    return order.indices.tolist()


def hard_top_k(scores: torch.Tensor, k: int) -> torch.Tensor:
    """``(U,)`` 0/1 tensor with ones at the top-k units (ties: lower index)."""
    _check_k(k, scores.numel())
    hard = torch.zeros_like(scores)
    idx = torch.tensor(unit_ranking(scores)[:k], device=scores.device)
    return hard.index_fill(0, idx, 1.0)


class _StraightThrough(torch.autograd.Function):
    """Forward: the hard value, exactly; backward: the gradient of the soft one."""

    @staticmethod
    def forward(ctx, hard, soft):
        return hard.clone()

    @staticmethod
    def backward(ctx, grad):
        return None, grad


def straight_through_top_k(
    scores: torch.Tensor, k: int, eps: Optional[float] = None
) -> torch.Tensor:
    """Hard k-hot gates with the gradient of :func:`relaxed_top_k`.

    The forward value is exactly 0/1 (the top-k of the soft k-hot vector), so
    the gated subnet is the k-unit subnet that decoding runs; the backward pass
    uses the soft k-hot vector, so every score, picked or not, gets a gradient.
    """
    soft = relaxed_top_k(scores, k, eps)
    return _StraightThrough.apply(hard_top_k(soft.detach(), k), soft)


def sigmoid_gates(scores: torch.Tensor) -> torch.Tensor:
    """Iterative-Zero-Out gates: ``sigmoid(s)`` for each unit."""
    return torch.sigmoid(scores)


def zero_out_sparsity_loss(
    scores: torch.Tensor, n_zero: int, num_units: Optional[int] = None
) -> torch.Tensor:
    """``| (U - sum_j sigmoid(s_j)) / U - n / U |``.

    Zero when the gates "switch off" exactly ``n_zero`` units' worth of mass.

    Args:
        scores: ``(U,)`` scores.
        n_zero: Units that should be zeroed out (cumulative target), ``[0, U]``.
        num_units: ``U`` (default: ``scores.numel()``).
    """
    U = scores.numel() if num_units is None else num_units
    if not 0 <= n_zero <= U:
        raise ValueError(f"n_zero must be in [0, {U}], got {n_zero}")
    return torch.abs((U - sigmoid_gates(scores).sum()) / U - n_zero / U)


def nested_masks(scores: torch.Tensor, sizes: Sequence[int]) -> List[Tuple[int, ...]]:
    """Kept 1-based units for each size: the top ``size`` units of ``scores``.

    All sizes read the same ranking, so a smaller size's units are a subset of
    a larger size's (nested by construction). Ties go to the lower unit index.
    """
    ranking = unit_ranking(scores)
    masks = []
    for size in sizes:
        _check_k(size, len(ranking), "size")
        masks.append(tuple(sorted(u + 1 for u in ranking[:size])))
    return masks


def top_blocks(
    scores: torch.Tensor, units_per_layer: int, depth: int
) -> Tuple[int, ...]:
    """The ``depth`` 1-based blocks with the largest sum of their units' scores.

    Ties go to the lower block index. Returned in increasing order (blocks run
    in their original order).
    """
    blocks = scores.detach().reshape(-1, units_per_layer).sum(dim=1)
    _check_k(depth, blocks.numel(), "depth")
    return tuple(sorted(b + 1 for b in unit_ranking(blocks)[:depth]))

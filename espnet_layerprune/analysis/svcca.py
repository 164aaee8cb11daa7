"""SVCCA: how similar two layers' representations are (Raghu et al., 2017).

Activations are ``(frames, neurons)`` arrays over the same frames (the layout
of an encoder output ``(B, T, D)`` with its valid frames stacked). For each
input: mean-centre every neuron, keep the top singular directions explaining
``variance`` of the total variance (SV step), then compute the canonical
correlations of the two reduced subspaces (CCA step) from the singular values of
``Q_x^T Q_y``, where ``Q`` is an orthonormal basis from a QR decomposition. No
covariance matrix is inverted, so nearly collinear neurons are harmless.

Examples:
    >>> x = np.random.randn(2000, 16)
    >>> round(svcca(x, x @ np.random.randn(16, 16), variance=1.0), 6)
    1.0

Invariances: CCA is invariant to any invertible linear transform of either
input, so ``svcca(x, y, variance=1.0)`` is too. The SV step (``variance < 1``)
ranks directions by variance, which only orthogonal transforms and scaling
preserve: with the default 0.99 the result is invariant to rotations,
reflections, scaling and offsets, as in the original SVCCA.
"""

import warnings
from typing import List, Sequence

import numpy as np

#: Frames per neuron below which canonical correlations are biased upwards.
DEFAULT_MIN_FRAMES_PER_NEURON = 10


class SVCCAFramesWarning(UserWarning):
    """Too few frames for reliable canonical correlations."""


def _check_activations(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a (frames, neurons) array, got shape {x.shape}")
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(
            f"{name} needs at least 2 frames and 1 neuron, got shape {x.shape}"
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{name} has NaN or infinite values")
    return x


def _check_variance(variance: float) -> float:
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    return float(variance)


def warn_if_few_frames(
    frames: int, neurons: int, min_ratio: float = DEFAULT_MIN_FRAMES_PER_NEURON
) -> bool:
    """Warn when ``frames < min_ratio * neurons``; return whether it warned."""
    needed = int(np.ceil(min_ratio * neurons))
    if frames >= needed:
        return False
    message = (
        f"SVCCA on {frames} frames of {neurons} neurons: canonical correlations "
        f"are biased towards 1 with so few frames; use at least {needed} frames "
        f"({min_ratio:g}x the neurons), e.g. more dev utterances (--max_utts)"
    )
    # CLIs route warnings into the log with logging.captureWarnings(True).
    warnings.warn(message, SVCCAFramesWarning, stacklevel=3)
    return True


def svd_subspace(x, variance: float = 0.99, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis ``(frames, k)`` of the centred activations' top directions.

    Args:
        x: ``(frames, neurons)`` activations.
        variance: Keep the fewest singular directions whose squared singular
            values reach this fraction of the total (``1.0`` keeps every
            direction that is not numerically zero).
        rtol: Directions with a singular value below ``rtol`` times the largest
            are numerically zero and always dropped.

    Raises:
        ValueError: On a bad shape or ``variance``, or activations without variance.
    """
    x = _check_activations(x, "activations")
    variance = _check_variance(variance)
    x = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    if s.size == 0 or s[0] <= 0.0:
        raise ValueError("activations are constant over frames (no variance to compare)")
    rank = int(np.sum(s > rtol * s[0]))
    energy = np.cumsum(s[:rank] ** 2) / np.sum(s[:rank] ** 2)
    k = rank if variance >= 1.0 else int(np.searchsorted(energy, variance - 1e-12) + 1)
    # QR of the reduced activations: an orthonormal basis of their span.
    q, _ = np.linalg.qr(u[:, :k] * s[:k])
    return q


def correlations_of_subspaces(qx: np.ndarray, qy: np.ndarray) -> np.ndarray:
    """Canonical correlations of two orthonormal bases (descending, in [0, 1])."""
    if qx.shape[0] != qy.shape[0]:
        raise ValueError(
            f"activations must cover the same frames, got {qx.shape[0]} and {qy.shape[0]}"
        )
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return np.clip(rho, 0.0, 1.0)


def canonical_correlations(
    x,
    y,
    variance: float = 0.99,
    min_frames_per_neuron: float = DEFAULT_MIN_FRAMES_PER_NEURON,
) -> np.ndarray:
    """SVCCA canonical correlations of two activation sets, descending.

    Args:
        x: ``(frames, neurons_x)`` activations.
        y: ``(frames, neurons_y)`` activations over the same frames.
        variance: Fraction of variance kept by the SV step, in ``(0, 1]``.
        min_frames_per_neuron: Warn when there are fewer frames than this many
            times the larger number of neurons.

    Returns:
        ``min(k_x, k_y)`` correlations, where ``k`` are the directions kept.
    """
    x = _check_activations(x, "x")
    y = _check_activations(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must cover the same frames, got {x.shape[0]} and {y.shape[0]}"
        )
    warn_if_few_frames(x.shape[0], max(x.shape[1], y.shape[1]), min_frames_per_neuron)
    return correlations_of_subspaces(svd_subspace(x, variance), svd_subspace(y, variance))


def svcca(
    x,
    y,
    variance: float = 0.99,
    min_frames_per_neuron: float = DEFAULT_MIN_FRAMES_PER_NEURON,
) -> float:
    """Mean SVCCA canonical correlation of two activation sets (1.0 = same subspace).

    See :func:`canonical_correlations` for the arguments.
    """
    return float(np.mean(canonical_correlations(x, y, variance, min_frames_per_neuron)))


def similarity_matrix(
    activations: Sequence,
    variance: float = 0.99,
    min_frames_per_neuron: float = DEFAULT_MIN_FRAMES_PER_NEURON,
) -> np.ndarray:
    """Symmetric ``(L, L)`` matrix of :func:`svcca` between all pairs of layers.

    Each layer's SVD and QR are computed once, so the cost is ``L`` SVDs of the
    activations plus ``L^2`` small SVDs.

    Args:
        activations: ``L`` arrays ``(frames, neurons)`` over the same frames.
        variance: Fraction of variance kept by the SV step.
        min_frames_per_neuron: Warn (once) below this many frames per neuron.
    """
    if len(activations) == 0:
        raise ValueError("similarity_matrix needs at least one activation array")
    arrays: List[np.ndarray] = [
        _check_activations(a, f"activations[{i}]") for i, a in enumerate(activations)
    ]
    frames = {a.shape[0] for a in arrays}
    if len(frames) != 1:
        raise ValueError(f"all activations must cover the same frames, got {sorted(frames)}")
    warn_if_few_frames(
        arrays[0].shape[0], max(a.shape[1] for a in arrays), min_frames_per_neuron
    )
    bases = [svd_subspace(a, variance) for a in arrays]
    n = len(bases)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = float(np.mean(correlations_of_subspaces(bases[i], bases[j])))
    return out

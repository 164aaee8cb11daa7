"""SVCCA agrees with the textbook formula, has CCA's invariances, and warns on too few frames."""

import warnings

import numpy as np
import pytest
import scipy.linalg

from espnet_layerprune.analysis.svcca import (
    SVCCAFramesWarning,
    canonical_correlations,
    similarity_matrix,
    svcca,
)


def _pair(rng, frames=3000, dx=12, dy=9, shared=5):
    """Two activation sets sharing a few latent directions, plus independent noise."""
    z = rng.standard_normal((frames, shared))
    x = z @ rng.standard_normal((shared, dx)) + 0.7 * rng.standard_normal((frames, dx))
    y = z @ rng.standard_normal((shared, dy)) + 0.7 * rng.standard_normal((frames, dy))
    return x + 3.0, y - 1.0  # offsets: mean-centring must remove them


def _direct_cca(x, y):
    """Canonical correlations: singular values of Sxx^-1/2 Sxy Syy^-1/2 (inverses, for reference)."""
    x, y = x - x.mean(0), y - y.mean(0)
    sxx, syy, sxy = x.T @ x, y.T @ y, x.T @ y
    wx = scipy.linalg.inv(scipy.linalg.sqrtm(sxx)).real
    wy = scipy.linalg.inv(scipy.linalg.sqrtm(syy)).real
    return np.linalg.svd(wx @ sxy @ wy, compute_uv=False)


def _top_pca(x, variance):
    """Projection on the top principal directions explaining ``variance`` (via eigh)."""
    x = x - x.mean(0)
    vals, vecs = np.linalg.eigh(x.T @ x)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    k = int(np.searchsorted(np.cumsum(vals) / vals.sum(), variance) + 1)
    return x @ vecs[:, :k]


def test_agrees_with_the_direct_formula_without_truncation():
    x, y = _pair(np.random.default_rng(0))
    ours = canonical_correlations(x, y, variance=1.0)
    np.testing.assert_allclose(ours, _direct_cca(x, y), atol=1e-8)


def test_agrees_with_pca_then_direct_formula_at_99_percent():
    rng = np.random.default_rng(1)
    x, y = _pair(rng, dx=20, dy=16)
    x[:, :10] *= 0.02  # low-variance neurons that the 99% cut removes
    ours = canonical_correlations(x, y, variance=0.99)
    reference = _direct_cca(_top_pca(x, 0.99), _top_pca(y, 0.99))
    assert ours.shape == reference.shape and ours.size < 16
    np.testing.assert_allclose(ours, reference, atol=1e-8)
    assert svcca(x, y) == pytest.approx(reference.mean(), abs=1e-8)


def test_invariant_to_invertible_linear_transforms_of_either_input():
    rng = np.random.default_rng(2)
    x, y = _pair(rng)
    a = rng.standard_normal((12, 12)) + 3 * np.eye(12)
    b = rng.standard_normal((9, 9)) + 3 * np.eye(9)
    assert np.linalg.cond(a) < 1e3 and np.linalg.cond(b) < 1e3
    base = svcca(x, y, variance=1.0)
    assert svcca(x @ a, y, variance=1.0) == pytest.approx(base, abs=1e-9)
    assert svcca(x, y @ b, variance=1.0) == pytest.approx(base, abs=1e-9)
    assert svcca(x @ a + 5.0, y @ b - 2.0, variance=1.0) == pytest.approx(base, abs=1e-9)


def test_with_the_variance_cut_invariant_to_rotations_and_scaling():
    rng = np.random.default_rng(3)
    x, y = _pair(rng)
    qx = np.linalg.qr(rng.standard_normal((12, 12)))[0]
    qy = np.linalg.qr(rng.standard_normal((9, 9)))[0]
    base = svcca(x, y)
    assert svcca(7.0 * x @ qx, y, variance=0.99) == pytest.approx(base, abs=1e-9)
    assert svcca(x, 0.1 * y @ qy + 4.0, variance=0.99) == pytest.approx(base, abs=1e-9)


def test_identical_inputs_give_one():
    x = np.random.default_rng(4).standard_normal((1000, 16))
    assert svcca(x, x) == pytest.approx(1.0, abs=1e-10)
    assert svcca(x, 2 * x + 1) == pytest.approx(1.0, abs=1e-10)


def test_independent_noise_gives_low_similarity():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((5000, 10)), rng.standard_normal((5000, 10))
    assert svcca(x, y) < 0.1


def test_collinear_neurons_are_harmless():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2000, 6))
    x = np.concatenate([x, x[:, :3] * 2.0], axis=1)  # rank 6 in 9 neurons
    assert svcca(x, x[:, :6], variance=1.0) == pytest.approx(1.0, abs=1e-9)


def test_warns_with_too_few_frames_and_says_how_many_are_needed():
    x = np.random.default_rng(7).standard_normal((100, 32))
    with pytest.warns(SVCCAFramesWarning, match=r"100 frames of 32 neurons.*at least 320 frames"):
        svcca(x, x[:, :16])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svcca(x[:, :8], x[:, :10])  # 100 >= 10 * 10: no warning


def test_bad_input_gives_clear_errors():
    x = np.random.default_rng(8).standard_normal((100, 4))
    with pytest.raises(ValueError, match="same frames"):
        svcca(x, x[:50])
    with pytest.raises(ValueError, match=r"variance must be in \(0, 1\]"):
        svcca(x, x, variance=1.5)
    with pytest.raises(ValueError, match="frames, neurons"):
        svcca(x[:, 0], x)
    with pytest.raises(ValueError, match="no variance"):
        svcca(np.ones((100, 4)), x)


def test_similarity_matrix_is_symmetric_with_unit_diagonal():
    rng = np.random.default_rng(9)
    x, y = _pair(rng)
    acts = [x, y, x @ rng.standard_normal((12, 12)) + rng.standard_normal((3000, 12))]
    m = similarity_matrix(acts)
    assert m.shape == (3, 3)
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1.0)
    assert m[0, 1] == pytest.approx(svcca(x, y), abs=1e-10)
    with pytest.raises(ValueError, match="same frames"):
        similarity_matrix([x, y[:10]])
    with pytest.raises(ValueError, match="at least one"):
        similarity_matrix([])

"""Stochastic depth / LayerDrop probabilities and one step's draws."""

import pytest
import torch

from espnet_layerprune.encoders.layer_drop import drop_probabilities, sample_scales


def test_constant_and_linear_schedules():
    assert drop_probabilities(0.2, 3) == [0.2, 0.2, 0.2]
    assert drop_probabilities(0.3, 3, "linear") == pytest.approx([0.1, 0.2, 0.3])


def test_explicit_list_per_layer():
    assert drop_probabilities([0.0, 0.5], 2) == [0.0, 0.5]


def test_stochastic_depth_scales_kept_units():
    g = torch.Generator().manual_seed(0)
    draws = [sample_scales([0.5] * 4, rescale=True, generator=g) for _ in range(200)]
    flat = [s for d in draws for s in d]
    assert set(flat) == {0.0, 2.0}
    assert 0.4 < flat.count(0.0) / len(flat) < 0.6


def test_layer_drop_does_not_rescale():
    g = torch.Generator().manual_seed(0)
    assert set(sample_scales([0.5] * 50, rescale=False, generator=g)) == {0.0, 1.0}


def test_zero_probability_never_skips():
    assert sample_scales([0.0] * 10, rescale=True) == [1.0] * 10


@pytest.mark.parametrize("rate", [1.0, -0.01, [0.1, 1.2, 0.0]])
def test_out_of_range(rate):
    with pytest.raises(ValueError, match=r"stochastic_depth_rate must be in \[0, 1\)"):
        drop_probabilities(rate, 3)

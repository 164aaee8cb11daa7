"""Confidence measures and the early-exit policy's checks."""

import math

import pytest
import torch

from espnet_layerprune.inference.early_exit import EarlyExit, ExitTracker, entropy_confidence, max_posterior
from espnet_layerprune.core.errors import ConfigError


def _logp(rows):
    return torch.tensor(rows, dtype=torch.float32).log()


def test_max_posterior_averages_the_non_blank_frames_only():
    logp = _logp([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.3, 0.6]])  # blank, a (0.7), b (0.6)
    assert max_posterior(logp, blank=0) == pytest.approx(0.65)
    all_blank = _logp([[0.9, 0.05, 0.05], [0.5, 0.25, 0.25]])
    assert max_posterior(all_blank, blank=0) == pytest.approx(0.7)  # then every frame counts


def test_entropy_confidence_is_one_when_certain_and_zero_when_uniform():
    assert entropy_confidence(_logp([[1 - 2e-7, 1e-7, 1e-7]])) == pytest.approx(1.0, abs=1e-4)
    assert entropy_confidence(_logp([[1 / 3] * 3, [1 / 3] * 3])) == pytest.approx(0.0, abs=1e-6)
    p = [0.5, 0.25, 0.25]
    h = -sum(x * math.log(x) for x in p)
    assert entropy_confidence(_logp([p])) == pytest.approx(1 - h / math.log(3), abs=1e-6)


@pytest.mark.parametrize("kwargs,message", [
    ({"threshold": 0.0}, r"--exit_threshold must be in \(0, 1\]"),
    ({"threshold": 1.5}, r"--exit_threshold must be in \(0, 1\]"),
    ({"threshold": float("nan")}, r"--exit_threshold must be in \(0, 1\]"),
    ({"threshold": 0.9, "measure": "margin"}, r"--exit_measure must be one of max_posterior, entropy"),
    ({"threshold": 0.9, "min_depth": 0}, r"--exit_min_depth must be an integer >= 1"),
])
def test_bad_policies_name_the_option_and_its_range(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        EarlyExit(**kwargs)


def test_a_model_without_intermediate_outputs_cannot_exit_early():
    with pytest.raises(ConfigError, match="interctc_layer_idx"):
        EarlyExit(0.9).check(num_layers=6, exits=[])
    with pytest.raises(ConfigError, match=r"--exit_min_depth must be in \[1, 6\]"):
        EarlyExit(0.9, min_depth=7).check(num_layers=6, exits=[3])
    EarlyExit(0.9, min_depth=3).check(num_layers=6, exits=[2, 4])
    with pytest.raises(ConfigError, match="--exit_patience must be an integer >= 0"):
        EarlyExit(0.9, patience=-1)


def _says(token, p=0.9, frames=3, vocab=3):
    """(T, V) log-posteriors whose greedy hypothesis is ``[token]`` with posterior ``p``."""
    rows = [[1.0 - 1e-6 if v == 0 else 1e-6 / (vocab - 1) for v in range(vocab)] for _ in range(frames)]
    rows[1] = [p if v == token else (1 - p) / (vocab - 1) for v in range(vocab)]
    return _logp(rows)


def test_tracker_exits_at_the_first_candidate_layer_that_is_confident():
    tracker = ExitTracker(EarlyExit(0.8, min_depth=2), exits=[1, 2, 3, 4])
    assert not tracker.needs(1) and tracker.needs(2)
    assert not tracker.update(1, None)
    assert not tracker.update(2, _says(1, p=0.7))
    assert tracker.update(3, _says(1, p=0.85)) and tracker.layer == 3
    assert tracker.confidence == pytest.approx(0.85)


def test_patience_needs_the_same_hypothesis_over_the_previous_layers():
    tracker = ExitTracker(EarlyExit(0.5, min_depth=2, patience=1), exits=[1, 2, 3, 4, 5])
    assert tracker.needs(1)  # the layer before min_depth is read for the comparison
    assert not tracker.update(1, _says(1))
    assert not tracker.update(2, _says(2))  # confident, but changed
    assert tracker.update(3, _says(2))
    stubborn = ExitTracker(EarlyExit(0.95, patience=1), exits=[1, 2, 3])
    assert not stubborn.update(1, _says(1)) and not stubborn.update(2, _says(1))  # stable, not confident


@pytest.mark.parametrize("every", [0, -2, 1.5])
def test_exit_every_must_be_an_integer_of_at_least_one(every):
    with pytest.raises(ConfigError, match=rf"--exit_every must be an integer >= 1 .*got {every}"):
        EarlyExit(0.9, exit_every=every)


def test_exit_every_reads_every_kth_exit_layer_and_the_top():
    assert EarlyExit(0.9, exit_every=2).read_layers(12, range(1, 12)) == (2, 4, 6, 8, 10, 12)
    assert EarlyExit(0.9, exit_every=5).read_layers(12, range(1, 12)) == (5, 10, 12)
    # consistent with interctc_layer_idx: only layers with a CTC output are read
    assert EarlyExit(0.9, exit_every=2).read_layers(12, [3, 6, 9]) == (6, 12)
    # min_depth and patience count read layers: the one read layer before min_depth is read too
    assert EarlyExit(0.9, min_depth=7, patience=1, exit_every=2).read_layers(12, range(1, 12)) == (6, 8, 10, 12)
    with pytest.raises(ConfigError, match=r"--exit_every must be in \[1, 9\] .*\[3, 6, 9\].*got 4"):
        EarlyExit(0.9, exit_every=4).check(num_layers=12, exits=[3, 6, 9])
    EarlyExit(0.9, exit_every=3).check(num_layers=12, exits=[3, 6, 9])


def test_tracker_reads_only_the_read_layers_and_counts_them():
    tracker = ExitTracker(EarlyExit(0.8, exit_every=2), exits=[1, 2, 3, 4, 5, 6])
    assert [n for n in range(1, 7) if tracker.needs(n)] == [2, 4, 6]
    assert not tracker.update(1, _says(1, p=0.99))  # not read: no decision, no cost
    assert not tracker.update(2, _says(1, p=0.7))
    assert tracker.update(4, _says(1, p=0.9)) and tracker.layer == 4 and tracker.read_count == 2


def test_exit_summary_reports_frame_weighted_and_counted_compute():
    from espnet_layerprune.inference.early_exit import exit_summary
    from espnet_layerprune.inference.exit_cost import ExitCost

    cost = ExitCost(10.0, 0.0, 100.0, 0.0, dim=2, vocab=3)
    log = [{"layer": 1, "confidence": 0.9, "frames": 10, "reads": 1, "executed_layers": 1},
           {"layer": 3, "confidence": 0.9, "frames": 30, "reads": 3, "executed_layers": 3}]
    info = exit_summary(EarlyExit(0.8, exit_every=1), log, ["a", "b"], cost, num_layers=3)
    assert info["mean_exit_layer"] == 2.0 and info["frame_weighted_exit_layer"] == 2.5
    assert info["exit_every"] == 1 and set(info["utterances"]) == {"a", "b"}
    # (front end 400 + 100 + 900 layer FLOPs + 4 reads of 10 and 30 frames + output heads) / 4000 layer FLOPs
    head = 2 * 2 * 3 + 5 * 3
    assert info["counted_cost"] == pytest.approx((400 + 1000 + 9000 + head * (10 + 3 * 30) + head * 40) / 4000,
                                                 abs=1e-4)
    assert info["fixed_depth_cost"][3] == pytest.approx(3 + (400 + head * 40) / 4000, abs=1e-4)
    assert "plain mean over utterances" in info["cost_model"]["mean_exit_layer"]

"""The learned early-exit gate: features, fitting, files, and the tracker's decisions."""

import numpy as np
import pytest
import torch

from espnet_layerprune.inference.early_exit import EarlyExit, ExitTracker
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.inference.exit_gate import FEATURES, ExitGate, GateFeatures, gate_dataset


def _says(tokens, p=0.9, vocab=4):
    """(T, V) log-posteriors: blank frames around one frame per token with posterior ``p``."""
    rows = []
    for t in tokens:
        rows.append([0.97 if v == 0 else 0.01 for v in range(vocab)])
        rows.append([p if v == t else (1 - p) / (vocab - 1) for v in range(vocab)])
    rows.append([0.97 if v == 0 else 0.01 for v in range(vocab)])
    return torch.tensor(rows).log()


def test_features_follow_how_the_hypothesis_moves_between_layers():
    feats = GateFeatures(num_layers=4)
    first = dict(zip(FEATURES, feats.update(1, _says([1, 2], p=0.6), [1, 2])))
    assert first["change"] == 1.0 and first["change_before"] == 0.0 and first["depth_fraction"] == 0.25
    assert first["max_posterior"] == pytest.approx(0.6, abs=1e-5)
    assert first["blank_fraction"] == pytest.approx(3 / 5) and first["token_rate"] == pytest.approx(4.0)
    second = dict(zip(FEATURES, feats.update(2, _says([1, 3], p=0.8), [1, 3])))
    assert second["change"] == pytest.approx(0.5) and second["change_before"] == 1.0  # one of two tokens
    assert second["max_posterior_gain"] == pytest.approx(0.2, abs=1e-5)
    third = dict(zip(FEATURES, feats.update(3, _says([1, 3], p=0.8), [1, 3])))
    assert third["change"] == 0.0 and third["change_before"] == pytest.approx(0.5)


def test_fit_separates_a_learnable_target_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, len(FEATURES)))
    y = (X[:, 0] - X[:, 3] > 0).astype(float)  # confident and stable -> exit
    gate = ExitGate.fit(X, y, model_sha256="abc", info={"utterances": 40})
    accuracy = np.mean([(gate.probability(x) >= 0.5) == bool(t) for x, t in zip(X, y)])
    assert accuracy > 0.95
    assert gate.weights[0] > 0 > gate.weights[3]
    path = gate.save(tmp_path / "exit_gate.yaml")
    with pytest.raises(FileExistsError, match="--overwrite true"):
        gate.save(path)
    loaded = ExitGate.load(path)
    assert loaded.info == {"utterances": 40} and loaded.model_sha256 == "abc"
    assert loaded.probability(X[0]) == pytest.approx(gate.probability(X[0]), abs=1e-4)
    with pytest.raises(ValueError, match=f"X must be \\(n, {len(FEATURES)}\\)"):
        ExitGate.fit(X[:, :3], y)


def test_gate_files_must_match_this_version_and_this_checkpoint(tmp_path):
    model = tmp_path / "model.pth"
    model.write_bytes(b"weights")
    with pytest.raises(ConfigError, match="bin.calibrate"):
        ExitGate.find_for(model)  # none yet: says how to make one
    gate = ExitGate([0.0] * len(FEATURES), 0.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES), model_sha256="other")
    gate.save(tmp_path / "exit_gate.yaml")
    with pytest.raises(ConfigError, match="another checkpoint"):
        ExitGate.find_for(model)
    (tmp_path / "old.yaml").write_text("features: [max_posterior]\nweights: [1]\nbias: 0\nmean: [0]\nstd: [1]\n")
    with pytest.raises(ConfigError, match="not an exit gate of this version"):
        ExitGate.load(tmp_path / "old.yaml")
    with pytest.raises(ConfigError, match="--exit_measure learned needs the exit gate"):
        EarlyExit(0.5, "learned")


def test_tracker_reads_every_layer_and_exits_where_the_gate_is_sure_enough():
    # A gate that only looks at "change": exit once the hypothesis stops moving.
    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("change")] = -10.0
    gate = ExitGate(weights, 5.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES))
    tracker = ExitTracker(EarlyExit(0.9, "learned", min_depth=3, gate=gate), exits=[1, 2, 3, 4, 5])
    assert tracker.needs(1) and tracker.needs(2)  # features chain from the first layer
    assert not tracker.update(1, _says([1]))
    assert not tracker.update(2, _says([1]))  # stable, but below min_depth
    assert not tracker.update(3, _says([2]))  # moved
    assert tracker.update(4, _says([2])) and tracker.layer == 4
    assert tracker.confidence == pytest.approx(1 / (1 + np.exp(-5.0)))


def test_gate_dataset_marks_layers_no_worse_than_the_top():
    logps = [[_says([1]), _says([2]), _says([2])]]
    X, y = gate_dataset(logps, [[3, 1, 1]])
    assert X.shape == (3, len(FEATURES)) and y.tolist() == [0.0, 1.0, 1.0]


def test_gate_features_chain_over_the_read_layers_only():
    """Fitted over layers 2, 4, 6 (exit_every 2), a feature vector compares layer 4 with layer 2,
    exactly as the tracker does at decode time."""
    logps = [[_says([1]), _says([1, 2]), _says([1, 2])]]
    X, y = gate_dataset(logps, [[2, 0, 0]], depths=[2, 4, 6])
    row = dict(zip(FEATURES, X[1]))
    assert row["depth_fraction"] == pytest.approx(4 / 6) and row["change"] == pytest.approx(1.0)  # [1] -> [1, 2]
    assert y.tolist() == [0.0, 1.0, 1.0]
    tracker_feats = GateFeatures(6)
    for depth, logp in zip([2, 4, 6], logps[0]):
        assert np.allclose(tracker_feats.update(depth, logp), X[[2, 4, 6].index(depth)])
    with pytest.raises(ValueError, match="one log-posterior and one error count per layer read"):
        gate_dataset(logps, [[2, 0, 0]], depths=[1, 2, 3, 4, 5, 6])


def test_a_gate_serves_only_the_layers_it_was_fitted_on(tmp_path):
    zeros, ones = [0.0] * len(FEATURES), [1.0] * len(FEATURES)
    gate = ExitGate(zeros, 0.0, zeros, ones, layers=(2, 4, 6))
    EarlyExit(0.5, "learned", gate=gate, exit_every=2).check(num_layers=6, exits=[1, 2, 3, 4, 5])
    with pytest.raises(ConfigError, match=r"fitted on layers \[2, 4, 6\], but this decode reads layers "
                                          r"\[1, 2, 3, 4, 5, 6\]"):
        EarlyExit(0.5, "learned", gate=gate).check(num_layers=6, exits=[1, 2, 3, 4, 5])
    loaded = ExitGate.load(gate.save(tmp_path / "exit_gate.yaml"))
    assert loaded.layers == (2, 4, 6)
    # a gate that does not say (earlier versions) was fitted on every layer
    old = ExitGate(zeros, 0.0, zeros, ones)
    EarlyExit(0.5, "learned", gate=old).check(num_layers=6, exits=[1, 2, 3, 4, 5])
    with pytest.raises(ConfigError, match="--exit_every"):
        EarlyExit(0.5, "learned", gate=old).check(num_layers=6, exits=[2, 4])

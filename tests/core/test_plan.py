"""Prune plans: round trip, no silent overwrite, and the checkpoint they belong to."""

import pytest

from espnet_layerprune.core.plan import PLAN_FILENAME, PrunePlan


def _plan():
    return PrunePlan(num_layers=4, depths={2: {"layers": (1, 4), "dev_cer": 3.5}}, strategy="greedy")


def test_round_trip_and_no_silent_overwrite(tmp_path):
    path = _plan().save(tmp_path / PLAN_FILENAME)
    loaded = PrunePlan.load(path)
    assert loaded.layers_for_depth(2, 4) == (1, 4)
    assert loaded.depths[2]["dev_cer"] == 3.5 and loaded.strategy == "greedy"
    with pytest.raises(FileExistsError, match="--overwrite"):
        _plan().save(path)


def test_plan_is_found_next_to_the_checkpoint_it_was_made_for(tmp_path):
    model = tmp_path / "valid.loss.ave.pth"
    model.write_bytes(b"weights")
    _plan().for_model(model).save(tmp_path / PLAN_FILENAME)
    plan = PrunePlan.find_for(model)
    assert plan.model_file == model.name and len(plan.model_sha256) == 64
    assert PrunePlan.find_for(tmp_path / "sub" / "model.pth") is None


def test_plan_made_for_another_checkpoint_is_refused(tmp_path):
    made_for = tmp_path / "valid.loss.ave.pth"
    made_for.write_bytes(b"weights")
    _plan().for_model(made_for).save(tmp_path / PLAN_FILENAME)
    other = tmp_path / "valid.loss.best.pth"
    other.write_bytes(b"other weights")
    with pytest.raises(ValueError, match="was made for valid.loss.ave.pth.*--use_prune_plan false"):
        PrunePlan.find_for(other)


def test_plan_without_a_recorded_checkpoint_is_used_with_a_warning(tmp_path, caplog):
    _plan().save(tmp_path / PLAN_FILENAME)
    model = tmp_path / "m.pth"
    model.write_bytes(b"x")
    assert PrunePlan.find_for(model).num_layers == 4
    assert "does not record which checkpoint" in caplog.text

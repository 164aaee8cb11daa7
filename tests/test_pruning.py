"""Which layers a request keeps: depth, explicit list, plan, and their errors."""

import pytest

from espnet_layerprune.plan import PrunePlan
from espnet_layerprune.pruning import (
    check_depth,
    parse_layer_list,
    resolve_kept_layers,
    units_of_layers,
)


def test_default_depth_keeps_the_first_layers():
    layers, source = resolve_kept_layers(12, depth=4)
    assert layers == (1, 2, 3, 4) and "first N" in source


def test_no_request_keeps_everything():
    assert resolve_kept_layers(3)[0] == (1, 2, 3)


def test_explicit_layers_are_kept_as_given():
    assert resolve_kept_layers(12, layers=[1, 5, 12])[0] == (1, 5, 12)


def test_plan_decides_when_present():
    plan = PrunePlan(num_layers=6, depths={3: {"layers": [1, 4, 6]}}, source="p.yaml")
    layers, source = resolve_kept_layers(6, depth=3, plan=plan)
    assert layers == (1, 4, 6) and "p.yaml" in source


def test_plan_for_another_model_is_refused():
    plan = PrunePlan(num_layers=12, depths={3: {"layers": [1, 2, 3]}}, source="p.yaml")
    with pytest.raises(ValueError, match="made for a 12-layer encoder but this model has 6"):
        resolve_kept_layers(6, depth=3, plan=plan)


def test_depth_missing_from_plan_is_refused():
    plan = PrunePlan(num_layers=6, depths={3: {"layers": [1, 2, 3]}}, source="p.yaml")
    with pytest.raises(ValueError, match=r"--prune_depth 4 is not in the prune plan p.yaml \(it has depths \[3\]\)"):
        resolve_kept_layers(6, depth=4, plan=plan)


@pytest.mark.parametrize("depth", [0, -1, 13, 2.5, "x", True])
def test_bad_depths(depth):
    with pytest.raises(ValueError, match=r"--prune_depth must be"):
        check_depth(depth, 12)


def test_both_requests_at_once():
    with pytest.raises(ValueError, match="not both"):
        resolve_kept_layers(12, depth=2, layers=[1, 2])


def test_layer_list_parsing():
    assert parse_layer_list("1, 3,5") == [1, 3, 5]
    with pytest.raises(ValueError, match="comma-separated integers"):
        parse_layer_list("1;3")


def test_units_of_layers():
    assert units_of_layers([1, 3], 4) == (1, 2, 3, 4, 9, 10, 11, 12)


def test_plan_round_trip_and_no_silent_overwrite(tmp_path):
    plan = PrunePlan(num_layers=4, depths={2: {"layers": (1, 4), "dev_cer": 3.5}}, strategy="greedy")
    path = plan.save(tmp_path / "prune_plan.yaml")
    loaded = PrunePlan.load(path)
    assert loaded.layers_for_depth(2, 4) == (1, 4)
    assert loaded.depths[2]["dev_cer"] == 3.5 and loaded.strategy == "greedy"
    with pytest.raises(FileExistsError, match="--overwrite"):
        plan.save(path)
    assert PrunePlan.find_next_to(tmp_path / "model.pth").num_layers == 4
    assert PrunePlan.find_next_to(tmp_path / "sub" / "model.pth") is None

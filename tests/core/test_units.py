"""Which units a request keeps: the precedence of resolve(), and the checks."""

import pytest

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import (
    PruneRequest,
    check_depth,
    layers_of_units,
    parse_layer_list,
    resolve,
    units_of_layers,
)


class Masks:
    """Learned masks as a data-driven supernet answers them."""

    sizes = (4, 8, 12)

    def size_units(self, size):
        return tuple(range(12 - size + 1, 13))  # the last units score highest

    def depth_layers(self, depth):
        return tuple(range(6 - depth + 1, 7))


def test_default_depth_keeps_the_first_layers():
    kept = resolve(PruneRequest(depth=4), 12)
    assert kept.layers == (1, 2, 3, 4) and kept.units == (1, 2, 3, 4)
    assert "first N" in kept.source


def test_no_request_keeps_everything():
    kept = resolve(PruneRequest(), 3, units_per_layer=2)
    assert kept.layers == (1, 2, 3) and kept.units == tuple(range(1, 7))
    assert kept.source == "full depth"


def test_explicit_layers_beat_plan_and_masks():
    plan = PrunePlan(num_layers=6, depths={3: {"layers": [1, 4, 6]}}, source="p.yaml")
    kept = resolve(PruneRequest(layers=(1, 5)), 6, 2, masks=Masks(), plan=plan)
    assert kept.layers == (1, 5) and kept.units == (1, 2, 9, 10)


def test_plan_beats_learned_masks_for_a_depth():
    plan = PrunePlan(num_layers=6, depths={3: {"layers": [1, 4, 6]}}, source="p.yaml")
    kept = resolve(PruneRequest(depth=3), 6, 2, masks=Masks(), plan=plan)
    assert kept.layers == (1, 4, 6) and "p.yaml" in kept.source


def test_learned_masks_beat_the_default_rule(caplog):
    kept = resolve(PruneRequest(depth=2), 6, 2, masks=Masks())
    assert kept.layers == (5, 6) and kept.source == "supernet learned scores"
    assert "not trained together" in caplog.text
    assert resolve(PruneRequest(size=4), 6, 2, masks=Masks()).units == (9, 10, 11, 12)


def test_a_size_needs_masks_or_a_plan_with_sizes():
    with pytest.raises(ConfigError, match="--prune_size 4: this model has no learned unit masks"):
        resolve(PruneRequest(size=4), 6, 2)
    plan = PrunePlan(num_layers=6, sizes={4: {"units": [1, 2, 3, 5]}}, source="p.yaml")
    assert resolve(PruneRequest(size=4), 6, 2, masks=Masks(), plan=plan).units == (1, 2, 3, 5)


def test_plan_for_another_model_is_refused():
    plan = PrunePlan(num_layers=12, depths={3: {"layers": [1, 2, 3]}}, source="p.yaml")
    with pytest.raises(ValueError, match="made for a 12-layer encoder but this model has 6"):
        resolve(PruneRequest(depth=3), 6, plan=plan)


def test_depth_missing_from_plan_is_refused_but_full_depth_is_not():
    plan = PrunePlan(num_layers=6, depths={3: {"layers": [1, 2, 3]}}, source="p.yaml")
    with pytest.raises(ValueError, match=r"--prune_depth 4 is not in the prune plan p.yaml \(it has depths \[3\]\).*--use_prune_plan false"):
        resolve(PruneRequest(depth=4), 6, plan=plan)
    assert resolve(PruneRequest(depth=6), 6, plan=plan).layers == tuple(range(1, 7))


@pytest.mark.parametrize("depth", [0, -1, 13, 2.5, "x", True])
def test_bad_depths(depth):
    with pytest.raises(ValueError, match=r"--prune_depth must be"):
        check_depth(depth, 12)


def test_two_requests_at_once_are_refused_with_the_shared_wording():
    with pytest.raises(ConfigError, match="give only one of --prune_depth, --prune_layers"):
        PruneRequest(depth=2, layers=(1, 2))


def test_layer_list_parsing_with_ranges():
    assert parse_layer_list("1, 3,5") == [1, 3, 5]
    assert parse_layer_list("1-6") == [1, 2, 3, 4, 5, 6]
    assert parse_layer_list("1-3,7") == [1, 2, 3, 7]
    for bad in ("1;3", "6-1", "a-b"):
        with pytest.raises(ValueError, match="comma-separated integers or ranges"):
            parse_layer_list(bad)


def test_units_and_layers_convert_both_ways():
    assert units_of_layers([1, 3], 4) == (1, 2, 3, 4, 9, 10, 11, 12)
    assert layers_of_units((2, 9, 12), 4) == (1, 3)

"""--prune_budget: parsing, and choosing the most accurate calibrated plan that fits."""

import pytest

from espnet_layerprune.inference.budget import Calibration, parse_budget
from espnet_layerprune.core.errors import ConfigError

PLANS = [
    {"request": {"prune_depth": 2}, "dev_wer": 30.0, "params": 1.0e6, "flops": 0.5e9, "rtf": 0.004},
    {"request": {"prune_depth": 4}, "dev_wer": 12.0, "params": 2.0e6, "flops": 1.0e9, "rtf": 0.008},
    {"request": {"prune_size": 10}, "dev_wer": 11.0, "params": 2.4e6, "flops": 1.1e9, "rtf": 0.009},
    {"request": {"prune_depth": 6}, "dev_wer": 10.0, "params": 3.0e6, "flops": 1.5e9, "rtf": 0.012},
]


def test_budgets_parse_with_suffixes_and_several_keys():
    assert parse_budget("params=2.5M") == {"params": 2.5e6}
    assert parse_budget("flops=1.5G, rtf=0.01") == {"flops": 1.5e9, "rtf": 0.01}
    assert parse_budget("params=800k") == {"params": 8e5}


@pytest.mark.parametrize("text,message", [
    ("latency=3", r"keys must be params, flops, rtf, got 'latency'"),
    ("param=2M", r"got 'param' \(did you mean 'params'\?\)"),
    ("params=-1M", r"params must be a positive number"),
    ("rtf=0", r"rtf must be a positive number"),
    ("params=lots", r"params must be a positive number"),
    ("params", r"entries are KEY=VALUE"),
    ("params=1M,params=2M", r"gives params twice"),
    ("", r"--prune_budget must be KEY=VALUE"),
])
def test_bad_budgets_name_the_option_and_the_allowed_values(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_budget(text)


def test_the_most_accurate_plan_within_every_limit_is_chosen():
    table = Calibration(PLANS)
    assert table.choose({"params": 2.5e6})["request"] == {"prune_size": 10}
    assert table.choose({"params": 2.5e6, "rtf": 0.0085})["request"] == {"prune_depth": 4}
    assert table.choose({"flops": 1e12})["request"] == {"prune_depth": 6}


def test_an_impossible_budget_says_what_the_smallest_plan_costs():
    with pytest.raises(ConfigError, match=r"no calibrated plan fits --prune_budget params=500K: the smallest "
                                          r"params is 1M"):
        Calibration(PLANS).choose({"params": 5e5})


def test_a_table_is_tied_to_its_checkpoint(tmp_path):
    model = tmp_path / "model.pth"
    model.write_bytes(b"weights")
    with pytest.raises(ConfigError, match="bin.calibrate"):
        Calibration.find_for(model)
    Calibration(PLANS, "model.pth", "0" * 64).save(tmp_path / "calibration.yaml")
    with pytest.raises(ConfigError, match="calibrated for model.pth, not for"):
        Calibration.find_for(model)
    with pytest.raises(FileExistsError, match="--overwrite true"):
        Calibration(PLANS).save(tmp_path / "calibration.yaml")

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


NOISY = [  # dev WER differences of 0.2 points or less are noise: the cheapest of those wins
    {"request": {"prune_depth": 8}, "kept_layers": list(range(1, 9)), "dev_wer": 12.05, "params": 5.5e6,
     "flops": 0.38e9, "rtf": 0.015},
    {"request": {"prune_depth": 10}, "kept_layers": list(range(1, 11)), "dev_wer": 10.83, "params": 6.6e6,
     "flops": 0.42e9, "rtf": 0.018},
    {"request": {"prune_depth": 11}, "kept_layers": list(range(1, 12)), "dev_wer": 11.18, "params": 7.2e6,
     "flops": 0.44e9, "rtf": 0.018},
    {"request": {"prune_depth": 12}, "kept_layers": list(range(1, 13)), "dev_wer": 10.66, "params": 7.8e6,
     "flops": 0.47e9, "rtf": 0.020},
]


def test_plans_within_the_margin_of_the_best_are_tied_and_the_cheapest_wins(caplog):
    table = Calibration(NOISY)
    with caplog.at_level("INFO"):
        assert table.choose({"params": 8e6})["request"] == {"prune_depth": 10}  # 10.83 vs 10.66: tied
    assert ("--prune_budget params=8M: chose --prune_depth 10, kept layers 1,2,3,4,5,6,7,8,9,10 (dev WER 10.83%"
            in caplog.text)
    assert ("the cheapest of 2 plans within 0.2 WER points of the best dev WER, 10.66% (tied: --prune_depth 12 "
            "at 10.66%); 4 of 4 calibrated plans fit") in caplog.text
    assert table.choose({"params": 8e6}, margin=0)["request"] == {"prune_depth": 12}
    assert table.choose({"params": 8e6}, margin=1.4)["request"] == {"prune_depth": 8}  # 12.05 <= 12.06
    assert table.choose({"params": 7e6})["request"] == {"prune_depth": 10}  # alone: the most accurate


def test_tied_plans_of_equal_parameters_go_to_fewer_flops_then_lower_rtf():
    same = [{**NOISY[1], "request": {"prune_size": 40}, "flops": 0.41e9},
            {**NOISY[1], "request": {"prune_depth": 10}},
            {**NOISY[1], "request": {"prune_size": 39}, "flops": 0.41e9, "rtf": 0.017}]
    assert Calibration(same).choose({"params": 8e6})["request"] == {"prune_size": 39}


def test_a_negative_margin_is_refused():
    with pytest.raises(ConfigError, match="margin of a budget's choice must be >= 0 points, got -0.1"):
        Calibration(NOISY).choose({"params": 8e6}, margin=-0.1)

"""model_conf.supernet: every bad option fails at construction with a clear message; defaults filled in."""

import pytest

from supernet_nets import build


@pytest.mark.parametrize(
    "config,message",
    [
        ({"method": "greedy", "stage1_steps": 5}, r"method must be one of \('simple_top_k'"),
        ({"sizes": [], "stage1_steps": 5}, "sizes must list at least one"),
        ({"sizes": [6, 3], "stage1_steps": 5}, "sizes must be strictly increasing"),
        ({"sizes": [3, 3, 12], "stage1_steps": 5}, "sizes must be strictly increasing"),
        ({"sizes": [3, 13], "stage1_steps": 5}, r"sizes entries must be in \[1, 12\]"),
        ({"sizes": [0, 12], "stage1_steps": 5}, r"sizes entries must be in \[1, 12\]"),
        ({"sizes": [12], "stage1_steps": 5}, "needs a size below 12"),
        ({"method": "stochastic_depth", "sizes": [3, 12]}, "multiples of 4"),
        ({"sizes": [3, 12]}, "stage1_steps is required"),
        ({"sizes": [3, 12], "stage1_steps": -1}, "stage1_steps must be >= 0"),
        ({"sizes": [3, 12], "stage1_steps": 100, "total_steps": 100}, "must be less than total_steps"),
        ({"sizes": [3, 12], "stage1_steps": 5, "bogus": 1}, r"unknown model_conf.supernet option\(s\) \['bogus'\]"),
        ({"sizes": [3, 12], "stage1_steps": 5, "reset_value": -3.0}, "do not apply to method simple_top_k"),
        ({"method": "stochastic_depth", "stage1_steps": 5}, "do not apply to method stochastic_depth"),
        ({"sizes": "3,12", "stage1_steps": 5}, "model_conf.supernet: .*sizes"),
        ({"sizes": [3, 12], "stage1_steps": 5, "gates": "sharp"}, r"gates must be one of \('hard', 'soft'\)"),
        ({"sizes": [3, 12], "stage1_steps": 5, "anneal_step": 0}, "anneal_step must be >= 1"),
        ({"sizes": [3, 12], "stage1_steps": 20, "anneal_interval": 5}, "anneal_interval .* is too long"),
        ({"sizes": [3, 12], "stage1_steps": 5}, r"stage1_steps \(5\) is shorter than the 9 values of k .* never reach the smallest size"),
        ({"sizes": [3, 12], "stage1_steps": 9, "stage1_fraction": 0.5}, "stage1_fraction and stage1_steps both set"),
        ({"sizes": [3, 12], "stage1_fraction": 1.5, "total_steps": 100}, r"stage1_fraction must be in \(0, 1\)"),
        ({"sizes": [3, 12], "stage1_fraction": 0.5}, "stage1_fraction needs total_steps"),
        ({"sizes": [3, 12], "stage1_steps": 9, "sizez": [3, 12]}, "did you mean 'sizes'"),
        ({"sizes": [3, 12], "stage1_steps": 5, "accum_grad": 0}, "accum_grad must be >= 1"),
        ({"sizes": [3, 12], "stage1_steps": 5, "subnet_weight": -1.0}, "subnet_weight must be >= 0"),
        ({"sizes": [3, 12], "stage1_steps": 5, "stage2_stochastic_depth": 1.0}, r"stage2_stochastic_depth must be in \[0, 1\)"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 5, "zero_out_counts": [4, 2]}, "zero_out_counts must be strictly increasing"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 5, "zero_out_counts": [12]}, r"zero_out_counts entries must be in \[1, 11\]"),
        ({"method": "iterative_zero_out", "sizes": [3, 12], "stage1_steps": 1, "zero_out_counts": [3, 9]}, "must be >= the number of zero-out iterations"),
    ],
)
def test_bad_config_fails_at_construction_with_clear_message(config, message):
    with pytest.raises(ValueError, match=message):
        build(**config)


def test_stage1_fraction_is_a_share_of_all_updates():
    net = build(sizes=[3, 12], stage1_fraction=0.4, total_steps=250)
    assert net.config.stage1_steps == 100


def test_integers_are_accepted_for_float_options():
    net = build(sizes=[3, 12], stage1_steps=9, init_score=1, supernet_weight=1)
    assert net.scores[0].item() == 1.0


def test_each_method_owns_its_options():
    from espnet_layerprune.supernet import METHODS

    options = {name: m.config_class.options() for name, m in METHODS.items()}
    shared = {"method", "sizes", "supernet_weight", "seed", "accum_grad", "total_steps", "report_unit_scores"}
    staged = {"stage1_steps", "stage1_fraction", "subnet_weight", "stage1_stochastic_depth",
              "stage2_stochastic_depth", "init_score", "init_score_jitter", "stochastic_depth_mode", "stage1_head"}
    assert options == {
        "simple_top_k": shared | staged | {"anneal_step", "anneal_interval", "gates"},
        "iterative_zero_out": shared | staged | {"sparsity_weight", "sparsity_scale", "zero_out_counts", "reset_value",
                                                        "first_iteration_factor"},
        "stochastic_depth": shared,
    }
    assert all(m.config_class().method == name for name, m in METHODS.items())
    assert list(METHODS) == ["simple_top_k", "iterative_zero_out", "stochastic_depth"]

"""What the trainer knows, filled into a supernet schedule before ESPnet starts."""

import argparse

import pytest

from espnet_layerprune.core.errors import InputError
from espnet_layerprune.training.schedule import fill_supernet_schedule, updates_per_epoch


def _args(**extra):
    base = dict(model="layerprune", model_conf={"supernet": {"method": "simple_top_k", "stage1_fraction": 0.4}},
                accum_grad=2, max_epoch=5, num_iters_per_epoch=30, collect_stats=False, train_shape_file=["unused"])
    return argparse.Namespace(**{**base, **extra})


def test_updates_and_accum_grad_are_filled_in_from_the_trainer():
    args = _args()
    assert updates_per_epoch(args) == 15  # 30 batches, 2 per update
    fill_supernet_schedule(args)
    assert args.model_conf["supernet"] == {"method": "simple_top_k", "stage1_fraction": 0.4, "accum_grad": 2,
                                           "total_steps": 5 * 15}


def test_another_accum_grad_in_the_schedule_is_refused():
    args = _args(model_conf={"supernet": {"method": "simple_top_k", "stage1_steps": 9, "accum_grad": 4}})
    with pytest.raises(InputError, match=r"accum_grad \(4\) differs from the trainer's accum_grad \(2\)"):
        fill_supernet_schedule(args)


def test_other_models_and_statistics_runs_are_left_alone():
    args = _args(model="espnet", model_conf={})
    fill_supernet_schedule(args)
    assert args.model_conf == {}
    args = _args(collect_stats=True)
    fill_supernet_schedule(args)  # no schedule runs; a placeholder length lets the config build
    assert args.model_conf["supernet"]["total_steps"] == 1_000_000

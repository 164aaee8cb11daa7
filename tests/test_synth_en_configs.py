"""Every training config of the main recipe builds and takes a training step with its own schedule."""

import argparse
from pathlib import Path

import pytest
import torch
import yaml

import espnet_layerprune  # noqa: F401  (registers the encoders and model: layerprune)
from espnet2.tasks.asr import ASRTask
from espnet_layerprune.training.schedule import fill_scheduler_length, fill_supernet_schedule
from model_dirs import espnet_default_config

CONF = Path(__file__).resolve().parents[1] / "egs2" / "synth_en" / "asr1" / "conf"


@pytest.mark.parametrize("config", sorted(CONF.glob("train_*.yaml")), ids=lambda p: p.name)
def test_config_builds_fills_its_schedule_and_trains_one_step(config):
    conf = espnet_default_config()
    conf.update(yaml.safe_load(config.read_text()))
    conf = {k: None if v == "none" else v for k, v in conf.items()}  # as ESPnet's argparse types do
    conf.update(token_list=["<blank>", "<unk>", *[f"t{i}" for i in range(40)], "<sos/eos>"], input_size=None,
                train_shape_file=["unused"], collect_stats=False)
    args = argparse.Namespace(**conf)
    fill_supernet_schedule(args)  # what the training entry point does: stage1_fraction -> stage1_steps
    fill_scheduler_length(args)   # ... and tristagelr's max_steps
    if args.scheduler == "tristagelr":
        assert args.scheduler_conf["max_steps"] == args.max_epoch * args.num_iters_per_epoch
    supernet = (args.model_conf or {}).get("supernet") or {}
    if supernet.get("stage1_fraction"):
        assert supernet["total_steps"] == args.max_epoch * args.num_iters_per_epoch
    torch.manual_seed(0)
    model = ASRTask.build_model(args)
    assert model.encoder.num_layers == 12
    model.train()
    speech = torch.randn(2, 32000)
    loss, _, _ = model(speech=speech, speech_lengths=torch.tensor([32000, 24000]),
                       text=torch.randint(2, 40, (2, 6)), text_lengths=torch.tensor([6, 4]))
    loss.backward()
    assert torch.isfinite(loss)


def _trainer_args(**extra):
    return argparse.Namespace(scheduler="tristagelr", scheduler_conf={}, collect_stats=False,
                              train_shape_file=["unused"], max_epoch=7, num_iters_per_epoch=150,
                              accum_grad=1, **extra)


def test_tristage_schedule_length_is_filled_from_the_trainer():
    args = _trainer_args()
    fill_scheduler_length(args)
    assert args.scheduler_conf == {"max_steps": 7 * 150}


def test_an_explicit_schedule_length_is_kept():
    args = _trainer_args()
    args.scheduler_conf = {"max_steps": 99, "warmup_ratio": 0.2, "hold_ratio": 0.3, "decay_ratio": 0.5}
    fill_scheduler_length(args)
    assert args.scheduler_conf["max_steps"] == 99

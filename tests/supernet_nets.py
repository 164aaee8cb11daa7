"""Supernets of 12 units (3 blocks of 4) built from ``model_conf.supernet`` options, for the
supernet tests (importable helper)."""

import torch

from espnet_layerprune.supernet import Supernet


def build(**config) -> Supernet:
    """A supernet of 12 units, 4 per block."""
    return Supernet.from_config(config, num_units=12, units_per_layer=4)


def run(net, forwards):
    """``forwards`` training forward passes; the update each belongs to."""
    return [net.start_train_step() for _ in range(forwards)]


def stage2(**config):
    # anneal_step 9: one value of k, so that a 2-update stage 1 reaches the smallest size
    net = build(**{"sizes": [3, 6, 9, 12], "stage1_steps": 2, "anneal_step": 9, **config})
    with torch.no_grad():
        net.scores.copy_(torch.tensor([5.0, 1, 9, 3, 7, 0, 11, 2, 8, 4, 10, 6]))
    run(net, 3)
    assert net.is_frozen
    return net

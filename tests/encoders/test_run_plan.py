"""The run plan: what one pass runs, derived once; and the context that carries it."""

import threading

import pytest
import torch

from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder
from espnet_layerprune.encoders.run_plan import UnitGates, active_plan, running

SMALL = dict(input_size=20, output_size=16, attention_heads=2, linear_units=24, num_blocks=4)


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return PrunableTransformerEncoder(**SMALL, unit_granularity="sublayer").eval()  # 8 units


def test_a_plan_derives_its_network_once(encoder):
    plan = encoder.plan(units=[6, 1, 2])  # block 1 whole, block 3's FFN
    assert plan.units == (1, 2, 6) and plan.scales == (1.0, 1.0, None, None, None, 1.0, None, None)
    assert plan.present == (True, False, True, False) and plan.blocks == (0, 2)
    assert (plan.top, plan.end) == (2, 3)  # the loop stops after block 3
    closed = UnitGates(torch.zeros(8), open=(True, True) + (False,) * 6)
    gated = encoder.plan(gates=closed)  # all units run (for their gradient), one block is the network
    assert gated.present == (True, False, False, False) and gated.end == 4 and gated.top == 0
    with pytest.raises(ValueError, match=r"kept units entries must be in \[1, 8\]"):
        encoder.plan(units=[0, 3])


def test_the_context_nests_and_restores(encoder):
    assert active_plan(encoder) is None and encoder.kept_units == tuple(range(1, 9))
    with encoder.pruned(layers=[1, 2]):
        assert encoder.kept_layers == (1, 2)
        with encoder.pruned(units=[3]):
            assert encoder.kept_units == (3,)
        assert encoder.kept_layers == (1, 2)
    assert active_plan(encoder) is None and encoder.kept_layers == (1, 2, 3, 4)
    other = PrunableTransformerEncoder(**SMALL)
    with running(encoder, encoder.plan([1])):
        assert other.kept_layers == (1, 2, 3, 4)  # one plan per encoder


def test_a_plan_set_in_one_thread_is_not_seen_in_another(encoder):
    seen = {}
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen["other"] = encoder.kept_layers
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with encoder.pruned(layers=[2]):
        inside.set()
        done.wait()
        seen["this"] = encoder.kept_layers
    thread.join()
    assert seen == {"this": (2,), "other": (1, 2, 3, 4)}


def test_the_encoders_own_plan_is_what_keep_units_set(encoder):
    encoder.keep_layers([1, 3])
    assert encoder.active_plan().blocks == (0, 2)
    with encoder.pruned():  # everything, for this block only
        assert encoder.kept_layers == (1, 2, 3, 4)
    assert encoder.kept_layers == (1, 3)

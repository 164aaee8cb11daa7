"""Counted compute of early exit and fixed depth: the arithmetic, frame weighting, and that the
measured cost model counts what the encoder really runs."""

import numpy as np
import pytest
import torch
from model_dirs import random_model_dir
from torch.utils.flop_counter import FlopCounterMode

from espnet_layerprune.core.units import units_of_layers
from espnet_layerprune.inference.exit_cost import (
    GATE_PER_READ,
    GATE_PER_TOKEN,
    GREEDY_PER_TOKEN,
    LOG_SOFTMAX_PER_TOKEN,
    ExitCost,
    blocks_run,
    counted_compute,
)
from espnet_layerprune.inference.speech2text import Speech2Text
from espnet_layerprune.models.features import encoder_input

# front end 10 T + 4, a layer 100 T + 1 T^2, D = 2, V = 3: a head is 2*2*3 + 5*3 = 27 per frame
COST = ExitCost(frontend_per_frame=10.0, frontend_fixed=4.0, layer_per_frame=100.0, layer_per_frame_sq=1.0,
                dim=2, vocab=3)


def test_fixed_depth_is_front_end_plus_n_layers_plus_one_head():
    T = 5
    assert COST.head(T) == (2 * 2 * 3 + LOG_SOFTMAX_PER_TOKEN * 3) * T == 135
    assert COST.fixed_depth(T, 3) == (10 * T + 4) + 3 * (100 * T + T ** 2) + 135


def test_early_exit_pays_a_head_per_layer_read_plus_patience_and_gate():
    T = 5
    base = COST.frontend(T) + 2 * COST.layer(T) + COST.head(T)
    assert COST.early_exit(T, executed=2, reads=2) == base + 2 * COST.head(T)
    greedy = GREEDY_PER_TOKEN * 3 * T
    assert COST.early_exit(T, 2, 2, patience=1) == base + 2 * (COST.head(T) + greedy)
    gate = GATE_PER_TOKEN * 3 * T + GATE_PER_READ
    assert COST.early_exit(T, 2, 2, learned=True) == base + 2 * (COST.head(T) + gate)
    # the decision is never free: exiting at N costs more than fixed depth N
    assert COST.early_exit(T, 2, 1) > COST.fixed_depth(T, 2)


def test_corpus_compute_is_frame_weighted_not_a_mean_of_utterances():
    # a short utterance exits at layer 1, a long one at layer 4
    records = [{"layer": 1, "frames": 10, "executed_layers": 1, "reads": 1},
               {"layer": 4, "frames": 90, "executed_layers": 4, "reads": 4},
               {"layer": None, "frames": None, "executed_layers": 0, "reads": 0}]  # too short: skipped
    tally = counted_compute(COST, records, depths=[1, 4])
    assert tally["utterances"] == 2 and tally["frames"] == 100
    assert tally["mean_exit_layer"] == 2.5
    assert tally["frame_weighted_exit_layer"] == pytest.approx((1 * 10 + 4 * 90) / 100)
    layer_flops = COST.layer(10) + COST.layer(90)
    total = COST.early_exit(10, 1, 1) + COST.early_exit(90, 4, 4)
    assert tally["counted_cost"] == pytest.approx(total / layer_flops, abs=1e-4)
    assert tally["decision_cost"] == pytest.approx((COST.head(10) + 4 * COST.head(90)) / layer_flops, abs=1e-4)
    assert tally["flops_per_frame"] == round(total / 100)
    # fixed depth in the same units: N layer-equivalents plus the front end and one head
    offset = (COST.frontend(10) + COST.frontend(90) + COST.head(10) + COST.head(90)) / layer_flops
    assert tally["fixed_depth_cost"] == {1: pytest.approx(1 + offset, abs=1e-4), 4: pytest.approx(4 + offset, abs=1e-4)}


def test_blocks_run_counts_what_the_exit_loop_recomputes():
    assert blocks_run([[1], [1, 2], [1, 2, 3]]) == 3  # first-N networks: the exit depth
    assert blocks_run([[2], [2, 4]]) == 2  # continues from block 2
    assert blocks_run([[2], [2, 4], [1, 2, 4]]) == 5  # starts again below
    assert blocks_run([[2], [4]]) == 2


def test_measured_cost_equals_the_flops_the_encoder_runs(tmp_path):
    """The fitted cost model reproduces torch's FLOP count of a real fixed-depth decode at a third length."""
    config, model = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all", "num_blocks": 4},
                                     model_conf={"interctc_weight": 0.5})
    s2t = Speech2Text(str(config), str(model), ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    m = s2t.asr_model
    cost = ExitCost.measure(m)
    assert (cost.dim, cost.vocab) == (16, 6)
    speech = torch.as_tensor(0.1 * np.random.default_rng(0).standard_normal(16000 * 5), dtype=torch.float32)[None]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        embedded = encoder_input(m, speech, torch.tensor([speech.size(1)]))
        out = m.encoder.run_units(embedded, units=units_of_layers([1, 2, 3], m.encoder.units_per_layer), ctc=m.ctc)
        m.ctc.ctc_lo(out[0][0] if isinstance(out[0], tuple) else out[0])
    T = embedded.xs.size(1)
    matmuls_only = cost.fixed_depth(T, 3) - LOG_SOFTMAX_PER_TOKEN * cost.vocab * T  # the counter skips log-softmax
    assert counter.get_total_flops() == pytest.approx(matmuls_only, rel=0.02)

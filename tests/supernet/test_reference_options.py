"""Options that reproduce the reference code of Xu et al. (2024) where our defaults differ
(docs/supernet.md, "Where we differ from the reference code")."""

import pytest
import torch
from supernet_nets import build, run

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.layer_drop import sample_row_scales
from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

SMALL = dict(input_size=20, output_size=16, attention_heads=2, linear_units=24, num_blocks=4,
             stochastic_depth_rate=0.5, dropout_rate=0.0, positional_dropout_rate=0.0)


def test_row_scales_are_per_sequence_zero_or_rescaled():
    torch.manual_seed(0)
    scales = sample_row_scales([0.0, 0.5, 0.5], rescale=True, batch_size=64)
    assert scales[0] == 1.0  # never skipped: no tensor, nothing to multiply
    for s in scales[1:]:
        assert s.shape == (64, 1, 1) and set(s.flatten().tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("mode", ["batch", "row"])
def test_row_mode_gives_each_sequence_its_own_network(mode):
    torch.manual_seed(0)
    enc = PrunableTransformerEncoder(**SMALL, stochastic_depth_mode=mode).train()
    xs = torch.randn(1, 30, 20).expand(16, 30, 20).contiguous()  # 16 copies of one sequence
    out, _, _ = enc(xs, torch.full((16,), 30))
    distinct = {tuple(o.flatten()[:8].tolist()) for o in out.detach()}
    assert (len(distinct) > 1) == (mode == "row")


def test_stochastic_depth_mode_is_checked():
    with pytest.raises(ConfigError, match=r"stochastic_depth_mode must be one of \('batch', 'row'\)"):
        PrunableTransformerEncoder(**SMALL, stochastic_depth_mode="sequence")


def test_staged_supernet_passes_carry_the_row_mode():
    net = build(sizes=[3, 6, 12], stage1_steps=9, stochastic_depth_mode="row", stage1_stochastic_depth=0.2)
    passes = net.train_passes(net.start_train_step())
    assert passes[0].name == "supernet" and passes[0].drop_mode == "row"


def test_stage1_head_smallest_reads_every_stage1_subnet_with_the_smallest_head():
    nearest = build(sizes=[3, 6, 12], stage1_steps=9)
    smallest = build(sizes=[3, 6, 12], stage1_steps=9, stage1_head="smallest")
    near = [(p.size, p.head_size) for t in run(nearest, 9) for p in nearest.train_passes(t) if p.name == "subnet"]
    small = [(p.size, p.head_size) for t in run(smallest, 9) for p in smallest.train_passes(t) if p.name == "subnet"]
    assert len({k for k, _ in near}) > 1  # k anneals from 11 down to 3
    assert all(head == k for k, head in near)  # the head of the smallest size >= k (LayerPrune's rule)
    assert [k for k, _ in small] == [k for k, _ in near] and all(head == 3 for _, head in small)


def test_init_score_jitter_breaks_the_ties_reproducibly():
    equal = build(sizes=[3, 6, 12], stage1_steps=9)
    a = build(sizes=[3, 6, 12], stage1_steps=9, init_score_jitter=0.01, seed=1)
    b = build(sizes=[3, 6, 12], stage1_steps=9, init_score_jitter=0.01, seed=1)
    assert len(set(equal.scores.tolist())) == 1
    assert torch.equal(a.scores, b.scores) and len(set(a.scores.tolist())) == 12
    assert (a.scores - 0.5).abs().max() <= 0.01
    with pytest.raises(ConfigError, match="init_score_jitter must be >= 0"):
        build(sizes=[3, 6, 12], stage1_steps=9, init_score_jitter=-1.0)


def test_first_zero_out_iteration_three_times_longer_as_the_reference():
    net = build(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=50, first_iteration_factor=3.0)
    iterations = [net.method.iteration(t) for t in range(50)]
    assert [iterations.count(i) for i in range(3)] == [30, 10, 10]
    with pytest.raises(ConfigError, match="first_iteration_factor must be >= 1"):
        build(method="iterative_zero_out", sizes=[3, 6, 12], stage1_steps=50, first_iteration_factor=0.5)

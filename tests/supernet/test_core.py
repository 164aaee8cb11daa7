"""The shared state of a supernet: update counting, checkpoints that resume and average exactly."""

import torch

from espnet_layerprune.supernet.scores import nested_masks
from supernet_nets import build, run, stage2


def test_accum_grad_counts_optimizer_updates():
    net = build(sizes=[3, 12], stage1_steps=3, anneal_step=9, accum_grad=4)
    steps = run(net, 16)
    assert steps == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    assert net.step == 4
    net2 = build(sizes=[3, 12], stage1_steps=3, anneal_step=9, accum_grad=4)
    run(net2, 12)
    assert not net2.is_frozen
    net2.start_train_step()  # first forward of update 3
    assert net2.is_frozen


def test_state_dict_round_trip_resumes_exactly():
    a = build(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=6)
    with torch.no_grad():
        a.scores.copy_(torch.randn(12, generator=torch.Generator().manual_seed(0)))
    run(a, 4)
    b = build(method="iterative_zero_out", sizes=[3, 6, 9, 12], stage1_steps=6)
    b.load_state_dict(a.state_dict(), strict=True)
    assert set(a.state_dict()) == {"scores", "num_forwards", "resets_done", "frozen",
                                   "frozen_scores"}
    for _ in range(6):  # through the last reset and the stage switch
        assert a.start_train_step() == b.start_train_step()
        assert torch.equal(a.scores, b.scores)
        assert int(a.resets_done) == int(b.resets_done)
    assert a.is_frozen and b.is_frozen
    pa, pb = a.train_passes(a.step), b.train_passes(b.step)
    assert [(p.name, p.units, p.drop_probs) for p in pa] == [
        (p.name, p.units, p.drop_probs) for p in pb
    ]


def test_averaged_checkpoints_keep_the_frozen_ranking():
    """ESPnet averages n-best checkpoints; mixing stage 1 and 2 must keep the masks."""
    frozen = stage2()
    unfrozen = build(sizes=[3, 6, 9, 12], stage1_steps=2, anneal_step=9)
    avg = {
        k: v if not v.is_floating_point() else (v + unfrozen.state_dict()[k]) / 2
        for k, v in frozen.state_dict().items()
    }
    net = build(sizes=[3, 6, 9, 12], stage1_steps=2, anneal_step=9)
    net.load_state_dict(avg)
    assert net.is_frozen
    assert net.size_units(3) == nested_masks(frozen.frozen_scores, [3])[0]


def test_scores_start_at_init_score_and_are_a_parameter():
    net = build(sizes=[3, 12], stage1_steps=10)
    assert isinstance(net.scores, torch.nn.Parameter)
    assert net.scores.tolist() == [0.5] * 12
    assert build(method="iterative_zero_out", sizes=[3, 12], stage1_steps=10).scores[0] == 10.0
    assert build(method="stochastic_depth", sizes=[4, 12]).scores is None

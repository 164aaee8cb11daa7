"""``model: layerprune`` built by ESPnet's ASRTask, trained a few real steps."""

import copy

import pytest
import torch
from layerprune_models import SIMPLE, batch, build, train

from espnet_layerprune.models.layerprune import LayerPruneASRModel
from espnet_layerprune.supernet import RESET_ORDER_SPAN


def test_built_by_espnet_and_registered():
    model = build(SIMPLE)
    assert isinstance(model, LayerPruneASRModel)
    assert model.decoder is None and model.supernet.config.num_units == 12
    assert "supernet.scores" in dict(model.named_parameters())


def test_simple_top_k_trains_and_switches_to_stage_2():
    model = build(SIMPLE)
    history, _ = train(model, 6)
    assert [h["stage"] for h in history] == [1, 1, 1, 2, 2, 2]
    assert [h.get("k") for h in history[:3]] == [9, 6, 3]  # anneal_step 3
    assert all("loss_subnet" in h and "loss_supernet" in h for h in history[:3])
    for h in history[3:]:
        assert "loss_size3" in h and ("loss_size6" in h) != ("loss_size9" in h)
        assert h["loss"] == pytest.approx(
            h["loss_supernet"] + 0.3 * sum(v for k, v in h.items() if k.startswith("loss_size")),
            rel=1e-5,
        )
    assert model.supernet.is_frozen
    assert not torch.equal(model.supernet.frozen_scores, torch.full((12,), 0.5))  # learned
    masks = [model.size_units(s) for s in (3, 6, 9, 12)]
    assert [len(m) for m in masks] == [3, 6, 9, 12]
    assert all(set(a) <= set(b) for a, b in zip(masks, masks[1:]))
    assert model.size_units(3) == model.supernet.train_passes(model.supernet.step)[1].units
    assert len(model.supernet.depth_layers(2)) == 2


def test_iterative_zero_out_trains_with_sparsity_loss_and_resets():
    model = build(dict(method="iterative_zero_out", sizes=[6, 12], stage1_steps=2,
                       zero_out_counts=[3, 6]))
    history, _ = train(model, 4)
    assert [h["stage"] for h in history] == [1, 1, 2, 2]
    assert history[0]["loss_sparsity"] > 0 and "loss_sparsity" not in history[2]
    # the paper's weight 5, times the mean encoder length (speech lengths 30 and 24,
    # linear input layer): ESPnet's CTC is summed over frames, the paper's divided by them
    assert model.supernet.method.sparsity_weight(27.0) == 5 * 27.0
    assert history[0]["loss"] == pytest.approx(
        history[0]["loss_supernet"] + 0.3 * history[0]["loss_subnet"]
        + 5 * 27.0 * history[0]["loss_sparsity"], rel=1e-5)
    assert int(model.supernet.resets_done) == 2
    reset = [j + 1 for j in range(12) if abs(model.supernet.frozen_scores[j] + 5.0) <= RESET_ORDER_SPAN]
    assert len(reset) == 6  # the last reset
    assert set(model.size_units(6)).isdisjoint(reset)


def test_zero_out_gate_sum_follows_its_target_within_each_iteration(caplog):
    """With the sparsity loss scaled to ESPnet's summed CTC (sparsity_scale: frames),
    the gate sum moves to U - n_i during iteration i, before the reset enforces it.
    (init_score 2 keeps the sigmoid out of saturation, so that a few updates suffice.)"""
    import logging

    model = build(dict(method="iterative_zero_out", sizes=[6, 12], stage1_steps=80,
                       zero_out_counts=[3, 6], init_score=2.0))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    with caplog.at_level(logging.INFO):
        history, _ = train(model, 81, opt)
    for start, target in ((0, 9.0), (40, 6.0)):
        sums = [h["gate_sum"] for h in history[start:start + 40]]
        assert all(h["gate_sum_target"] == target for h in history[start:start + 40])
        assert abs(sums[-1] - target) < 0.5 < abs(sums[0] - target)
    assert "zero-out iteration 1 ends at update 40 with gate sum" in caplog.text


def test_static_pruning_in_encoder_conf_is_refused_for_scored_methods():
    with pytest.raises(ValueError, match="prune_layers / prune_units would be ignored in training"):
        build(SIMPLE, encoder_conf=dict(prune_layers=[1, 2]))


def test_stochastic_depth_method_with_intermediate_ctc_on_a_transformer():
    model = build(dict(method="stochastic_depth", sizes=[1, 2, 4]), encoder="prunable_transformer",
                  encoder_conf=dict(stochastic_depth_rate=0.5, interctc_layer_idx=[2]),
                  interctc_weight=0.5)
    history, _ = train(model, 2)
    assert history[0]["stage"] == 0
    assert "loss_interctc_layer2" in history[0] or any(
        "loss_interctc_layer2" in h for h in history)  # unless layer 2 was skipped
    assert not any(k.startswith("loss_size") or k == "loss_subnet" for k in history[0])
    assert model.supernet.depth_layers(2) is None and model.size_units(2) == (1, 2)


def test_intermediate_ctc_is_for_the_supernet_pass():
    model = build(SIMPLE, encoder_conf=dict(interctc_layer_idx=[1]), interctc_weight=0.3)
    history, _ = train(model, 1)
    assert "loss_interctc_layer1" in history[0]


def test_eval_reports_supernet_loss_and_every_smaller_size():
    model = build(SIMPLE)
    train(model, 4)
    model.eval()
    step = model.supernet.step
    with torch.no_grad():
        loss, stats, _ = model(**batch(9))
    assert model.supernet.step == step  # eval does not count
    assert stats["loss"].item() == stats["loss_supernet"].item()
    assert "cer_ctc" in stats and all(f"loss_size{k}" in stats for k in (3, 6, 9))
    assert all(f"cer_ctc_size{k}" in stats and f"wer_ctc_size{k}" in stats for k in (3, 6, 9))
    assert "k" not in stats and "medium_size" not in stats  # nothing is drawn in eval
    # pruned by the caller: the loss is the pruned net's, no subnet pass
    with model.encoder.pruned(units=model.size_units(3)):
        with torch.no_grad():
            pruned, pstats, _ = model(**batch(9))
    assert pruned.item() == pytest.approx(stats["loss_size3"].item(), rel=1e-5)
    assert "loss_size3" not in pstats


def test_checkpoint_resume_continues_exactly():
    conf = dict(SIMPLE, sizes=[3, 6, 9, 12], stage1_steps=3)
    a = build(conf)
    _, opt_a = train(a, 2)
    b = build(conf)
    b.load_state_dict(a.state_dict(), strict=True)
    opt_b = torch.optim.Adam(b.parameters(), lr=0.01)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as from a file
    ha, _ = train(a, 4, opt_a, seed=100)
    hb, _ = train(b, 4, opt_b, seed=100)
    assert ha == hb
    assert torch.equal(a.supernet.frozen_scores, b.supernet.frozen_scores)


def test_accum_grad_in_supernet_conf_counts_updates():
    model = build(dict(SIMPLE, accum_grad=2, stage1_steps=2, anneal_step=9))
    history, _ = train(model, 6)
    assert [h["stage"] for h in history] == [1, 1, 1, 1, 2, 2]
    assert [h["supernet_step"] for h in history] == [0, 0, 1, 1, 2, 2]


def test_per_size_ctc_heads():
    model = build(SIMPLE, per_size_ctc=True)
    assert len(model.size_ctc) == 3
    assert model.ctc_for_size(3) is model.size_ctc[0]
    assert model.ctc_for_size(5) is model.size_ctc[1]  # smallest size >= 5 is 6
    assert model.ctc_for_size(12) is model.ctc
    train(model, 4)  # stage 2 at step 3
    assert model.size_ctc[0].ctc_lo.weight.grad is not None


def test_decoder_passed_by_espnet_is_dropped_for_ctc_only_and_used_otherwise():
    model = build(SIMPLE, decoder="transformer")
    assert model.decoder is None
    train(model, 1)
    model = build(SIMPLE, decoder="transformer", ctc_weight=0.5)
    history, _ = train(model, 1)
    assert "loss_att" in history[0] and "acc" in history[0]


def test_collect_feats_still_works():
    model = build(SIMPLE)
    out = model.collect_feats(**batch())
    assert out["feats"].shape == (2, 30, 8)


def test_decoding_applies_learned_masks():
    from espnet_layerprune.models.pruning import prune_model

    model = build(SIMPLE)
    train(model, 4)
    result = prune_model(model, size=6)
    assert result.kept_units == model.size_units(6)
    assert "learned" in result.source


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(encoder="conformer"), "needs a prunable encoder"),
        (dict(encoder_conf=dict(stochastic_depth_rate=0.1)), "set encoder_conf.stochastic_depth_rate"),
        (dict(per_size_ctc=True, supernet=dict(method="stochastic_depth", sizes=[4, 12])),
         "per_size_ctc: true needs supernet method"),
        (dict(supernet=None), "stage1_steps is required"),
        (dict(supernet=dict(SIMPLE, sizes=[3, 24])), r"sizes entries must be in \[1, 12\]"),
    ],
)
def test_bad_model_conf(kwargs, message):
    supernet = kwargs.pop("supernet", SIMPLE)
    with pytest.raises(ValueError, match=message):
        build(supernet, **kwargs)


def test_a_training_update_runs_the_front_end_once_for_all_passes():
    model = build(SIMPLE)
    calls = []
    model.encoder.embed.register_forward_hook(lambda *_: calls.append(1))
    model.train()
    loss, stats, _ = model(**batch())
    assert "loss_subnet" in stats  # two passes: supernet and subnet
    assert len(calls) == 1
    loss.backward()
    assert next(model.encoder.embed.parameters()).grad is not None


def test_depth_on_a_scored_supernet_warns_and_names_the_matching_size(caplog):
    from espnet_layerprune.models.pruning import prune_model

    model = build(SIMPLE)  # conformer: 4 units per block, sizes 3/6/9/12
    train(model, 4)
    with caplog.at_level("WARNING"):
        result = prune_model(model, depth=2)
    assert result.source == "supernet learned scores" and len(result.kept_layers) == 2
    assert "not trained together" in caplog.text and "its trained sizes are (3, 6, 9, 12)" in caplog.text
    caplog.clear()
    model = build(dict(SIMPLE, sizes=[4, 8, 12]))
    train(model, 4)
    with caplog.at_level("WARNING"):
        prune_model(model, depth=2)
    assert "--prune_size 8 keeps as many units" in caplog.text

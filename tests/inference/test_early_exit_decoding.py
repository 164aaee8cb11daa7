"""--prune_depth auto: each utterance stops at its first confident layer, decodes what that
depth decodes, and says where it stopped (Python API and command line)."""

import re

import numpy as np
import pytest
import soundfile
import torch
import yaml
from model_dirs import random_model_dir

from espnet_layerprune.bin import asr_inference
from espnet_layerprune.inference.speech2text import Speech2Text
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import head_for
from espnet_layerprune.inference.early_exit import EarlyExit
from espnet_layerprune.inference.exit_cost import ExitCost, counted_compute
from espnet_layerprune.core.errors import ConfigError

OPTS = dict(ctc_greedy=True, beam_size=1, ctc_weight=1.0)


def _speech(seconds=1.0, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16000 * seconds))).astype(np.float32)


@pytest.fixture
def model_dir(tmp_path):
    return random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all", "num_blocks": 4},
                            model_conf={"interctc_weight": 0.5})


def _top(results):
    """Best hypothesis; a model with intermediate CTC returns (n-best, intermediate n-best)."""
    return (results[0] if isinstance(results, tuple) else results)[0]


def _confidences(s2t, speech, measure):
    model, encoder = s2t.asr_model, s2t.asr_model.encoder
    x = torch.as_tensor(speech)[None]
    outs = encoder.depth_outputs(encoder_input(model, x, torch.tensor([x.size(1)])), ctc=model.ctc)
    policy = EarlyExit(0.5, measure)
    return [policy.confidence(head_for(model, d).log_softmax(o)[0], model.blank_id) for d, o in enumerate(outs, 1)]


@pytest.mark.parametrize("measure", ["max_posterior", "entropy"])
def test_exits_at_the_first_confident_layer_with_that_depths_hypothesis(model_dir, measure):
    config, model = model_dir
    probe = Speech2Text(str(config), str(model), **OPTS)
    for seed in range(3):
        speech = _speech(seed=seed)
        conf = _confidences(probe, speech, measure)
        texts = probe.decode_all_depths(speech)
        for threshold in sorted({round(c, 4) for c in conf[1:3]}) + [1.0]:
            s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=threshold,
                              exit_measure=measure, exit_min_depth=2, **OPTS)
            text = s2t(speech)[0][0]
            expected = next((d for d in range(2, 5) if conf[d - 1] >= threshold), 4)
            assert s2t.last_exit["layer"] == expected
            assert s2t.last_exit["confidence"] == pytest.approx(conf[expected - 1], abs=1e-4)
            assert text == texts[expected]
            assert s2t.asr_model.encoder.kept_units == (1, 2, 3, 4)  # nothing pruned for good


def test_the_layers_after_the_exit_never_run(model_dir):
    config, model = model_dir
    s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=1e-6, **OPTS)
    ran = []
    for i, layer in enumerate(s2t.asr_model.encoder.encoders):
        layer.feed_forward.register_forward_pre_hook(lambda *a, i=i: ran.append(i + 1))
    s2t(_speech())
    assert ran == [1] and s2t.last_exit["layer"] == 1


def test_per_call_auto_and_threshold_leave_the_object_unchanged(model_dir):
    config, model = model_dir
    s2t = Speech2Text(str(config), str(model), **OPTS)
    speech = _speech(seed=2)
    full = _top(s2t(speech))[2]
    s2t(speech, prune_depth="auto", exit_threshold=1e-6)
    assert s2t.last_exit["layer"] == 1
    assert _top(s2t(speech))[2] == full and s2t.early_exit is None
    with pytest.raises(ConfigError, match="needs exit_threshold"):
        s2t(speech, prune_depth="auto")
    with pytest.raises(ConfigError, match="exit_threshold needs prune_depth='auto'"):
        s2t(speech, exit_threshold=0.5)


def test_model_without_intermediate_ctc_is_refused(tmp_path):
    config, model = random_model_dir(tmp_path)
    with pytest.raises(ConfigError, match="interctc_layer_idx"):
        Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.9, **OPTS)


def _cli(tmp_path, config, model, *extra, n=3):
    wavs = tmp_path / "wav.scp"
    lines = []
    for i in range(n):
        path = tmp_path / f"u{i}.wav"
        soundfile.write(path, _speech(seed=i), 16000)
        lines.append(f"utt{i} {path}")
    lines.append(f"utt_short {tmp_path / 'short.wav'}")
    soundfile.write(tmp_path / "short.wav", np.zeros(100, dtype=np.float32), 16000)
    wavs.write_text("\n".join(lines) + "\n")
    out = tmp_path / "decode"
    argv = ["--asr_train_config", str(config), "--asr_model_file", str(model), "--output_dir", str(out),
            "--data_path_and_name_and_type", f"{wavs},speech,sound", "--ctc_greedy", "true",
            "--beam_size", "1", "--ctc_weight", "1.0", *extra]
    return out, argv


def test_command_line_writes_each_utterances_exit_layer(tmp_path, model_dir):
    config, model = model_dir
    out, argv = _cli(tmp_path, config, model, "--prune_depth", "auto", "--exit_threshold", "1e-6",
                     "--exit_min_depth", "2")
    asr_inference.main(argv)
    info = yaml.safe_load((out / "pruning.yaml").read_text())
    assert info["request"] == {"prune_depth": "auto"}
    ee = info["early_exit"]
    assert (ee["measure"], ee["threshold"], ee["min_depth"]) == ("max_posterior", 1e-6, 2)
    assert ee["mean_exit_layer"] == 2 and ee["frame_weighted_exit_layer"] == 2
    assert {k: v["layer"] for k, v in ee["utterances"].items()} == {"utt0": 2, "utt1": 2, "utt2": 2,
                                                                     "utt_short": None}
    # counted compute: 2 blocks run and layers 1 and 2 read (patience 0 reads from min_depth: layer 2 only)
    assert {(v["executed_layers"], v["reads"]) for k, v in ee["utterances"].items() if k != "utt_short"} == {(2, 1)}
    cost = ExitCost(**{k: ee["cost_model"][k] for k in ("frontend_per_frame", "frontend_fixed", "layer_per_frame",
                                                         "layer_per_frame_sq", "dim", "vocab")})
    records = list(ee["utterances"].values())
    assert ee["counted_cost"] == pytest.approx(counted_compute(cost, records)["counted_cost"], abs=1e-3)
    # one read more than fixed depth 2: between depth 2 and 3, above 2
    assert ee["fixed_depth_cost"][2] < ee["counted_cost"] < ee["fixed_depth_cost"][3]


@pytest.mark.parametrize("extra,message", [
    (["--prune_depth", "auto"], r"--prune_depth auto needs --exit_threshold"),
    (["--prune_depth", "auto", "--exit_threshold", "1.2"], r"--exit_threshold must be in \(0, 1\]"),
    (["--prune_depth", "auto", "--exit_threshold", "0.9", "--exit_min_depth", "9"],
     r"--exit_min_depth must be in \[1, 4\]"),
    (["--exit_threshold", "0.9"], r"--exit_threshold needs --prune_depth auto"),
    (["--prune_depth", "auto", "--exit_threshold", "0.9", "--batch_size", "2"], r"one utterance at a time"),
    (["--prune_depth", "deep"], r"--prune_depth must be an integer >= 1 .* or 'auto'"),
    (["--prune_depth", "auto", "--exit_threshold", "0.5", "--exit_measure", "learned"],
     r"--exit_measure learned needs .*exit_gate.yaml: fit it first with python -m espnet_layerprune.bin.calibrate"),
])
def test_bad_early_exit_options_fail_before_decoding(tmp_path, model_dir, capsys, extra, message):
    config, model = model_dir
    out, argv = _cli(tmp_path, config, model, *extra, n=1)
    with pytest.raises(SystemExit) as exc:
        asr_inference.main(argv)
    assert exc.value.code != 0
    assert re.search(message, capsys.readouterr().err + str(exc.value.code))
    assert not out.exists()


def test_plain_model_auto_fails_on_the_command_line(tmp_path, capsys):
    config, model = random_model_dir(tmp_path)
    out, argv = _cli(tmp_path, config, model, "--prune_depth", "auto", "--exit_threshold", "0.9", n=1)
    with pytest.raises(SystemExit) as exc:
        asr_inference.main(argv)
    assert "interctc_layer_idx" in str(exc.value.code) and not out.exists()


def test_patience_exits_where_the_hypothesis_stops_changing(model_dir):
    from espnet_layerprune.core.ctc import greedy_ids

    config, model = model_dir
    probe = Speech2Text(str(config), str(model), **OPTS)
    speech = _speech(seed=1)
    m, enc = probe.asr_model, probe.asr_model.encoder
    x = torch.as_tensor(speech)[None]
    ids = [greedy_ids(m.ctc.log_softmax(o)[0]) for o in enc.depth_outputs(encoder_input(m, x, torch.tensor([x.size(1)])))]
    expected = next((d for d in range(2, 5) if ids[d - 1] == ids[d - 2]), 4)
    s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=1e-6, exit_patience=1, **OPTS)
    s2t(speech)
    assert s2t.last_exit["layer"] == expected


@pytest.mark.parametrize("conditioning", [False, True])
def test_with_a_prune_plan_the_exit_at_depth_n_runs_what_prune_depth_n_runs(tmp_path, conditioning):
    """Version 0.2 exited through the first N layers whatever the plan said, so --prune_depth auto
    and --prune_depth N disagreed on a model with a prune plan (or learned masks)."""
    from espnet_layerprune.core.plan import PLAN_FILENAME, PrunePlan

    config, model = random_model_dir(tmp_path, encoder_conf={
        "interctc_layer_idx": "all", "num_blocks": 4, "interctc_use_conditioning": conditioning},
        model_conf={"interctc_weight": 0.5})
    # neither the first N layers nor one running order: depth 2 continues past depth 1's top,
    # depth 3 starts again below it, depth 4 continues from depth 3's first two layers
    depths = {1: [2], 2: [2, 4], 3: [1, 2, 4]}
    plan = PrunePlan(num_layers=4, depths={d: {"layers": v} for d, v in depths.items()}, strategy="greedy")
    plan.for_model(model).save(model.parent / PLAN_FILENAME)
    speech = _speech(seed=1)

    def encoded(s2t, **call):
        seen = []
        hook = s2t.asr_model.encoder.register_forward_hook(lambda m, i, o: seen.append(o[0]))
        ids = _top(s2t(speech, **call))[2]
        hook.remove()
        return ids, (seen[0][0] if isinstance(seen[0], tuple) else seen[0])

    first_n = Speech2Text(str(config), str(model), use_prune_plan=False, **OPTS)
    texts = Speech2Text(str(config), str(model), **OPTS).decode_all_depths(speech)  # the plan's depths
    for depth in (1, 2, 3, 4):
        fixed = Speech2Text(str(config), str(model), prune_depth=depth, **OPTS)
        assert list(fixed.pruning.kept_layers) == depths.get(depth, [1, 2, 3, 4])
        auto = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=1e-6,
                           exit_min_depth=depth, **OPTS)
        exit_ids, exit_out = encoded(auto)
        fixed_ids, fixed_out = encoded(fixed)
        assert auto.last_exit["layer"] == depth and exit_ids == fixed_ids
        torch.testing.assert_close(exit_out, fixed_out, rtol=0, atol=1e-5)
        assert texts[depth] == _top(fixed(speech))[0]
        if depth < 4:  # not what the first N layers give
            assert not torch.allclose(exit_out, encoded(first_n, prune_depth=depth)[1])


def test_exit_every_reads_only_every_kth_layer_and_records_the_cost(model_dir):
    config, model = model_dir
    s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=1.0, exit_every=2, **OPTS)
    read = []
    s2t.asr_model.ctc.ctc_lo.register_forward_hook(lambda m, i, o: read.append(i[0].size(1)))
    s2t(_speech(seed=3))
    record = s2t.last_exit
    assert record["layer"] == 4 and record["reads"] == 2 and record["executed_layers"] == 4
    assert len(read) == 3 and set(read) == {record["frames"]}  # layers 2 and 4 read, then the output head
    with pytest.raises(ConfigError, match=r"--exit_every must be an integer >= 1"):
        Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.5, exit_every=0, **OPTS)
    with pytest.raises(ConfigError, match=r"--exit_every must be in \[1, 3\]"):
        Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.5, exit_every=4, **OPTS)


def test_per_size_ctc_models_refuse_early_exit_and_gate_fitting(tmp_path):
    """Their depths would be read through size heads trained on learned-mask subnets: refused."""
    from model_dirs import per_size_supernet_dir

    from espnet_layerprune.inference.calibration import gate_layers

    config, model, _ = per_size_supernet_dir(tmp_path)
    with pytest.raises(ConfigError, match=r"--prune_depth auto is refused on a model with per-size CTC heads"):
        Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.9, **OPTS)
    s2t = Speech2Text(str(config), str(model), **OPTS)
    with pytest.raises(ConfigError, match=r"no exit gate for a model with per-size CTC heads"):
        gate_layers(s2t)


def test_the_gate_is_fitted_on_the_layers_the_decoder_reads(model_dir):
    from types import SimpleNamespace

    from espnet_layerprune.inference.calibration import fit_exit_gate, gate_layers

    config, model = model_dir
    probe = Speech2Text(str(config), str(model), **OPTS)
    utts = [SimpleNamespace(speech=_speech(seed=s), text="a b") for s in range(4)]
    gate = fit_exit_gate(probe, utts, exit_every=2)
    assert gate.layers == (2, 4) and gate.info["samples"] == 8
    s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.5, exit_measure="learned",
                      exit_gate=gate, exit_every=2, **OPTS)
    s2t(utts[0].speech)
    assert s2t.last_exit["layer"] in (2, 4) and s2t.last_exit["reads"] <= 2
    with pytest.raises(ConfigError, match=r"fitted on layers \[2, 4\], but this decode reads layers \[1, 2, 3, 4\]"):
        Speech2Text(str(config), str(model), prune_depth="auto", exit_threshold=0.5, exit_measure="learned",
                    exit_gate=gate, **OPTS)
    with pytest.raises(ConfigError, match=r"--exit_every must be in \[1, 3\]"):
        gate_layers(probe, exit_every=5)

"""bin.calibrate measures every depth; --prune_budget then decodes the plan it picks."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import yaml
from model_dirs import per_size_supernet_dir, random_model_dir

from espnet_layerprune.bin import asr_inference, calibrate
from espnet_layerprune.inference.speech2text import Speech2Text
from espnet_layerprune.core.errors import ConfigError


@pytest.fixture
def calibrated(tmp_path):
    config, model = random_model_dir(tmp_path, encoder_conf={"interctc_layer_idx": "all"},
                                     model_conf={"interctc_weight": 0.5})
    data = tmp_path / "dev"
    data.mkdir()
    rng = np.random.default_rng(0)
    wav, text = [], []
    for i in range(3):
        soundfile.write(data / f"u{i}.wav", (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
        wav.append(f"u{i} {data / f'u{i}.wav'}")
        text.append(f"u{i} a b")
    (data / "wav.scp").write_text("\n".join(wav) + "\n")
    (data / "text").write_text("\n".join(text) + "\n")
    argv = ["--asr_train_config", str(config), "--asr_model_file", str(model), "--data", str(data),
            "--timing_utts", "2", "--repeats", "1"]
    table = calibrate.main(argv)
    return config, model, data, table, argv


def test_calibration_lists_every_depth_with_error_and_cost(calibrated):
    config, model, _, table, argv = calibrated
    assert table == model.parent / "calibration.yaml"
    plans = yaml.safe_load(table.read_text())["plans"]
    assert [p["request"] for p in plans] == [{"prune_depth": d} for d in (1, 2, 3)]
    assert [p["kept_layers"] for p in plans] == [[1], [1, 2], [1, 2, 3]]
    params = [p["params"] for p in plans]
    flops = [p["flops"] for p in plans]
    assert params == sorted(params) and len(set(params)) == 3  # each layer adds parameters and work
    assert flops == sorted(flops) and len(set(flops)) == 3
    assert all(p["rtf"] > 0 and 0 <= p["dev_wer"] for p in plans)
    with pytest.raises(SystemExit, match="--overwrite true"):  # nothing is replaced unasked
        calibrate.main(argv)


def test_the_table_says_what_its_costs_measure(calibrated):
    table = yaml.safe_load(calibrated[3].read_text())
    assert table["sample_rate"] == 16000 and table["timing_utts"] == 2
    assert table["timing_sample"] == "2 of 3 dev utterances, evenly spaced in length (1.00-1.00 s, 2.0 s of audio)"
    assert table["params_counted"].endswith("not the attention decoder (the calibrated decoding never runs it)")


def test_budget_decodes_the_most_accurate_plan_that_fits(calibrated, tmp_path):
    config, model, data, table, _ = calibrated
    plans = yaml.safe_load(table.read_text())["plans"]
    limit = plans[1]["params"]  # depths 1 and 2 fit
    best = min(p["dev_wer"] for p in plans[:2])  # within 0.2 points of the best: tied, the smaller wins
    expected = min((p for p in plans[:2] if p["dev_wer"] <= best + 0.2), key=lambda p: p["params"])
    s2t = Speech2Text(str(config), str(model), prune_budget=f"params={limit}", ctc_greedy=True, beam_size=1,
                      ctc_weight=1.0)
    assert list(s2t.pruning.kept_layers) == expected["kept_layers"]
    out = tmp_path / "decode"
    asr_inference.main(["--asr_train_config", str(config), "--asr_model_file", str(model),
                        "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound", "--output_dir", str(out),
                        "--ctc_greedy", "true", "--beam_size", "1", "--ctc_weight", "1.0",
                        "--prune_budget", f"params={limit}"])
    info = yaml.safe_load((out / "pruning.yaml").read_text())
    assert info["request"] == {"prune_budget": f"params={limit}"}
    assert info["budget_choice"]["request"] == expected["request"]
    assert info["kept_layers"] == expected["kept_layers"]


def test_budget_decode_logs_its_choice_and_kept_layers_at_info(calibrated, tmp_path):
    """A real process (pytest's log capture hides the bug in-process): a warning logged while the
    budget is resolved must not configure the root logger at WARNING before ESPnet does."""
    config, model, data, table, _ = calibrated
    limit = yaml.safe_load(table.read_text())["plans"][1]["params"]
    done = subprocess.run([sys.executable, "-m", "espnet_layerprune.bin.asr_inference", "--asr_train_config",
                           str(config), "--asr_model_file", str(model), "--data_path_and_name_and_type",
                           f"{data}/wav.scp,speech,sound", "--output_dir", str(tmp_path / "decode"),
                           "--ctc_greedy", "true", "--beam_size", "1", "--ctc_weight", "1.0",
                           "--prune_budget", f"params={limit}"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"INFO: --prune_budget params=\S+: chose --prune_depth \d, kept layers [\d,]+ \(dev WER .*\): "
                     r"the (most accurate|cheapest of \d plans within 0.2 WER points of the best dev WER, .*\)); ",
                     done.stderr), done.stderr[-3000:]
    assert done.stderr.count(": chose ") == 1, done.stderr[-3000:]  # once, not again when the model is built
    assert re.search(r"INFO: layer pruning: keeping \d+/3 encoder layers", done.stderr), done.stderr[-3000:]


def test_every_kind_of_request_names_its_kept_layers_and_why_at_info(calibrated, tmp_path):
    """One real decode process per kind of request (run side by side): the INFO line that says which
    layers run and why, for a depth, a layer list, a trained size, a budget on FLOPs and RTF, and early
    exit (the network it starts from, then each utterance's exit layer)."""
    config, model, data, table, _ = calibrated
    flops = yaml.safe_load(table.read_text())["plans"][1]["flops"]
    (tmp_path / "sized").mkdir()
    sized = per_size_supernet_dir(tmp_path / "sized")
    kinds = {
        "depth": (config, ["--prune_depth", "2"], [r"keeping 2/3 encoder layers \[1, 2\] \(default rule: keep the "
                                                   r"first N layers\)"]),
        "layers": (config, ["--prune_layers", "1,3"],
                   [r"keeping 2/3 encoder layers \[1, 3\] \(explicit --prune_layers\)"]),
        "size": (sized[0], ["--prune_size", "8"], [r"keeping 2/3 encoder layers \[1, 3\] \(supernet learned masks\)"]),
        "budget": (config, ["--prune_budget", f"flops={flops},rtf=1"],
                   [r"--prune_budget flops=\S+,rtf=1: chose --prune_depth [12], kept layers 1(,2)? \(",
                    r"keeping [12]/3 encoder layers \[1(, 2)?\] \(default rule"]),
        "auto": (config, ["--prune_depth", "auto", "--exit_threshold", "0.5"],
                 [r"keeping 3/3 encoder layers \[1, 2, 3\] \(full depth\)",
                  r"early exit: max_posterior >= 0.5, from layer 1 on", r"early exit at layer \d of 3"]),
    }
    running = {
        kind: subprocess.Popen([sys.executable, "-m", "espnet_layerprune.bin.asr_inference", "--asr_train_config",
                                str(conf), "--asr_model_file", str(conf.parent / "model.pth"),
                                "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound",
                                "--output_dir", str(tmp_path / kind), "--ctc_greedy", "true", "--beam_size", "1",
                                "--ctc_weight", "1.0", *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
        for kind, (conf, extra, _) in kinds.items()
    }
    for kind, process in running.items():
        log = process.communicate(timeout=300)[1]
        assert process.returncode == 0, f"{kind}: {log[-3000:]}"
        for pattern in kinds[kind][2]:
            assert re.search(r"INFO: .*" + pattern, log), f"{kind}: no INFO line {pattern!r} in\n{log[-3000:]}"


def test_impossible_budget_and_conflicting_flags_fail_before_decoding(calibrated, tmp_path, capsys):
    config, model, data, _, _ = calibrated
    out = tmp_path / "decode"
    base = ["--asr_train_config", str(config), "--asr_model_file", str(model), "--output_dir", str(out),
            "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound"]
    for extra, message in [(["--prune_budget", "params=10"], "no calibrated plan fits --prune_budget params=10"),
                           (["--prune_budget", "rtf=0.1", "--prune_depth", "2"],
                            "give only one of --prune_budget, --prune_depth"),
                           (["--prune_budget", "speed=2"], "keys must be params, flops, rtf")]:
        with pytest.raises(SystemExit) as exc:
            asr_inference.main(base + extra)
        assert message in str(exc.value.code) and not out.exists()
    with pytest.raises(ConfigError, match="give only one of --prune_budget, --prune_size"):
        Speech2Text(str(config), str(model), prune_budget="rtf=1", prune_size=2)
    with pytest.raises(ConfigError, match="give only one of --prune_budget, --prune_depth"):
        Speech2Text(str(config), str(model), prune_budget="rtf=1", prune_depth="auto", exit_threshold=0.9)


def test_calibration_fits_the_exit_gate_that_learned_early_exit_decodes_with(calibrated, tmp_path):
    config, model, data, _, argv = calibrated
    gate = yaml.safe_load((model.parent / "exit_gate.yaml").read_text())
    assert gate["utterances"] == 3 and gate["samples"] == 9 and len(gate["weights"]) == len(gate["features"])
    s2t = Speech2Text(str(config), str(model), prune_depth="auto", exit_measure="learned", exit_threshold=1e-6,
                      exit_min_depth=2, ctc_greedy=True, beam_size=1, ctc_weight=1.0)
    speech = soundfile.read(data / "u0.wav")[0].astype(np.float32)
    text = s2t(speech)[0][0]
    assert s2t.last_exit["layer"] == 2 and text == s2t.decode_all_depths(speech)[2]
    out = tmp_path / "decode"
    asr_inference.main(["--asr_train_config", str(config), "--asr_model_file", str(model),
                        "--data_path_and_name_and_type", f"{data}/wav.scp,speech,sound", "--output_dir", str(out),
                        "--ctc_greedy", "true", "--beam_size", "1", "--ctc_weight", "1.0",
                        "--prune_depth", "auto", "--exit_measure", "learned", "--exit_threshold", "1.0"])
    info = yaml.safe_load((out / "pruning.yaml").read_text())["early_exit"]
    assert info["measure"] == "learned" and info["mean_exit_layer"] == 3  # probability 1.0: only the top
    (model.parent / "calibration.yaml").unlink()
    with pytest.raises(SystemExit, match="exit_gate.yaml exists; pass --overwrite true"):
        calibrate.main(argv)  # the gate is not replaced unasked either
    calibrate.main(argv + ["--exit_gate", "false"])

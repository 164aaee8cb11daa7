"""The scale recipes (egs2/{librispeech_100,librispeech,tedlium2}/asr1): their configs build real models
through ESPnet's ASRTask and train one step, and run.sh routes its options to asr.sh as documented.

The corpora and GPUs these recipes need are not here, so asr.sh itself is replaced by a script that
records its command lines: what is tested is our wrapper (egs2/TEMPLATE/asr1/supernet_recipe.sh),
not ESPnet. ESPnet's real asr.sh is run end to end on synth_en in tests/e2e/test_asr_sh.py.
"""

import argparse
import os
import subprocess
from pathlib import Path

import pytest
import torch
import yaml

import espnet_layerprune  # noqa: F401  (registers the encoders and model: layerprune)
from espnet2.tasks.asr import ASRTask
from model_dirs import espnet_default_config

REPO = Path(__file__).resolve().parents[1]
RECIPES = ["librispeech_100", "librispeech", "tedlium2"]
CONFIGS = sorted(p for r in RECIPES for p in (REPO / "egs2" / r / "asr1" / "conf").glob("train_*.yaml"))


def test_every_recipe_has_the_three_methods_and_librispeech_100_also_for_e_branchformer():
    for recipe in RECIPES:
        names = {p.name for p in CONFIGS if p.parts[-4] == recipe}
        encoders = ("conformer", "e_branchformer") if recipe == "librispeech_100" else ("conformer",)
        assert names == {f"train_{m}_{e}.yaml" for m in ("supernet", "simple_top_k", "iterative_zero_out")
                         for e in encoders}


def _slow_if_large(config):
    """The 960 h recipe builds a 74M-parameter conformer: seconds of CPU per step."""
    marks = [pytest.mark.slow] if config.parts[-4] == "librispeech" else []
    return pytest.param(config, marks=marks, id=f"{config.parts[-4]}/{config.name}")


@pytest.mark.parametrize("config", [_slow_if_large(c) for c in CONFIGS])
def test_config_builds_and_trains_one_step(config):
    conf = espnet_default_config()
    conf.update(yaml.safe_load(config.read_text()))
    conf = {k: None if v == "none" else v for k, v in conf.items()}  # as ESPnet's argparse types do
    # What asr.sh adds: a token list (BPE 500/5000 there) and global MVN from collected stats.
    conf.update(token_list=["<blank>", "<unk>", *[f"t{i}" for i in range(40)], "<sos/eos>"], input_size=None,
                normalize=None)
    supernet = conf.get("model_conf", {}).get("supernet")
    if supernet:  # no schedule arithmetic: the training entry point fills these in
        assert supernet["stage1_fraction"] == 0.4
        assert "accum_grad" not in supernet and "stage1_steps" not in supernet
        supernet.update(accum_grad=conf["accum_grad"], total_steps=100 * conf["max_epoch"])
    torch.manual_seed(0)
    model = ASRTask.build_model(argparse.Namespace(**conf))
    expected = {"librispeech_100": 256, "librispeech": 512, "tedlium2": 384}[config.parts[-4]]
    assert model.encoder.output_size() == expected
    model.train()
    speech = torch.randn(2, 16000)
    loss, stats, _ = model(speech=speech, speech_lengths=torch.tensor([16000, 12000]),
                           text=torch.randint(2, 40, (2, 6)), text_lengths=torch.tensor([6, 4]))
    loss.backward()
    assert torch.isfinite(loss)
    assert sum(p.grad is not None for p in model.encoder.parameters()) > 0


def _fake_espnet_recipe(tmp_path: Path) -> Path:
    recipe = tmp_path / "espnet_recipe"
    recipe.mkdir()
    asr_sh = recipe / "asr.sh"
    asr_sh.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> calls.txt\n')
    asr_sh.chmod(0o755)
    return recipe


def _run(recipe: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}")
    return subprocess.run([str(REPO / "egs2" / recipe / "asr1" / "run.sh"), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_run_sh_trains_then_decodes_every_depth(tmp_path):
    espnet_recipe = _fake_espnet_recipe(tmp_path)
    done = _run("tedlium2", "--espnet_recipe", str(espnet_recipe), "--prune_depths", "12 6", "--ngpu", "4")
    assert done.returncode == 0, done.stderr
    calls = (espnet_recipe / "calls.txt").read_text().splitlines()
    assert len(calls) == 3
    train, *decodes = calls
    config = REPO / "egs2" / "tedlium2" / "asr1" / "conf" / "train_supernet_conformer.yaml"
    assert f"--asr_config {config}" in train and "--stop_stage 11" in train
    assert "--python python -m espnet_layerprune.launch" in train and "--train_set train" in train
    assert all("--ngpu 4" in c for c in calls)  # extra options reach every asr.sh call
    assert [c.split("--inference_args ")[1].split(" --")[0] for c in decodes] == ["--prune_depth 12",
                                                                                 "--prune_depth 6"]


def test_run_sh_decodes_the_sizes_of_a_data_driven_config(tmp_path):
    espnet_recipe = _fake_espnet_recipe(tmp_path)
    done = _run("librispeech_100", "--espnet_recipe", str(espnet_recipe), "--prune_depths", "6",
                "--train_config", str(REPO / "egs2/librispeech_100/asr1/conf/train_simple_top_k_conformer.yaml"))
    assert done.returncode == 0, done.stderr
    calls = (espnet_recipe / "calls.txt").read_text().splitlines()
    args = [c.split("--inference_args ")[1].split(" --")[0] for c in calls[1:]]
    assert args == ["--prune_depth 6"] + [f"--prune_size {k}" for k in (12, 24, 36, 48)]


def _stages(call: str):
    return int(call.split("--stage ")[1].split()[0]), int(call.split("--stop_stage ")[1].split()[0])


@pytest.mark.parametrize("args,train,decode", [
    (["--stage", "5"], (5, 11), (12, 13)),
    (["--stage", "12"], None, (12, 13)),
    (["--stage", "13"], None, (13, 13)),
    (["--stop_stage", "11"], (1, 11), None),
    (["--stop_stage", "13"], (1, 11), (12, 13)),
    (["--stage", "3", "--stop_stage", "4"], (3, 4), None),
])
def test_stage_options_mean_what_they_say(tmp_path, args, train, decode):
    """Version 0.1 passed --stage after its own, so asr.sh kept the user's value: --stage 5 ran
    stages 5-13 once per depth, and --stop_stage 13 added an unpruned decode."""
    espnet_recipe = _fake_espnet_recipe(tmp_path)
    done = _run("tedlium2", "--espnet_recipe", str(espnet_recipe), "--prune_depths", "12 6", *args)
    assert done.returncode == 0, done.stderr
    calls = (espnet_recipe / "calls.txt").read_text().splitlines()
    trains = [c for c in calls if "--inference_args" not in c]
    decodes = [c for c in calls if "--inference_args" in c]
    assert [_stages(c) for c in trains] == ([train] if train else [])
    assert [_stages(c) for c in decodes] == ([decode] * 2 if decode else [])
    assert all(c.count("--stage ") == 1 and c.count("--stop_stage ") == 1 for c in calls)


@pytest.mark.parametrize("args,message", [
    (["--espnet_recipe", "ESPNET", "--stage", "14"], "--stage and --stop_stage must be integers in [1, 13]"),
    (["--espnet_recipe", "ESPNET", "--stage", "9", "--stop_stage", "3"], "--stage 9 is after --stop_stage 3"),
    ([], "--espnet_recipe must be ESPnet's egs2/librispeech/asr1"),
    (["--espnet_recipe"], "--espnet_recipe needs a value"),
    (["--espnet_recipe", "ESPNET", "--train_config", "nope.yaml"], "--train_config nope.yaml not found"),
])
def test_run_sh_bad_options_are_named(tmp_path, args, message):
    args = [str(_fake_espnet_recipe(tmp_path)) if a == "ESPNET" else a for a in args]
    done = _run("librispeech", *args)
    assert done.returncode != 0 and message in done.stderr
    assert not (tmp_path / "espnet_recipe" / "calls.txt").exists()


@pytest.mark.parametrize("recipe", RECIPES)
def test_decoding_config_is_greedy_ctc_as_documented(recipe):
    from espnet_layerprune.bin.asr_inference import get_parser

    path = REPO / "egs2" / recipe / "asr1" / "conf" / "decode_ctc.yaml"
    conf = yaml.safe_load(path.read_text())
    assert conf["ctc_greedy"] is True and conf["batch_size"] == 1
    args = get_parser().parse_args(
        ["--config", str(path), "--output_dir", "out", "--data_path_and_name_and_type", "wav.scp,speech,sound"]
    )
    assert args.ctc_greedy is True and args.beam_size == 1

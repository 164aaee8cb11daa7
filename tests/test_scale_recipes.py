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

REPO = Path(__file__).resolve().parents[1]
RECIPES = ["librispeech_100", "librispeech", "tedlium2"]
CONFIGS = sorted(p for r in RECIPES for p in (REPO / "egs2" / r / "asr1" / "conf").glob("train_*.yaml"))


def test_every_recipe_has_the_three_methods():
    for recipe in RECIPES:
        names = {p.name for p in CONFIGS if p.parts[-4] == recipe}
        assert names == {f"train_{m}_conformer.yaml" for m in ("supernet", "simple_top_k", "iterative_zero_out")}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parts[-4]}/{p.name}")
def test_config_builds_and_trains_one_step(config):
    conf = ASRTask.get_default_config()
    conf.update(yaml.safe_load(config.read_text()))
    conf = {k: None if v == "none" else v for k, v in conf.items()}  # as ESPnet's argparse types do
    # What asr.sh adds: a token list (BPE 500/5000 there) and global MVN from collected stats.
    conf.update(token_list=["<blank>", "<unk>", *[f"t{i}" for i in range(40)], "<sos/eos>"], input_size=None,
                normalize=None)
    supernet = conf.get("model_conf", {}).get("supernet")
    if supernet:  # the schedule's accumulation must match the trainer's
        assert supernet["accum_grad"] == conf["accum_grad"]
        assert supernet["stage1_steps"] < supernet["total_steps"]
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
    assert all(c.endswith("--ngpu 4") for c in calls)  # extra options reach every asr.sh call
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


@pytest.mark.parametrize("args,message", [
    ([], "--espnet_recipe must be ESPnet's egs2/librispeech/asr1"),
    (["--espnet_recipe"], "--espnet_recipe needs a value"),
    (["--espnet_recipe", "ESPNET", "--train_config", "nope.yaml"], "--train_config nope.yaml not found"),
])
def test_run_sh_bad_options_are_named(tmp_path, args, message):
    args = [str(_fake_espnet_recipe(tmp_path)) if a == "ESPNET" else a for a in args]
    done = _run("librispeech", *args)
    assert done.returncode != 0 and message in done.stderr
    assert not (tmp_path / "espnet_recipe" / "calls.txt").exists()

"""The asr.sh --python launcher maps training/decoding and nothing else."""

import subprocess
import sys

from espnet_layerprune.launch import rewrite


def test_training_and_decoding_are_mapped():
    assert rewrite(["-m", "espnet2.bin.asr_train", "--config", "c.yaml"]) == [
        "-m", "espnet_layerprune.bin.asr_train", "--config", "c.yaml"]
    assert rewrite(["-m", "espnet2.bin.asr_inference", "--prune_depth", "3"])[1] == (
        "espnet_layerprune.bin.asr_inference")


def test_everything_else_is_unchanged():
    for argv in (["-m", "espnet2.bin.tokenize_text", "-m", "x"], ["pyscripts/a.py", "-m", "espnet2.bin.asr_train"], ["-c", "print(1)"]):
        assert rewrite(argv) == argv


def test_launcher_runs_a_script_with_the_same_interpreter():
    out = subprocess.run(
        [sys.executable, "-m", "espnet_layerprune.launch", "-c", "import sys; print(sys.executable, sys.argv[1:])", "a"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip() == f"{sys.executable} ['a']"

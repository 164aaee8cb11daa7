"""Bad pruning options fail at once, name the option and its range, write nothing."""

import re

import pytest
import yaml

from espnet_layerprune.bin import asr_inference
from espnet_layerprune.bin.common import encoder_depth_from_config


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"encoder": "prunable_transformer", "encoder_conf": {"num_blocks": 12}}))
    return path


def _run(tmp_path, config, *extra):
    out = tmp_path / "decode"
    argv = [
        "--asr_train_config", str(config),
        "--asr_model_file", str(tmp_path / "missing.pth"),
        "--data_path_and_name_and_type", f"{tmp_path}/wav.scp,speech,sound",
        "--output_dir", str(out),
        *extra,
    ]
    return out, argv


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--prune_depth", "0"], r"--prune_depth must be an integer >= 1"),
        (["--prune_depth", "-3"], r"--prune_depth must be an integer >= 1"),
        (["--prune_depth", "2.5"], r"--prune_depth must be an integer >= 1"),
        (["--prune_depth", "six"], r"--prune_depth must be an integer >= 1"),
        (["--prune_depth", "13"], r"--prune_depth must be in \[1, 12\], got 13"),
        (["--prune_layers", "1,1,2"], r"--prune_layers has duplicate entries"),
        (["--prune_layers", "0,2"], r"--prune_layers entries must be in \[1, 12\]"),
        (["--prune_layers", "1,13"], r"--prune_layers entries must be in \[1, 12\]"),
        (["--prune_layers", "3,1"], r"--prune_layers must be in increasing order"),
        (["--prune_layers", "a,b"], r"--prune_layers must be comma-separated integers or ranges"),
        (["--prune_depth", "3", "--prune_layers", "1,2,3"], r"give only one of --prune_depth, --prune_layers"),
    ],
)
def test_bad_pruning_options(tmp_path, config, capsys, extra, message):
    out, argv = _run(tmp_path, config, *extra)
    with pytest.raises(SystemExit) as exc:
        asr_inference.main(argv)
    err = capsys.readouterr().err + str(exc.value.code)
    assert exc.value.code != 0
    assert re.search(message, err), err
    assert not out.exists()


def test_help_lists_pruning_options(capsys):
    with pytest.raises(SystemExit) as exc:
        asr_inference.main(["--help"])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    for option in ("--prune_depth", "--prune_layers", "--prune_size"):
        assert option in help_text


def test_depth_is_read_from_the_training_config(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"encoder": "transformer", "encoder_conf": {}}))
    assert encoder_depth_from_config(path) == 6
    path.write_text(yaml.safe_dump({"encoder": "prunable_transformer", "encoder_conf": {"num_blocks": 9}}))
    assert encoder_depth_from_config(path) == 9


def test_missing_model_file_is_one_line(tmp_path, config, capsys):
    out, argv = _run(tmp_path, config, "--prune_depth", "3")
    with pytest.raises(SystemExit) as exc:
        asr_inference.main(argv)
    assert exc.value.code == f"error: --asr_model_file {tmp_path / 'missing.pth'} does not exist"
    assert not out.exists()


def test_prune_layer_ranges_and_the_plan_switch_are_options():
    args = asr_inference.get_parser().parse_args(
        ["--output_dir", "o", "--data_path_and_name_and_type", "w,speech,sound",
         "--prune_layers", "1-3,6", "--use_prune_plan", "false"]
    )
    assert args.prune_layers == [1, 2, 3, 6] and args.use_prune_plan is False


def test_speech2text_is_importable_from_the_command_line_module_as_documented():
    from espnet_layerprune.bin.asr_inference import Speech2Text, best_text
    from espnet_layerprune.inference import speech2text

    assert Speech2Text is speech2text.Speech2Text and best_text is speech2text.best_text

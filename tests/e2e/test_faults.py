"""Faults and bad inputs: what happens, and that it is clear.

(a) a training killed with SIGKILL mid-epoch resumes (run.sh stage 4 passes
    ``--resume true``) to the same final state as an uninterrupted run;
(b) truncated or corrupted checkpoints give a clear error on resume and decoding;
(c) impossible pruning requests give a clear error;
(d) a model trained by stock ESPnet decodes with ``--prune_depth`` (early exit);
(e) a model of this package decoded by stock ESPnet fails before any weights load;
(f) empty, too short, wrongly sampled audio and unknown characters.

Decoding-side checks live in ``espnet_layerprune.bin.asr_inference``, which calls
:mod:`espnet_layerprune.checks` (docs/robustness.md).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

import espnet_layerprune  # noqa: F401
from espnet_layerprune.checks import audio, checkpoints, training
from espnet_layerprune.core.errors import InputError
from espnet_layerprune.bin import asr_inference, asr_train

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- helpers
def _copy_model(exp: Path, dest: Path, model: str = "valid.loss.best.pth") -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(exp / "config.yaml", dest / "config.yaml")
    shutil.copy(exp / model, dest / "model.pth")
    return dest


def _decode_argv(model_dir: Path, wav_scp: Path, out: Path, *extra: str):
    return [
        "--asr_train_config", str(model_dir / "config.yaml"),
        "--asr_model_file", str(model_dir / "model.pth"),
        "--data_path_and_name_and_type", f"{wav_scp},speech,sound",
        "--output_dir", str(out), "--ctc_weight", "1.0", "--beam_size", "1", "--lm_weight", "0",
        *extra,
    ]


def _one_utterance(tiny_recipe, tmp: Path) -> Path:
    wav_scp = tmp / "one.scp"
    wav_scp.write_text((tiny_recipe["data"] / "test" / "wav.scp").read_text().splitlines()[0] + "\n")
    return wav_scp


def _decode(argv):
    """Our decoding entry point in-process; returns (exit message or None, 1-best texts)."""
    out = Path(argv[argv.index("--output_dir") + 1])
    try:
        asr_inference.main(argv)
        message = None
    except SystemExit as e:
        message = str(e.code)
    text = out / "1best_recog" / "text"
    hyps = dict(line.split(maxsplit=1) if " " in line.strip() else (line.strip(), "")
                for line in text.read_text().splitlines()) if text.exists() else {}
    return message, hyps


def _train_argv(work: Path, config: Path, out: Path, data: Path = None, *extra: str):
    """The arguments of run.sh's stage 4 (our training entry point), resuming."""
    from tiny_recipe import train_argv

    return [*train_argv(work, config, out, data), "--ngpu", "0", "--resume", "true", *extra]


def _layerprune_config(tmp: Path, **supernet) -> Path:
    from tiny_recipe import TINY_CONFIG

    conf = yaml.safe_load(TINY_CONFIG.read_text())
    for key in ("interctc_layer_idx", "stochastic_depth_rate", "stochastic_depth_schedule"):
        conf["encoder_conf"].pop(key)
    conf["encoder_conf"]["unit_granularity"] = "sublayer"  # 8 units
    conf["model"] = "layerprune"
    conf["model_conf"] = {"ctc_weight": 1.0, "supernet": {
        "method": "simple_top_k", "sizes": [2, 4, 6, 8], "anneal_step": 2, "stage2_stochastic_depth": 0.3,
        "seed": 0, "accum_grad": 1, **supernet}}
    path = tmp / "train_tiny_layerprune.yaml"
    path.write_text(yaml.safe_dump(conf, sort_keys=False))
    return path


def _layerprune_available() -> bool:
    from espnet2.tasks.asr import model_choices

    return "layerprune" in model_choices.classes


# ---------------------------------------------------------------- (a) kill and resume
KILLER = '''\
# Test helper: SIGKILL this process right before optimizer update number
# $LAYERPRUNE_TEST_SIGKILL_AT_UPDATE (no cleanup, no atexit: as an OOM kill).
import os
_at = int(os.environ.get("LAYERPRUNE_TEST_SIGKILL_AT_UPDATE", "0"))
if _at:
    import signal
    from torch.optim.optimizer import register_optimizer_step_pre_hook
    _done = [0]
    def _kill(optimizer, args, kwargs):
        _done[0] += 1
        if _done[0] == _at:
            os.kill(os.getpid(), signal.SIGKILL)
    register_optimizer_step_pre_hook(_kill)
'''


def _run_stage4(work: Path, exp_dir: Path, config: Path, kill_at: int = 0):
    """run.sh stage 4 into ``exp_dir`` (statistics of the tiny recipe); optionally SIGKILLed."""
    from tiny_recipe import run_recipe

    exp_dir.mkdir(parents=True, exist_ok=True)
    stats = exp_dir / "asr_stats_char"
    if not stats.exists():
        stats.symlink_to(work / "exp" / "asr_stats_char")
    hook = exp_dir / "killer"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(KILLER)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(hook), prepend=os.pathsep)
        mp.setenv("LAYERPRUNE_TEST_SIGKILL_AT_UPDATE", str(kill_at))
        try:
            run_recipe(work, "--stage", "4", "--stop_stage", "4", "--exp_dir", str(exp_dir), config=config)
        except AssertionError as e:
            return False, str(e)
    return True, ""


def _updates_per_epoch(train_log: str) -> int:
    return int(re.search(r"\[train\] Batch sampler: .*N-batch=(\d+)", train_log).group(1))


def _states(checkpoint: Path):
    return torch.load(checkpoint, map_location="cpu", weights_only=True)


def _assert_same_final_state(resumed: Path, reference: Path):
    a, b = _states(resumed / "checkpoint.pth"), _states(reference / "checkpoint.pth")
    assert a["reporter"]["epoch"] == b["reporter"]["epoch"]
    assert a["model"].keys() == b["model"].keys()
    differ = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
    assert not differ, f"weights differ from the uninterrupted run: {differ[:5]}"
    for oa, ob in zip(a["optimizers"], b["optimizers"]):
        assert [float(s["step"]) for s in oa["state"].values()] == [float(s["step"]) for s in ob["state"].values()]
        assert all(torch.equal(sa["exp_avg"], sb["exp_avg"])
                   for sa, sb in zip(oa["state"].values(), ob["state"].values()))
    assert a["schedulers"] == b["schedulers"]
    assert sorted(p.name for p in resumed.glob("*.pth")) == sorted(p.name for p in reference.glob("*.pth"))
    return a


@pytest.fixture(scope="module")
def kill_point(tiny_recipe):
    """Update at which to kill: the third update of epoch 2 (two updates of it done)."""
    return _updates_per_epoch((tiny_recipe["exp"] / "train.log").read_text()) + 3


def _kill_then_resume(work: Path, exp_dir: Path, config: Path, kill_at: int) -> Path:
    ok, log = _run_stage4(work, exp_dir, config, kill_at=kill_at)
    assert not ok, "the training was not killed"
    asr_dir = next(exp_dir.glob("asr_train_*_char"))
    train_log = (asr_dir / "train.log").read_text()
    # Killed in epoch 2: epoch 1 is checkpointed, epoch 2 is not.
    assert "2/2epoch started" in train_log and "2epoch results" not in train_log
    assert _states(asr_dir / "checkpoint.pth")["reporter"]["epoch"] == 1
    assert not (asr_dir / "2epoch.pth").exists()
    ok, log = _run_stage4(work, exp_dir, config)
    assert ok, log
    train_log = (asr_dir / "train.log").read_text()
    assert f"The training was resumed using {asr_dir}/checkpoint.pth" in train_log
    assert train_log.count("2/2epoch started") == 2  # the interrupted epoch is redone
    assert train_log.count("1/2epoch started") == 1
    return asr_dir


def test_killed_mid_epoch_resumes_to_the_uninterrupted_final_state(tiny_recipe, kill_point, tmp_path):
    from tiny_recipe import TINY_CONFIG

    resumed = _kill_then_resume(tiny_recipe["work"], tmp_path / "exp", TINY_CONFIG, kill_point)
    # The session's tiny recipe is the uninterrupted run (same run.sh stage 4, same data).
    _assert_same_final_state(resumed, tiny_recipe["exp"])


def test_killed_layerprune_training_in_bf16_resumes_with_its_schedule_and_saves_float32(
        tiny_recipe, kill_point, tmp_path):
    """A data-driven supernet trained with ``use_amp: true`` on a CPU (bf16 autocast in the encoder, or
    fp32 with a warning on a CPU without bf16 units), SIGKILLed mid-epoch, resumes to the uninterrupted
    run's final state: weights, optimizer, scheduler and the supernet schedule (masks frozen in the redone
    epoch). Its checkpoints are float32 and load into stock ESPnet."""
    if not _layerprune_available():
        pytest.skip("model: layerprune (espnet_layerprune.models.layerprune) is not available")
    from espnet_layerprune.encoders.precision import bf16_support

    # Stage 1 ends inside the interrupted epoch: the masks are frozen during the redone epoch.
    config = _layerprune_config(tmp_path, stage1_steps=kill_point - 2)
    config.write_text(config.read_text() + "use_amp: true\n")
    ok, log = _run_stage4(tiny_recipe["work"], tmp_path / "reference", config)
    assert ok, log
    reference = next((tmp_path / "reference").glob("asr_train_*_char"))  # not asr_stats_char
    train_log = (reference / "train.log").read_text()
    if bf16_support()[0]:
        assert "training precision: bfloat16 autocast in the encoder" in train_log
    else:
        assert "avx512_bf16" in train_log and "training precision: float32 throughout" in train_log
    assert "scaler state is not found" not in train_log
    resumed = _kill_then_resume(tiny_recipe["work"], tmp_path / "killed", config, kill_point)
    final = _assert_same_final_state(resumed, reference)
    model = final["model"]
    assert model["supernet.frozen"].item() == 1.0
    assert model["supernet.num_forwards"].item() == 2 * (kill_point - 3)
    assert not torch.equal(model["supernet.frozen_scores"], torch.zeros_like(model["supernet.frozen_scores"]))
    assert {t.dtype for t in model.values() if t.is_floating_point()} == {torch.float32}
    from espnet2.tasks.asr import ASRTask

    built, _ = ASRTask.build_model_from_file(resumed / "config.yaml", resumed / "valid.loss.best.pth", "cpu")
    assert next(built.parameters()).dtype == torch.float32


# ---------------------------------------------------------------- (b) broken checkpoints
def _broken_copies(src: Path, dest: Path):
    data = src.read_bytes()
    dest.mkdir(parents=True, exist_ok=True)
    flipped = bytearray(data)
    middle = len(data) // 2
    flipped[middle:middle + 64] = bytes(b ^ 0xFF for b in flipped[middle:middle + 64])
    files = {"truncated": data[: len(data) // 2], "flipped": bytes(flipped), "empty": b""}
    for name, content in files.items():
        (dest / f"{name}.pth").write_bytes(content)
    return {name: dest / f"{name}.pth" for name in files}


@pytest.mark.parametrize("kind,message", [
    ("truncated", r"is truncated or corrupted: it is not a complete archive .* ESPNET_ALLOW_UNSAFE_TORCH_LOAD will not help"),
    ("flipped", r"is corrupted: its entry .* fails the CRC check"),
    ("empty", r"is empty \(0 bytes\)"),
])
def test_broken_model_files_are_named_as_such(tiny_recipe, tmp_path, kind, message):
    checkpoints.check_checkpoint(tiny_recipe["exp"] / "valid.loss.best.pth")  # intact: no error
    broken = _broken_copies(tiny_recipe["exp"] / "valid.loss.best.pth", tmp_path)[kind]
    with pytest.raises(InputError, match=message):
        checkpoints.check_checkpoint(broken)


def test_resume_from_a_truncated_checkpoint_stops_with_a_clear_error(tiny_recipe, tmp_path):
    from tiny_recipe import TINY_CONFIG

    out = tmp_path / "exp"
    out.mkdir()
    data = (tiny_recipe["exp"] / "checkpoint.pth").read_bytes()
    (out / "checkpoint.pth").write_bytes(data[: len(data) // 3])
    with pytest.raises(SystemExit) as exc:
        asr_train.main(_train_argv(tiny_recipe["work"], TINY_CONFIG, out))
    assert re.search(r"error: cannot resume: model file .*checkpoint.pth .* truncated or corrupted.*"
                     r"--init_param", str(exc.value.code)), exc.value.code


@pytest.mark.parametrize("kind", ["truncated", "flipped", "empty"])
def test_decoding_a_broken_model_file_names_the_problem(tiny_recipe, tmp_path, kind):
    model_dir = _copy_model(tiny_recipe["exp"], tmp_path / "model")
    shutil.copy(_broken_copies(model_dir / "model.pth", tmp_path / "broken")[kind], model_dir / "model.pth")
    message, _ = _decode(_decode_argv(model_dir, _one_utterance(tiny_recipe, tmp_path), tmp_path / "out"))
    assert message is not None and "model.pth" in message and ("corrupted" in message or "empty" in message)


def test_config_that_builds_more_layers_than_the_file_holds_is_refused(tiny_recipe, tmp_path):
    model_dir = _copy_model(tiny_recipe["exp"], tmp_path / "model")
    conf = yaml.safe_load((model_dir / "config.yaml").read_text())
    conf["encoder_conf"]["num_blocks"] = 6
    (model_dir / "config.yaml").write_text(yaml.safe_dump(conf))
    message, _ = _decode(_decode_argv(model_dir, _one_utterance(tiny_recipe, tmp_path), tmp_path / "out"))
    assert message is not None and "lacks" in message and "randomly initialised" in message


def test_check_checkpoint_matches_finds_tensors_the_file_lacks(tiny_recipe):
    from espnet2.tasks.asr import ASRTask

    exp = tiny_recipe["exp"]
    conf = yaml.safe_load((exp / "config.yaml").read_text())
    model = ASRTask.build_model(argparse.Namespace(**conf))
    checkpoints.check_checkpoint_matches(model, exp / "valid.loss.best.pth")
    conf["encoder_conf"]["num_blocks"] = 6
    bigger = ASRTask.build_model(argparse.Namespace(**conf))
    with pytest.raises(InputError, match=r"lacks \d+ of the model's .*encoder\.encoders\.4\..*randomly"):
        checkpoints.check_checkpoint_matches(bigger, exp / "valid.loss.best.pth")


# ---------------------------------------------------------------- (c) impossible requests
@pytest.mark.parametrize("plan,extra,message", [
    (None, ["--prune_depth", "9"], r"--prune_depth must be in \[1, 4\], got 9"),
    ({"num_layers": 6, "depths": {2: {"layers": [1, 6]}}}, ["--prune_depth", "2"],
     r"prune plan .* was made for a 6-layer encoder but this model has 4 layers"),
    ({"num_layers": 4, "depths": {2: {"layers": [1, 4]}}}, ["--prune_depth", "3"],
     r"--prune_depth 3 is not in the prune plan .* \(it has depths \[2\]\)"),
])
def test_impossible_pruning_requests_are_refused(tiny_recipe, tmp_path, plan, extra, message):
    model_dir = _copy_model(tiny_recipe["exp"], tmp_path / "model")
    if plan is not None:
        (model_dir / "prune_plan.yaml").write_text(yaml.safe_dump(plan))
    err, hyps = _decode(_decode_argv(model_dir, tiny_recipe["data"] / "test" / "wav.scp", tmp_path / "out", *extra))
    assert err is not None and re.search(message, err), err
    assert not hyps


# ---------------------------------------------------------------- (d) stock models
@pytest.fixture(scope="module")
def stock_model(tiny_recipe, tmp_path_factory):
    """A stock ``encoder: transformer`` trained by ``python -m espnet2.bin.asr_train`` (1 epoch)."""
    from tiny_recipe import TINY_CONFIG

    tmp = tmp_path_factory.mktemp("stock")
    conf = yaml.safe_load(TINY_CONFIG.read_text())
    conf["encoder"] = "transformer"
    conf["encoder_conf"].update(interctc_layer_idx=[1, 2, 3])
    for key in ("stochastic_depth_rate", "stochastic_depth_schedule"):
        conf["encoder_conf"].pop(key)
    conf["max_epoch"] = 1
    config = tmp / "train_stock.yaml"
    config.write_text(yaml.safe_dump(conf))
    out = tmp / "exp"
    argv = _train_argv(tiny_recipe["work"], config, out)
    proc = subprocess.run([sys.executable, "-m", "espnet2.bin.asr_train", *argv], capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "espnet_layerprune" not in proc.stderr
    return out


def test_stock_transformer_decodes_at_any_depth(stock_model, tiny_recipe):
    from espnet2.bin.asr_inference import Speech2Text as StockSpeech2Text

    from espnet_layerprune.inference.speech2text import Speech2Text

    speech, _ = soundfile.read((tiny_recipe["data"] / "test" / "wav.scp").read_text().split()[1])
    x, n = torch.tensor(speech, dtype=torch.float32)[None], torch.tensor([len(speech)])
    files = dict(asr_train_config=stock_model / "config.yaml", asr_model_file=stock_model / "valid.loss.best.pth")
    stock = StockSpeech2Text(**files, ctc_weight=1.0, beam_size=1, lm_weight=0.0)
    assert type(stock.asr_model.encoder).__name__ == "TransformerEncoder"
    outputs = {}
    for depth in (None, 2):
        ours = Speech2Text(**files, ctc_weight=1.0, beam_size=1, lm_weight=0.0, prune_depth=depth)
        assert ours.pruning.kept_layers == ((1, 2, 3, 4) if depth is None else (1, 2))
        with torch.no_grad():
            enc, _ = ours.asr_model.encode(x, n)
        outputs[depth] = enc[0] if isinstance(enc, tuple) else enc
    with torch.no_grad():
        reference, _ = stock.asr_model.encode(x, n)
    reference = reference[0] if isinstance(reference, tuple) else reference
    assert torch.allclose(outputs[None], reference, atol=1e-6)  # same weights, same function
    assert not torch.allclose(outputs[2], reference)  # early exit after layer 2


# ---------------------------------------------------------------- (e) without this package
def test_stock_espnet_refuses_our_model_before_loading_weights(tiny_recipe, tmp_path):
    model_dir = _copy_model(tiny_recipe["exp"], tmp_path / "model")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "espnet2.bin.asr_inference",
         *_decode_argv(model_dir, tiny_recipe["data"] / "test" / "wav.scp", out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode != 0
    assert re.search(r"ValueError: --encoder must be one of \(.*'transformer'.*\): --encoder prunable_transformer",
                     proc.stderr)
    assert not (out / "1best_recog" / "text").exists()  # nothing decoded, no random weights


# ---------------------------------------------------------------- (f) bad inputs
@pytest.fixture(scope="module")
def bad_audio(tiny_recipe, tmp_path_factory):
    """One good utterance and empty / 0.03 s / 8 kHz versions of it."""
    tmp = tmp_path_factory.mktemp("bad_audio")
    utt, path = (tiny_recipe["data"] / "test" / "wav.scp").read_text().split("\n")[0].split()
    x, rate = soundfile.read(path, dtype="int16")
    assert rate == 16000
    files = {"empty": (np.zeros(0, np.int16), 16000), "short": (x[:480], 16000), "rate8k": (x[::2], 8000)}
    scp = {"good": path}
    for name, (samples, fs) in files.items():
        soundfile.write(tmp / f"{name}.wav", samples, fs)
        scp[name] = str(tmp / f"{name}.wav")
    return tmp, scp, utt


def _bad_data_dir(tiny_recipe, tmp: Path, bad: dict, split: str) -> Path:
    """The tiny corpus with utterances added to ``split``: {name: (wav path, transcript)}."""
    data = tmp / "data"
    for s in ("train", "dev", "test"):
        shutil.copytree(tiny_recipe["data"] / s, data / s, dirs_exist_ok=True)
    with open(data / split / "wav.scp", "a") as wav, open(data / split / "text", "a") as text:
        for name, (path, transcript) in bad.items():
            wav.write(f"zz-{name} {path}\n")
            text.write(f"zz-{name} {transcript}\n")
    return data


@pytest.mark.parametrize("split", ["train", "dev"])
def test_training_refuses_bad_audio_naming_each_utterance(tiny_recipe, bad_audio, tmp_path, split):
    from tiny_recipe import TINY_CONFIG

    _, scp, _ = bad_audio
    data = _bad_data_dir(tiny_recipe, tmp_path, {n: (scp[n], "hello") for n in ("empty", "short", "rate8k")}, split)
    with pytest.raises(SystemExit) as exc:
        asr_train.main(_train_argv(tiny_recipe["work"], TINY_CONFIG, tmp_path / "exp", data))
    message = str(exc.value.code)
    assert f"{split}/wav.scp" in message
    assert "empty audio (0 samples): zz-empty" in message
    assert "sampling rate is not 16000 Hz: zz-rate8k (8000 Hz)" in message
    assert "shorter than the encoder's input window (960 samples = 0.060 s): zz-short (480 samples)" in message
    assert not (tmp_path / "exp" / "config.yaml").exists()  # stopped before ESPnet started


def test_unknown_characters_in_transcripts_are_reported_as_unk(tiny_recipe, tmp_path, caplog):
    from tiny_recipe import TINY_CONFIG

    data = _bad_data_dir(tiny_recipe, tmp_path, {}, "dev")
    with open(data / "dev" / "text", "a") as text:  # an existing utterance, new transcript
        key = (data / "dev" / "wav.scp").read_text().split()[0]
        text.write(f"{key} naïve café\n")
    args = asr_train.get_parser().parse_args(_train_argv(tiny_recipe["work"], TINY_CONFIG, tmp_path / "exp", data))
    with caplog.at_level("WARNING"):
        training.check_training_args(args)  # a warning, not an error: they become <unk>
    assert re.search(r"dev/text: 1 utterance\(s\) have tokens not in the token list, trained and scored "
                     r"as <unk>: 'ï'x1 'é'x1", caplog.text)


def test_decoding_too_short_audio_gives_an_empty_hypothesis(tiny_recipe, bad_audio, tmp_path, caplog):
    """ESPnet's own handling: TooShortUttError -> warning and an empty hypothesis."""
    _, scp, utt = bad_audio
    wav_scp = tmp_path / "wav.scp"
    wav_scp.write_text(f"zz-short {scp['short']}\n{utt} {scp['good']}\n")
    model_dir = _copy_model(tiny_recipe["exp"], tmp_path / "model")
    with caplog.at_level("WARNING"):
        err, hyps = _decode(_decode_argv(model_dir, wav_scp, tmp_path / "out", "--prune_depth", "2"))
    assert err is None and hyps["zz-short"].strip() == "" and utt in hyps
    assert re.search(r"Utterance \['zz-short'\] has \d+ (frames|samples) and is too short", caplog.text)


def test_min_samples_is_the_encoders_window(tiny_recipe):
    """audio.min_samples agrees with the model: 959 samples are too short, 960 are not."""
    from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import TooShortUttError

    from espnet_layerprune.inference.speech2text import Speech2Text

    exp = tiny_recipe["exp"]
    s2t = Speech2Text(asr_train_config=exp / "config.yaml", asr_model_file=exp / "valid.loss.best.pth",
                      ctc_weight=1.0, beam_size=1, lm_weight=0.0)
    conf = yaml.safe_load((exp / "config.yaml").read_text())
    n = audio.min_samples(conf["frontend_conf"], conf["encoder_conf"]["input_layer"])
    assert n == 960
    x = torch.randn(1, n)
    s2t.asr_model.encode(x, torch.tensor([n]))
    with pytest.raises(TooShortUttError):
        s2t.asr_model.encode(x[:, : n - 1], torch.tensor([n - 1]))


def test_decoding_empty_audio_gives_an_empty_hypothesis(tiny_recipe, bad_audio, tmp_path):
    _, scp, utt = bad_audio
    wav_scp = tmp_path / "wav.scp"
    wav_scp.write_text(f"zz-empty {scp['empty']}\n{utt} {scp['good']}\n")
    err, hyps = _decode(_decode_argv(_copy_model(tiny_recipe["exp"], tmp_path / "model"), wav_scp, tmp_path / "out"))
    assert err is None and hyps["zz-empty"].strip() == "" and utt in hyps


def test_decoding_audio_at_another_rate_is_refused(tiny_recipe, bad_audio, tmp_path):
    _, scp, utt = bad_audio
    wav_scp = tmp_path / "wav.scp"
    wav_scp.write_text(f"{utt} {scp['good']}\nzz-rate8k {scp['rate8k']}\n")
    err, hyps = _decode(_decode_argv(_copy_model(tiny_recipe["exp"], tmp_path / "model"), wav_scp, tmp_path / "out"))
    assert err is not None and "sampling rate is not 16000 Hz: zz-rate8k (8000 Hz)" in err
    assert not hyps

"""Audio lists (``wav.scp``): readable, non-empty, at the model's rate, long enough for its input layer."""

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from espnet_layerprune.core.data import scp_entries
from espnet_layerprune.core.errors import InputError, examples

#: Frames the input layer needs (ESPnet's ``check_short_utt``).
MIN_FRAMES = {
    "conv2d": 7, "conv2d1": 5, "conv2d2": 7, "conv2d6": 11, "conv2d8": 15,
    "conv1d1": 5, "conv1d2": 5, "conv1d3": 7,
}


def min_samples(frontend_conf: Optional[dict], input_layer: Optional[str]) -> int:
    """Fewest samples the default frontend and the input layer can encode.

    The STFT (``center=True``) gives ``1 + samples // hop_length`` frames and its
    reflection padding needs more than ``n_fft // 2`` samples; conv2d
    subsampling needs at least 7 frames (ESPnet's ``check_short_utt``).
    """
    conf = frontend_conf or {}
    n_fft = int(conf.get("n_fft", 512))
    hop = int(conf.get("hop_length", 128))
    frames = MIN_FRAMES.get(input_layer or "", 1)
    if conf.get("center", True):
        return max((frames - 1) * hop, n_fft // 2 + 1)
    return n_fft + (frames - 1) * hop


def parse_fs(fs: Union[int, str, None], default: int = 16000) -> int:
    """``16000`` or ESPnet's ``"16k"`` spelling."""
    if fs is None:
        return default
    if isinstance(fs, str):
        import humanfriendly

        return int(humanfriendly.parse_size(fs))
    return int(fs)


def scan_wav_scp(wav_scp: Union[str, Path], fs: int, min_len: int = 1) -> Dict[str, List[str]]:
    """Utterances of a Kaldi ``wav.scp`` by problem (file headers only).

    Returns:
        ``{"unreadable": [...], "empty": [...], "rate": [...], "short": [...]}``
        with ``"utt (detail)"`` strings. Command entries (``... |``) and ark
        offsets are not checked.
    """
    import soundfile

    found: Dict[str, List[str]] = {"unreadable": [], "empty": [], "rate": [], "short": []}
    try:
        entries = list(scp_entries(wav_scp))
    except ValueError as e:
        raise InputError(str(e)) from None
    for utt, where in entries:
        if where.endswith("|") or (":" in where and not Path(where).exists()):
            continue
        try:
            info = soundfile.info(where)
        except Exception as e:  # soundfile raises several types
            found["unreadable"].append(f"{utt} ({where}: {e})")
            continue
        if info.frames == 0:
            found["empty"].append(f"{utt} ({where})")
        elif info.samplerate != fs:
            found["rate"].append(f"{utt} ({info.samplerate} Hz)")
        elif info.frames < min_len:
            found["short"].append(f"{utt} ({info.frames} samples)")
    return found


def check_wav_scp(
    wav_scp: Union[str, Path],
    fs: int = 16000,
    min_len: int = 1,
    allow_short: bool = False,
    allow_empty: bool = False,
) -> None:
    """Fail on unreadable, wrongly sampled and (unless allowed) empty or too short audio.

    Decoding allows empty and short audio (they get an empty hypothesis, as
    ESPnet does for too-short utterances); training does not.
    """
    found = scan_wav_scp(wav_scp, fs, min_len)
    messages = []
    if found["unreadable"]:
        messages.append(f"cannot read {examples(found['unreadable'])}")
    if found["empty"] and not allow_empty:
        messages.append(f"empty audio (0 samples): {examples(found['empty'])}")
    if found["rate"]:
        messages.append(
            f"sampling rate is not {fs} Hz: {examples(found['rate'])} (resample the audio, "
            f"e.g. asr.sh's stage 3 with --fs, or sox -r {fs})"
        )
    if found["short"] and not allow_short:
        messages.append(
            f"shorter than the encoder's input window ({min_len} samples = "
            f"{min_len / fs:.3f} s): {examples(found['short'])}"
        )
    if messages:
        raise InputError(
            f"{wav_scp}: " + "; ".join(messages)
            + ". Remove these utterances from the data directory (asr.sh drops short ones "
            "with --min_wav_duration; utils/filter_scp.pl --exclude) or fix the audio."
        )


def audio_expectations(train_args) -> Tuple[int, int]:
    """(sampling rate, fewest samples) a model expects, from its training
    arguments (a ``config.yaml`` as dict or namespace). Non-default frontends:
    the rate only, and 1 sample."""
    get = train_args.get if isinstance(train_args, dict) else lambda k, d=None: getattr(train_args, k, d)
    frontend_conf = get("frontend_conf") or {}
    fs = parse_fs(frontend_conf.get("fs"))
    if get("frontend", "default") != "default":
        return fs, 1
    input_layer = (get("encoder_conf") or {}).get("input_layer", "conv2d")
    return fs, min_samples(frontend_conf, input_layer)


def sample_rate(model, train_args=None) -> int:
    """The sampling rate (Hz) the model's front end expects.

    Read from the front end itself (``fs`` of ESPnet's windowing front ends, the mel filterbank's
    ``sr`` of ``DefaultFrontend``), else from ``frontend_conf.fs`` of the training arguments
    (``config.yaml``, default 16000, as ESPnet's).
    """
    frontend = getattr(model, "frontend", None)
    fs = getattr(frontend, "fs", None)
    if fs is None:
        fs = (getattr(getattr(frontend, "logmel", None), "mel_options", None) or {}).get("sr")
    if fs is None:
        return audio_expectations(train_args or {})[0]
    return int(fs)

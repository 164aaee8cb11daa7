"""Input checks at the boundary: audio lists, transcripts, checkpoints, training options.

ESPnet (202611) meets several bad inputs late, deep in torch, or not at all
(measured; see ``docs/robustness.md``):

* an empty wav crashes decoding inside the STFT, without naming the utterance;
* a wav with another sampling rate is decoded as if it were 16 kHz (garbage,
  no message); in training it stops the data loader with "Sampling rates are
  mismatched: 16000 != 8000", again without naming the file;
* audio shorter than the encoder's subsampling window gets an infinite (zeroed)
  CTC loss in training, or crashes it when a whole batch is that short;
* a truncated checkpoint is reported as a *trust* problem ("Refusing to fall
  back to unsafe loading"), an empty one as a bare ``EOFError``, and one with
  flipped bytes loads silently (torch does not verify the archive's CRCs);
* a config that builds a model with tensors the checkpoint lacks loads with
  ``strict=False``: those tensors stay randomly initialised;
* distributed training with layer skipping but ``unused_parameters: false``
  stops at the first skipped layer with DDP's "Expected to have finished
  reduction" error.

Every check raises :class:`InputError` with a message that names the file, the
utterances and what to do. :func:`check_training_args` is what
``espnet_layerprune.bin.asr_train`` runs before ESPnet starts; the rest is for
decoding and for the shell::

    python -m espnet_layerprune.checks wav_scp data/test/wav.scp --fs 16000 --min_samples 960
    python -m espnet_layerprune.checks text data/dev/text --token_list tokens.txt --token_type char
    python -m espnet_layerprune.checks checkpoint exp/asr/valid.loss.best.pth
"""

import argparse
import logging
import os
import sys
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from espnet_layerprune.data import scp_entries

#: Frames the input layer needs (ESPnet's ``check_short_utt``).
MIN_FRAMES = {
    "conv2d": 7, "conv2d1": 5, "conv2d2": 7, "conv2d6": 11, "conv2d8": 15,
    "conv1d1": 5, "conv1d2": 5, "conv1d3": 7,
}
_EXAMPLES = 5


class InputError(ValueError):
    """A bad input, with a message a user can act on."""


def _examples(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_EXAMPLES])
    return shown + (f", ... ({len(items)} in all)" if len(items) > _EXAMPLES else "")


# ---------------------------------------------------------------- checkpoints
def check_checkpoint(path: Union[str, Path]) -> None:
    """Fail on a missing, empty, truncated or corrupted ``torch.save`` file.

    Verifies the zip archive ``torch.save`` writes, CRCs included (reads the
    file once; torch itself skips the CRCs). Files in torch's legacy
    (pre-1.6, non-zip) format are not checked.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            f"model file {path} is empty (0 bytes): it was never written completely; "
            "copy it again or use another checkpoint of the run (e.g. N epoch.pth)"
        )
    with open(path, "rb") as f:
        if f.read(2) == b"\x80\x02":  # legacy pickle format: nothing to verify
            return
    remedy = (
        "copy it again or use another checkpoint of the run (e.g. N epoch.pth); "
        "this is not a trust issue, ESPNET_ALLOW_UNSAFE_TORCH_LOAD will not help"
    )
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"model file {path} ({size:,} bytes) is truncated or corrupted: it is not "
            f"a complete archive as written by torch.save; {remedy}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
        raise InputError(f"model file {path} is corrupted ({e}); {remedy}") from None
    if bad is not None:
        raise InputError(
            f"model file {path} is corrupted: its entry {bad} fails the CRC check "
            f"(bytes changed after saving); {remedy}"
        )


def checkpoint_state(path: Union[str, Path]) -> dict:
    """The model state of a model file or of a ``checkpoint.pth`` (memory-mapped)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if isinstance(state.get("model"), dict) and "optimizers" in state:
        state = state["model"]  # ESPnet's checkpoint.pth
    return state


def check_checkpoint_matches(model, path: Union[str, Path]) -> None:
    """Fail unless the model file holds exactly the model's tensors.

    ESPnet loads model files with ``strict=False``; a tensor the file lacks
    would silently keep its random initialisation.
    """
    expected = set(model.state_dict())
    found = set(checkpoint_state(path))
    missing = sorted(expected - found)
    unexpected = sorted(found - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(
                f"it lacks {len(missing)} of the model's {len(expected)} tensors "
                f"({_examples(missing)}), which would stay randomly initialised"
            )
        if unexpected:
            parts.append(f"it has {len(unexpected)} tensors the model does not ({_examples(unexpected)})")
        raise InputError(
            f"model file {path} does not match the model built from its config: "
            + "; ".join(parts)
            + ". Use the config.yaml written by the training that produced this file."
        )


# ---------------------------------------------------------------- audio
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
        messages.append(f"cannot read {_examples(found['unreadable'])}")
    if found["empty"] and not allow_empty:
        messages.append(f"empty audio (0 samples): {_examples(found['empty'])}")
    if found["rate"]:
        messages.append(
            f"sampling rate is not {fs} Hz: {_examples(found['rate'])} (resample the audio, "
            f"e.g. asr.sh's stage 3 with --fs, or sox -r {fs})"
        )
    if found["short"] and not allow_short:
        messages.append(
            f"shorter than the encoder's input window ({min_len} samples = "
            f"{min_len / fs:.3f} s): {_examples(found['short'])}"
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


# ---------------------------------------------------------------- transcripts
def unknown_tokens(
    text: Union[str, Path],
    token_list: Union[str, Path, Sequence[str]],
    token_type: str = "char",
    bpemodel: Optional[str] = None,
    non_linguistic_symbols: Optional[Union[str, Path]] = None,
) -> Tuple[Counter, List[str]]:
    """Tokens of a Kaldi ``text`` file that the token list lacks (they become ``<unk>``).

    Returns:
        The unknown tokens with their counts, and the utterances that have any.
    """
    from espnet2.text.build_tokenizer import build_tokenizer

    if isinstance(token_list, (str, Path)):
        with open(token_list, encoding="utf-8") as f:
            token_list = [line.rstrip("\n") for line in f]
    known = set(token_list)
    tokenizer = build_tokenizer(
        token_type=token_type, bpemodel=bpemodel, non_linguistic_symbols=non_linguistic_symbols
    )
    unknown: Counter = Counter()
    utts: List[str] = []
    with open(text, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) < 2:
                continue
            missing = [t for t in tokenizer.text2tokens(parts[1]) if t not in known]
            if missing:
                unknown.update(missing)
                utts.append(parts[0])
    return unknown, utts


def warn_unknown_tokens(text, token_list, **kwargs) -> Counter:
    """Log a warning naming the tokens that will be mapped to ``<unk>``."""
    unknown, utts = unknown_tokens(text, token_list, **kwargs)
    if unknown:
        logging.warning(
            "%s: %d utterance(s) have tokens not in the token list, trained and scored as "
            "<unk>: %s (in %s)", text, len(utts),
            " ".join(f"{t!r}x{n}" for t, n in unknown.most_common(10)), _examples(utts),
        )
    return unknown


# ---------------------------------------------------------------- training
def _skips_layers(args: argparse.Namespace) -> bool:
    if getattr(args, "model", None) == "layerprune":
        return True
    conf = getattr(args, "encoder_conf", None) or {}
    rate = conf.get("stochastic_depth_rate", 0.0)
    rates = rate if isinstance(rate, (list, tuple)) else [rate]
    return any(float(r) > 0 for r in rates) or float(conf.get("layer_drop_rate", 0.0) or 0.0) > 0


def _distributed(args: argparse.Namespace) -> bool:
    if getattr(args, "multiprocessing_distributed", False) and getattr(args, "ngpu", 0) > 1:
        return True
    world = getattr(args, "dist_world_size", None) or os.environ.get("WORLD_SIZE") or 1
    return int(world) > 1


def check_training_args(args: argparse.Namespace) -> None:
    """What ``asr_train`` checks before ESPnet starts (parsed ESPnet arguments).

    * distributed training with layer skipping needs ``unused_parameters: true``;
    * with ``--resume true``, an existing ``checkpoint.pth`` must be intact;
    * every ``sound`` list of the training and validation data: readable,
      non-empty, at the frontend's rate, long enough for the input layer;
    * validation transcripts: tokens missing from the token list are reported
      (a warning: ESPnet trains and scores them as ``<unk>``).
    """
    if not args.collect_stats and _distributed(args) and _skips_layers(args) and not args.unused_parameters:
        raise InputError(
            "distributed training skips layers (stochastic depth, LayerDrop or model: "
            "layerprune), so some parameters get no gradient in a step: set "
            "unused_parameters: true (DDP's find_unused_parameters)"
        )
    if getattr(args, "resume", False) and args.output_dir:
        checkpoint = Path(args.output_dir) / "checkpoint.pth"
        if checkpoint.exists():
            try:
                check_checkpoint(checkpoint)
            except InputError as e:
                raise InputError(
                    f"cannot resume: {e}. To restart from the last finished epoch instead, "
                    f"move {checkpoint} away and pass --init_param {Path(args.output_dir)}/"
                    "<N>epoch.pth (optimizer and scheduler states restart), or remove it "
                    "to train from scratch"
                ) from None
    fs, min_len = audio_expectations(args)
    train = list(args.train_data_path_and_name_and_type or [])
    valid = list(args.valid_data_path_and_name_and_type or [])
    for path, name, kind in train + valid:
        if kind == "sound":
            check_wav_scp(path, fs=fs, min_len=min_len)
    # The token list is normally made from the training text, so only the validation
    # text is scanned (tokenizing a large training text would take minutes).
    if args.token_list and args.token_type in ("char", "bpe", "word"):
        for path, name, kind in valid:
            if kind == "text" and name == "text":
                warn_unknown_tokens(
                    path, args.token_list, token_type=args.token_type, bpemodel=args.bpemodel,
                    non_linguistic_symbols=args.non_linguistic_symbols,
                )


# ---------------------------------------------------------------- command line
def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_layerprune.checks", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="what", required=True)
    wav = sub.add_parser("wav_scp", help="audio of a Kaldi wav.scp")
    wav.add_argument("path")
    wav.add_argument("--fs", default="16k", help="expected sampling rate (16000 or 16k)")
    wav.add_argument("--min_samples", type=int, default=1, help="shortest usable audio")
    text = sub.add_parser("text", help="tokens of a Kaldi text file missing from a token list")
    text.add_argument("path")
    text.add_argument("--token_list", required=True)
    text.add_argument("--token_type", default="char")
    text.add_argument("--bpemodel", default=None)
    ckpt = sub.add_parser("checkpoint", help="integrity of a torch.save file")
    ckpt.add_argument("path")
    return parser


def main(cmd=None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        if args.what == "wav_scp":
            check_wav_scp(args.path, fs=parse_fs(args.fs), min_len=args.min_samples)
        elif args.what == "text":
            if warn_unknown_tokens(args.path, args.token_list, token_type=args.token_type,
                                   bpemodel=args.bpemodel):
                sys.exit(2)
        else:
            check_checkpoint(args.path)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.path}: ok")


if __name__ == "__main__":
    main()

"""What ``espnet_layerprune.bin.asr_train`` checks before ESPnet starts (its parsed arguments)."""

import argparse
import os
from pathlib import Path

from espnet_layerprune.checks.audio import audio_expectations, check_wav_scp
from espnet_layerprune.checks.checkpoints import check_checkpoint
from espnet_layerprune.checks.transcripts import warn_unknown_tokens
from espnet_layerprune.core.errors import InputError


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

"""Options shared by this package's command-line tools, with the same names,
help and error wording everywhere (ESPnet's own names where ESPnet has them)."""

import argparse
import logging
from pathlib import Path
from typing import Optional

import yaml
from espnet2.utils.types import str2bool

from espnet_layerprune.core.errors import one_of
from espnet_layerprune.core.units import PRUNE_OPTIONS, check_depth, check_layers, parse_layer_list

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"
#: ``num_blocks`` of encoders that leave it at ESPnet's default.
DEFAULT_DEPTH = {"transformer": 6, "conformer": 6, "prunable_transformer": 6, "prunable_conformer": 6,
                 "e_branchformer": 12, "prunable_e_branchformer": 12}


def positive_int(option: str):
    """An argparse type: an integer >= 1, with a message naming ``option``."""

    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            value = None
        if value is None or not value.is_integer() or value < 1:
            raise argparse.ArgumentTypeError(
                f"{option} must be an integer >= 1 (at most the encoder depth), got {text!r}"
            )
        return int(value)

    return parse


def layer_list(text: str):
    """An argparse type: ``1,3,5`` or ``1-6``."""
    try:
        return parse_layer_list(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asr_train_config", required=True, help="The model's config.yaml.")
    parser.add_argument("--asr_model_file", required=True, help="The model's .pth file.")


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True,
                        help="Data dir with wav.scp and text: data/dev, or asr.sh's dump/raw/dev "
                        "(wav, flac or .ark audio).")
    parser.add_argument("--max_utts", type=int, default=None,
                        help="Use the first N utterances (default: all).")
    parser.add_argument("--batch_size", type=int, default=1,
                        help="Utterances per forward pass (1: exactly as decoding).")
    parser.add_argument("--device", default="cpu", help="Torch device, e.g. cpu or cuda.")


def depth_or_auto(text: str):
    """An argparse type: an integer >= 1 or ``auto`` (early exit)."""
    if text == "auto":
        return text
    try:
        return positive_int("--prune_depth")(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"--prune_depth must be an integer >= 1 (at most the encoder depth) or 'auto', got {text!r}"
        ) from None


def add_prune_options(parser, required: bool = False, with_plan: bool = True, allow_auto: bool = False) -> None:
    """``--prune_depth/--prune_layers/--prune_size`` (at most one) and ``--use_prune_plan``;
    with ``allow_auto``, ``--prune_depth auto`` (early exit, decoding only)."""
    group = parser.add_argument_group("Layer pruning (espnet_layerprune)")
    group.add_argument("--prune_depth", type=depth_or_auto if allow_auto else positive_int("--prune_depth"),
                       default=None,
                       help="Keep N encoder layers (1 <= N <= encoder depth); which ones come "
                       "from prune_plan.yaml next to the model, else the supernet's learned "
                       "masks, else the first N." + (" 'auto': stop each utterance at the first "
                       "layer whose CTC confidence reaches --exit_threshold." if allow_auto else ""))
    group.add_argument("--prune_layers", type=layer_list, default=None,
                       help="Keep exactly these 1-based encoder layers, increasing: 1,3,5,7 or 1-6.")
    group.add_argument("--prune_size", type=positive_int("--prune_size"), default=None,
                       help="Keep K prunable units (data-driven supernets, model: layerprune).")
    if with_plan:
        group.add_argument("--use_prune_plan", type=str2bool, default=True,
                           help="Use prune_plan.yaml next to the model file when it was made "
                           "for that checkpoint.")
    parser.set_defaults(_prune_required=required)


def add_log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log_level", default="INFO",
                        choices=("ERROR", "WARNING", "INFO", "DEBUG"), help="Log level.")


def setup_logging(args: argparse.Namespace) -> None:
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    logging.captureWarnings(True)


def encoder_depth_from_config(config_path) -> Optional[int]:
    """Number of encoder blocks a training config builds (``None`` if unknown)."""
    if not config_path or not Path(config_path).is_file():
        return None
    with open(config_path) as f:
        conf = yaml.safe_load(f) or {}
    blocks = (conf.get("encoder_conf") or {}).get("num_blocks")
    if blocks is None:
        blocks = DEFAULT_DEPTH.get(conf.get("encoder"))
    return blocks


def check_model_files(args: argparse.Namespace) -> None:
    """One-line errors for missing model files, before anything is loaded."""
    for option in ("asr_train_config", "asr_model_file"):
        path = getattr(args, option, None)
        if path is not None and not Path(path).is_file():
            raise SystemExit(f"error: --{option} {path} does not exist")


def check_prune_args(args: argparse.Namespace) -> None:
    """Fail before any model loading or output writing on inconsistent options."""
    given = [f"--{o}" for o in PRUNE_OPTIONS if getattr(args, o, None) is not None]
    if len(given) > 1:
        raise SystemExit(f"error: {one_of(given)}")
    if not given and getattr(args, "_prune_required", False):
        raise SystemExit(f"error: {one_of(f'--{o}' for o in PRUNE_OPTIONS)} is required")
    depth = encoder_depth_from_config(getattr(args, "asr_train_config", None))
    if depth is None:
        return  # checked again once the model is built
    try:
        if getattr(args, "prune_depth", None) not in (None, "auto"):
            check_depth(args.prune_depth, depth)
        if getattr(args, "prune_layers", None) is not None:
            check_layers(args.prune_layers, depth)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None

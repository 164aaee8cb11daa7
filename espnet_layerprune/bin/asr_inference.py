"""ESPnet ASR decoding at a requested encoder depth or size.

Every option of ``python -m espnet2.bin.asr_inference`` plus:

* ``--prune_depth N``: keep N encoder layers. Which ones: the prune plan stored
  next to the model (``prune_plan.yaml``) when there is one, else the masks a
  data-driven supernet learned, else the first N (early exit through the shared
  CTC head);
* ``--prune_layers 1,3,5``: keep exactly these 1-based layers;
* ``--prune_size K``: keep K prunable units (data-driven supernets).

The kept layers are logged and written, with the decoding time (model loading
excluded), to ``<output_dir>/pruning.yaml``.
In asr.sh: ``--inference_args "--prune_depth 6"``.
"""

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Optional

import torch
import yaml
from espnet2.bin import asr_inference as stock
from espnet2.legacy.nets.beam_search import Hypothesis
from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import TooShortUttError
from espnet2.utils.types import str2bool
from espnet2.legacy.utils.cli_utils import get_commandline_args

import espnet_layerprune  # noqa: F401  (registers encoder/model choices)
from espnet_layerprune.apply import prune_model
from espnet_layerprune.checks import (
    InputError,
    audio_expectations,
    check_checkpoint,
    check_checkpoint_matches,
    check_wav_scp,
)
from espnet_layerprune.plan import PrunePlan
from espnet_layerprune.pruning import check_depth, check_layers, parse_layer_list

PRUNE_OPTIONS = ("prune_depth", "prune_layers", "prune_size")
SPEECH2TEXT_OPTIONS = PRUNE_OPTIONS + ("ctc_greedy",)
STOCK_DEPTH_6 = ("transformer", "conformer", "prunable_transformer", "prunable_conformer")


class Speech2Text(stock.Speech2Text):
    """ESPnet's ``Speech2Text`` with a pruned encoder.

    Examples:
        >>> s2t = Speech2Text("exp/asr/config.yaml", "exp/asr/valid.loss.best.pth",
        ...                   prune_depth=6, beam_size=1, ctc_weight=1.0)
        >>> text, *_ = s2t(speech)[0]

    Args:
        prune_depth: Keep this many encoder layers.
        prune_layers: Keep exactly these 1-based layers.
        prune_size: Keep this many prunable units (data-driven supernets).
        use_prune_plan: Use ``prune_plan.yaml`` next to the model file if present.
        ctc_greedy: Decode by CTC argmax (best path) instead of ESPnet's beam
            search; for CTC-only models, O(T) instead of the prefix search.
        **kwargs: Everything ``espnet2.bin.asr_inference.Speech2Text`` accepts.
    """

    def __init__(
        self,
        *args,
        prune_depth: Optional[int] = None,
        prune_layers=None,
        prune_size: Optional[int] = None,
        use_prune_plan: bool = True,
        ctc_greedy: bool = False,
        **kwargs,
    ):
        if ctc_greedy and kwargs.get("batch_size", 1) > 1:
            raise ValueError("--ctc_greedy true decodes one utterance at a time; use --batch_size 1")
        model_file = kwargs.get("asr_model_file", args[1] if len(args) > 1 else None)
        if model_file is not None:
            check_checkpoint(model_file)  # a clear error instead of ESPnet's loader messages
        super().__init__(*args, **kwargs)
        if model_file is not None:
            check_checkpoint_matches(self.asr_model, model_file)  # no silently random layers
        self.ctc_greedy = ctc_greedy
        _, self.min_samples = audio_expectations(self.asr_train_args)
        plan = PrunePlan.find_next_to(model_file) if use_prune_plan else None
        if plan is not None and prune_depth is not None:
            logging.info("using prune plan %s", plan.source)
        self.pruning = prune_model(
            self.asr_model, depth=prune_depth, layers=prune_layers, size=prune_size, plan=plan
        )


    def __call__(self, speech):
        if not isinstance(speech, (list, tuple)) and len(speech) < self.min_samples:
            # ESPnet's loop turns this into a warning and an empty hypothesis.
            raise TooShortUttError(
                f"has {len(speech)} samples and is too short for the frontend and "
                f"subsampling (it needs at least {self.min_samples})",
                len(speech),
                self.min_samples,
            )
        return super().__call__(speech)

    def _decode_single_sample(self, enc):
        if not self.ctc_greedy:
            return super()._decode_single_sample(enc)
        logp = self.asr_model.ctc.log_softmax(enc[None])[0]
        best, ids = logp.max(dim=-1)
        ids = torch.unique_consecutive(ids)
        ids = ids[ids != self.asr_model.blank_id].tolist()
        yseq = torch.tensor([self.asr_model.sos] + ids + [self.asr_model.eos])
        logging.info("best hypo: " + "".join(self.converter.ids2tokens(ids)))  # asr.sh's RTF step reads it
        return self._hyps_to_results([Hypothesis(yseq=yseq, score=float(best.sum()))])


def _positive_int(option: str):
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


def _layer_list(text: str):
    try:
        return parse_layer_list(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _escape_stray_percent(parser: argparse.ArgumentParser) -> None:
    """ESPnet 202611's decoding help has a bare '%' that breaks ``--help``; escape it."""
    for action in parser._actions:
        if action.help and "%" in action.help:
            try:
                action.help % {**vars(action), "prog": parser.prog}
            except (ValueError, TypeError, KeyError):
                action.help = action.help.replace("%", "%%")


def get_parser() -> argparse.ArgumentParser:
    parser = stock.get_parser()
    _escape_stray_percent(parser)
    group = parser.add_argument_group("Layer pruning (espnet_layerprune)")
    group.add_argument(
        "--prune_depth",
        type=_positive_int("--prune_depth"),
        default=None,
        help="Keep N encoder layers (1 <= N <= encoder depth); which ones come from "
        "prune_plan.yaml next to the model, else the supernet's learned masks, "
        "else the first N.",
    )
    group.add_argument(
        "--prune_layers",
        type=_layer_list,
        default=None,
        help="Keep exactly these 1-based encoder layers, increasing, e.g. 1,3,5,7.",
    )
    group.add_argument(
        "--ctc_greedy",
        type=str2bool,
        default=False,
        help="CTC best-path decoding (argmax) instead of beam search; CTC-only models, batch_size 1.",
    )
    group.add_argument(
        "--prune_size",
        type=_positive_int("--prune_size"),
        default=None,
        help="Keep K prunable units (data-driven supernets, model: layerprune).",
    )
    return parser


def encoder_depth_from_config(config_path) -> Optional[int]:
    """Number of encoder blocks a training config builds (``None`` if unknown)."""
    if not config_path or not Path(config_path).is_file():
        return None
    with open(config_path) as f:
        conf = yaml.safe_load(f) or {}
    blocks = (conf.get("encoder_conf") or {}).get("num_blocks")
    if blocks is None and conf.get("encoder") in STOCK_DEPTH_6:
        blocks = 6  # ESPnet's default num_blocks
    return blocks


def check_prune_args(args: argparse.Namespace) -> None:
    """Fail before any model loading or output writing on inconsistent options."""
    given = [f"--{o}" for o in PRUNE_OPTIONS if getattr(args, o) is not None]
    if len(given) > 1:
        raise SystemExit(f"error: give only one of {', '.join(given)}")
    depth = encoder_depth_from_config(args.asr_train_config)
    if depth is None:
        return  # checked again once the model is built
    try:
        if args.prune_depth is not None:
            check_depth(args.prune_depth, depth)
        if args.prune_layers is not None:
            check_layers(args.prune_layers, depth)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None


@contextlib.contextmanager
def _decode_with_pruning(prune: dict, output_dir: str):
    """Make ``espnet2.bin.asr_inference.inference`` build our ``Speech2Text``.

    The stock ``inference`` builds its model through the module-level name
    ``Speech2Text.from_pretrained``; rebinding that name for the duration of the
    call reuses the whole stock decoding loop unchanged.
    """

    class _PrunedFactory:
        @staticmethod
        def from_pretrained(model_tag=None, **kwargs):
            if model_tag is not None:
                kwargs.update(stock.download_pretrained(model_tag))
            speech2text = Speech2Text(**kwargs, **prune)
            built.append(speech2text)
            started.append(time.perf_counter())
            return speech2text

    built, started = [], []
    original = stock.Speech2Text
    stock.Speech2Text = _PrunedFactory
    try:
        yield
    finally:
        stock.Speech2Text = original
    # Reached only when decoding finished: record what was kept and how long
    # decoding took (model loading excluded), for RTF tables.
    info = built[0].pruning.to_dict()
    info["decode_seconds"] = round(time.perf_counter() - started[0], 4)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "pruning.yaml", "w") as f:
        yaml.safe_dump(info, f, sort_keys=False)


def check_audio_inputs(args: argparse.Namespace) -> None:
    """Unreadable or wrongly sampled audio fails before decoding starts.

    Empty and too-short utterances are allowed: they get an empty hypothesis.
    """
    if not args.asr_train_config or not Path(args.asr_train_config).is_file():
        return
    with open(args.asr_train_config) as f:
        fs, _ = audio_expectations(yaml.safe_load(f) or {})
    for path, _, kind in args.data_path_and_name_and_type:
        if kind == "sound":
            check_wav_scp(path, fs=fs, allow_short=True, allow_empty=True)


def main(cmd=None):
    print(get_commandline_args(), file=sys.stderr)
    args = get_parser().parse_args(cmd)
    check_prune_args(args)
    try:
        check_audio_inputs(args)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    kwargs = vars(args)
    kwargs.pop("config", None)
    prune = {o: kwargs.pop(o) for o in SPEECH2TEXT_OPTIONS}
    try:
        with _decode_with_pruning(prune, args.output_dir):
            stock.inference(**kwargs)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    except ValueError as e:
        if any(f"--{o}" in str(e) for o in PRUNE_OPTIONS) or "prune plan" in str(e):
            raise SystemExit(f"error: {e}") from None
        raise


if __name__ == "__main__":
    main()

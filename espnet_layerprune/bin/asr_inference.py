"""ESPnet ASR decoding at a requested encoder depth or size.

Every option of ``python -m espnet2.bin.asr_inference`` plus:

* ``--prune_depth N``: keep N encoder layers. Which ones: the prune plan stored
  next to the model (``prune_plan.yaml``) when there is one, else the masks a
  data-driven supernet learned, else the first N (early exit through the shared
  CTC head);
* ``--prune_layers 1,3,5``: keep exactly these 1-based layers;
* ``--prune_size K``: keep K prunable units (data-driven supernets);
* ``--prune_budget params=2M`` (or ``flops=``, ``rtf=``): the most accurate depth or
  size within the budget, from ``calibration.yaml`` (``bin.calibrate``);
* ``--prune_depth auto --exit_threshold T``: confidence-based early exit, per
  utterance (:mod:`espnet_layerprune.inference.early_exit`); the exit layer of every
  utterance and the frame-weighted counted compute (:mod:`espnet_layerprune.inference.exit_cost`)
  go to ``pruning.yaml``.

The kept layers are logged and written, with the decoding time (model loading
excluded), to ``<output_dir>/pruning.yaml``.
In asr.sh: ``--inference_args "--prune_depth 6"``.

This module parses and checks the options (before anything is loaded, so a bad option
writes nothing), then runs ESPnet's own decoding loop with the library's
:class:`~espnet_layerprune.inference.speech2text.Speech2Text` (re-exported here, with
:func:`best_text`, for ``from espnet_layerprune.bin.asr_inference import Speech2Text``).
"""

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path

import yaml
from espnet2.bin import asr_inference as stock
from espnet2.legacy.utils.cli_utils import get_commandline_args
from espnet2.utils.types import str2bool, str_or_none

import espnet_layerprune  # noqa: F401  (registers encoder/model choices)
from espnet_layerprune.bin.common import (
    LOG_FORMAT,
    add_prune_options,
    check_model_files,
    check_prune_args,
    encoder_depth_from_config,
)
from espnet_layerprune.checks.audio import audio_expectations, check_wav_scp
from espnet_layerprune.core.errors import ConfigError, InputError
from espnet_layerprune.core.units import PRUNE_OPTIONS
from espnet_layerprune.encoders import precision as numerics
from espnet_layerprune.encoders.prunable import expand_interctc_layer_idx
from espnet_layerprune.inference.budget import choose_for
from espnet_layerprune.inference.early_exit import MEASURES, exit_summary, policy_from_options
from espnet_layerprune.inference.exit_cost import ExitCost
from espnet_layerprune.inference.speech2text import Speech2Text, best_text  # noqa: F401  (re-exported)

LEXICON_OPTIONS = ("lexicon_lm", "lexicon_lm_weight", "lexicon_word_bonus", "lexicon_beam")
EXIT_OPTIONS = ("exit_threshold", "exit_measure", "exit_min_depth", "exit_patience", "exit_gate", "exit_every")
SPEECH2TEXT_OPTIONS = (PRUNE_OPTIONS + ("prune_budget", "use_prune_plan", "ctc_greedy", "precision", "return_interctc",
                                        "matmul_ffn")
                       + LEXICON_OPTIONS + EXIT_OPTIONS)


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
    add_prune_options(parser, allow_auto=True)
    parser.add_argument(
        "--ctc_greedy",
        type=str2bool,
        default=False,
        help="CTC best-path decoding (argmax) instead of beam search; CTC-only models, batch_size 1.",
    )
    parser.add_argument("--precision", default="fp32", choices=numerics.PRECISIONS,
                        help="bf16: run the encoder under bfloat16 autocast on a CPU with bf16 units "
                        "(avx512_bf16/amx_bf16); features and CTC stay float32.")
    parser.add_argument("--return_interctc", type=str2bool, default=False,
                        help="Also decode every intermediate CTC layer (ESPnet's stock behaviour; written "
                        "to encoder_interctc_layer<N>.txt). Off: decoding computes only the final output.")
    parser.add_argument("--matmul_ffn", type=str2bool, default=True,
                        help="Compute the encoder's convolutional feed-forward (positionwise_layer_type conv1d) "
                        "as one matrix product over windows: faster for short sequences, equal to ESPnet's "
                        "conv1d up to float rounding. false: ESPnet's conv1d.")
    group = parser.add_argument_group("Lexicon-constrained CTC search (espnet_layerprune)")
    group.add_argument("--lexicon_lm", type=str_or_none, default=None,
                       help="Word n-gram LM (bin.train_ngram); its words are the lexicon. Replaces the "
                       "beam search and greedy decoding; CTC-only models, batch_size 1.")
    group.add_argument("--lexicon_lm_weight", type=float, default=0.5, help="Weight of the LM log-probability.")
    group.add_argument("--lexicon_word_bonus", type=float, default=0.0, help="Score added per word.")
    group.add_argument("--lexicon_beam", type=int, default=8, help="Hypotheses kept per frame (>= 1).")
    parser.add_argument("--prune_budget", type=str_or_none, default=None,
                        help="Decode the most accurate depth/size within a budget (plans within 0.2 dev WER points of "
                        "the best tie, and the cheapest of them wins): params=2.0M, flops=1.5G "
                        "(per second of audio) or rtf=0.01, comma-separated for several; needs "
                        "calibration.yaml next to the model (python -m espnet_layerprune.bin.calibrate).")
    group = parser.add_argument_group("Early exit: --prune_depth auto (espnet_layerprune)")
    group.add_argument("--exit_threshold", type=float, default=None,
                       help="Stop at the first layer whose CTC confidence is at least T, in (0, 1].")
    group.add_argument("--exit_measure", default="max_posterior", choices=MEASURES,
                       help="Confidence of a layer's CTC posteriors: mean max posterior over non-blank "
                       "frames, 1 - normalised frame entropy, or the probability of the exit gate fitted on "
                       "dev by bin.calibrate (exit_gate.yaml next to the model).")
    group.add_argument("--exit_gate", type=str_or_none, default=None,
                       help="Exit gate for --exit_measure learned (default: exit_gate.yaml next to the model).")
    group.add_argument("--exit_min_depth", type=int, default=1, help="Never exit below this layer (>= 1).")
    group.add_argument("--exit_patience", type=int, default=0,
                       help="Exit only when the greedy hypothesis is also unchanged over the previous P "
                       "layers (>= 0; 0: confidence alone).")
    group.add_argument("--exit_every", type=int, default=1,
                       help="Read only the exit layers that are multiples of K (>= 1; the top always exits): "
                       "fewer CTC heads per utterance. A learned gate must be fitted with the same K.")
    return parser


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
            speech2text.exit_log = []  # each utterance's exit layer, for pruning.yaml
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
    info = {"request": {k: v for k, v in prune.items() if k in PRUNE_OPTIONS and v is not None},
            **built[0].pruning.to_dict()}
    info["decode_seconds"] = round(time.perf_counter() - started[0], 4)
    info["precision"] = "bf16" if built[0].compute_dtype is not None else "fp32"
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if built[0].early_exit is not None:
        text = out / "1best_recog" / "text"  # ESPnet decodes (and writes) one utterance per call, in order
        keys = [line.split(maxsplit=1)[0] for line in text.read_text().splitlines()] if text.is_file() else []
        info["early_exit"] = exit_summary(built[0].early_exit, built[0].exit_log, keys,
                                          ExitCost.measure(built[0].asr_model), built[0].asr_model.encoder.num_layers)
    if built[0].budget_choice is not None:
        info["request"] = {"prune_budget": prune["prune_budget"]}
        info["budget_choice"] = built[0].budget_choice
    with open(out / "pruning.yaml", "w") as f:
        yaml.safe_dump(info, f, sort_keys=False)


def check_budget_args(args: argparse.Namespace) -> None:
    """A budget that cannot be met (or read) fails before decoding (the choice is logged once, when
    the model is built)."""
    choose_for(args.prune_budget, args.asr_model_file, args.prune_depth, args.prune_layers, args.prune_size,
               log=False)


def check_early_exit_args(args: argparse.Namespace) -> None:
    """Early-exit options that cannot work fail before the model is loaded."""
    policy = policy_from_options(args.prune_depth, args.exit_threshold, args.exit_measure, args.exit_min_depth,
                                 args.exit_patience, args.asr_model_file, args.exit_gate, args.exit_every)
    if policy is None or not args.asr_train_config:
        return
    if args.batch_size > 1:
        raise ConfigError("--prune_depth auto decodes one utterance at a time; use --batch_size 1")
    with open(args.asr_train_config) as f:
        conf = yaml.safe_load(f) or {}
    depth = encoder_depth_from_config(args.asr_train_config)
    if depth is not None:
        idx = (conf.get("encoder_conf") or {}).get("interctc_layer_idx") or []
        policy.check(depth, expand_interctc_layer_idx(idx, depth))


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
    # ESPnet's own basicConfig, done first: a warning logged while our options are checked or a budget
    # is resolved would otherwise configure the root logger at WARNING, and every INFO line (the kept
    # layers, the budget's choice) would be lost from the decode log.
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    check_prune_args(args)
    check_model_files(args)
    if args.lexicon_lm is not None and not Path(args.lexicon_lm).is_file():
        raise SystemExit(f"error: --lexicon_lm {args.lexicon_lm} does not exist (make it with bin.train_ngram)")
    if args.lexicon_beam < 1:
        raise SystemExit(f"error: --lexicon_beam must be >= 1, got {args.lexicon_beam}")
    try:
        check_budget_args(args)
        check_early_exit_args(args)
        check_audio_inputs(args)
    except (InputError, ConfigError) as e:
        raise SystemExit(f"error: {e}") from None
    kwargs = vars(args)
    kwargs.pop("config", None)
    kwargs.pop("_prune_required", None)  # our parser's bookkeeping, not an ESPnet option
    prune = {o: kwargs.pop(o) for o in SPEECH2TEXT_OPTIONS}
    try:
        with _decode_with_pruning(prune, args.output_dir):
            stock.inference(**kwargs)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    except ValueError as e:
        if any(f"--{o}" in str(e) for o in PRUNE_OPTIONS + EXIT_OPTIONS + ("prune_budget",)) \
                or "prune plan" in str(e):
            raise SystemExit(f"error: {e}") from None
        raise


if __name__ == "__main__":
    main()

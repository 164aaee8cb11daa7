"""Measure every depth (and size) of a model on a dev set, for ``--prune_budget``.

Examples::

    python -m espnet_layerprune.bin.calibrate \\
        --asr_train_config exp/asr/config.yaml \\
        --asr_model_file exp/asr/valid.loss.ave.pth --data data/dev

writes ``exp/asr/calibration.yaml``: per plan (``--prune_depth N`` for N = 1..L, and
``--prune_size K`` for the sizes a data-driven supernet was trained with) the dev
WER/CER of greedy CTC decoding, the parameters that run (greedy CTC never runs an
attention decoder, so it is not counted), the measured FLOPs per second of audio
(at the front end's sampling rate) and the real-time factor (median of ``--repeats``
interleaved passes over ``--timing_utts`` utterances evenly spaced in length, one
thread). The plans are resolved exactly as decoding resolves them (prune plan,
learned masks, first N). Then::

    python -m espnet_layerprune.bin.asr_inference ... --prune_budget params=3M

For a model with intermediate CTC outputs it also fits the early-exit gate on the
same utterances and writes ``exit_gate.yaml`` next to the table
(``--exit_measure learned``, :mod:`espnet_layerprune.inference.exit_gate`; ``--exit_gate false``
skips it). An existing table or gate is only replaced with ``--overwrite true``. RTF
depends on the machine: calibrate on the device that decodes.
"""

import argparse
import logging
import platform
from pathlib import Path
from typing import List, Optional

import torch
from espnet2.utils.types import str2bool, str_or_none

from espnet_layerprune.bin.common import (
    add_log_options,
    add_model_options,
    check_model_files,
    setup_logging,
)
from espnet_layerprune.core.data import load_utterances
from espnet_layerprune.core.files import file_sha256
from espnet_layerprune.inference import calibration
from espnet_layerprune.inference.budget import CALIBRATION_FILENAME, Calibration
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.inference.calibration import calibrate, cost_basis, fit_exit_gate, gate_layers, length_balanced
from espnet_layerprune.inference.exit_gate import GATE_FILENAME
from espnet_layerprune.inference.speech2text import Speech2Text

log = logging.getLogger(__name__)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--data", required=True, help="Dev data dir (wav.scp and text), e.g. data/dev.")
    parser.add_argument("--max_utts", type=int, default=None, help="Error rates on the first N utterances.")
    parser.add_argument("--timing_utts", type=int, default=20,
                        help="Utterances timed (and FLOP-counted) per plan (>= 1): sorted by length, evenly spaced "
                        "quantiles (shortest to longest); all of them when there are fewer.")
    parser.add_argument("--repeats", type=int, default=3, help="Interleaved timing passes; the median counts.")
    parser.add_argument("--threads", type=int, default=1, help="torch threads while timing.")
    parser.add_argument("--use_prune_plan", type=str2bool, default=True,
                        help="Resolve depths with prune_plan.yaml next to the model, as decoding does.")
    parser.add_argument("--output", type=str_or_none, default=None,
                        help=f"Table path (default: {CALIBRATION_FILENAME} next to the model file, where "
                        "--prune_budget looks).")
    parser.add_argument("--exit_gate", type=str2bool, default=True,
                        help="Also fit the early-exit gate (exit_gate.yaml next to the table) when the model "
                        "has intermediate CTC outputs.")
    parser.add_argument("--exit_every", type=int, default=1,
                        help="The gate's --exit_every (>= 1): its features chain over the exit layers that are "
                        "multiples of K and the top, exactly what --prune_depth auto --exit_every K reads.")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="Replace an existing table and gate.")
    add_log_options(parser)
    return parser


def main(cmd: Optional[List[str]] = None) -> Path:
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    check_model_files(args)
    for option in ("timing_utts", "repeats", "threads", "exit_every"):
        if getattr(args, option) < 1:
            raise SystemExit(f"error: --{option} must be >= 1, got {getattr(args, option)}")
    out = Path(args.output or Path(args.asr_model_file).parent / CALIBRATION_FILENAME)
    gate_out = out.parent / GATE_FILENAME
    for path in (out, gate_out) if args.exit_gate else (out,):
        if path.exists() and not args.overwrite:
            raise SystemExit(f"error: {path} exists; pass --overwrite true to replace it")
    try:
        utts = load_utterances(args.data, args.max_utts)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    torch.set_num_threads(args.threads)
    s2t = Speech2Text(args.asr_train_config, args.asr_model_file, use_prune_plan=args.use_prune_plan,
                      ctc_greedy=True, beam_size=1, ctc_weight=1.0, lm_weight=0.0, nbest=1)
    level = logging.getLogger().level
    logging.getLogger().setLevel(max(level, logging.WARNING))  # the decoder logs every hypothesis
    for module in (__name__, calibration.__name__):  # ours stay at INFO
        logging.getLogger(module).setLevel(logging.INFO)
    gate = gate_on = None
    encoder = s2t.asr_model.encoder
    if args.exit_gate and [i for i in getattr(encoder, "interctc_layer_idx", []) if i < encoder.num_layers]:
        try:  # before the long measurements: a model or --exit_every early exit cannot serve fails now
            gate_on = gate_layers(s2t, args.exit_every)
        except ConfigError as e:
            raise SystemExit(f"error: {e}") from None
    try:
        timing_utts = length_balanced(utts, args.timing_utts)
        rows = calibrate(s2t, utts, timing_utts, args.repeats)
        if gate_on is not None:
            log.info("fitting the early-exit gate on %d utterances, layers %s", len(utts), list(gate_on))
            gate = fit_exit_gate(s2t, utts, exit_every=args.exit_every)
    finally:
        logging.getLogger().setLevel(level)
    table = Calibration(rows, Path(args.asr_model_file).name, file_sha256(args.asr_model_file), str(args.data),
                        f"{platform.machine()} CPU, {args.threads} thread(s)",
                        extra={"utterances": len(utts), "timing_utts": len(timing_utts), "decoding": "greedy CTC",
                               **cost_basis(s2t, timing_utts, len(utts))})
    table.save(out, overwrite=args.overwrite)
    log.info("wrote %s (%d plans)", out, len(rows))
    if gate is not None:
        gate.model_sha256 = table.model_sha256
        gate.info = {"model_file": table.model_file, "data": str(args.data), **gate.info}
        gate.save(gate_out, overwrite=args.overwrite)
        log.info("wrote %s (training accuracy %.3f; decode with --prune_depth auto --exit_measure learned "
                 "--exit_threshold T)", gate_out, gate.info["train_accuracy"])
    return out


if __name__ == "__main__":
    main()

"""Choose the layers to keep at each depth on a dev set, and store them as a prune plan.

Examples::

    python -m espnet_layerprune.bin.select_layers \\
        --asr_train_config exp/asr/config.yaml \\
        --asr_model_file exp/asr/valid.loss.ave.pth \\
        --data data/dev --strategy greedy --depths 11,9,6,3 --max_utts 200

writes ``exp/asr/prune_plan.yaml`` (for every depth: the kept layers and the
dev CER/WER measured with greedy CTC decoding). ``espnet_layerprune.bin.
asr_inference --prune_depth N`` then keeps the plan's layers for depth N.
An existing plan is only replaced with ``--overwrite true``.
"""

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import List, Optional

from espnet2.utils.types import str2bool, str_or_none

from espnet_layerprune.analysis.dev_eval import DevEvaluator
from espnet_layerprune.analysis.selection import METRICS, STRATEGIES, parse_depths, select_layers
from espnet_layerprune.bin.common import (
    add_data_options,
    add_log_options,
    add_model_options,
    check_model_files,
    setup_logging,
)
from espnet_layerprune.core.plan import PLAN_FILENAME


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_options(parser)
    add_data_options(parser)
    parser.add_argument("--strategy", required=True, choices=STRATEGIES,
                        help="How to choose the kept layers (see docs/selection_and_export.md).")
    parser.add_argument("--depths", type=str_or_none, default=None,
                        help="Comma-separated depths to record, e.g. 11,9,6,3 (default: all).")
    parser.add_argument("--metric", choices=METRICS, default="cer",
                        help="Dev error that the greedy strategy minimizes.")
    parser.add_argument("--svcca_variance", type=float, default=0.99,
                        help="Fraction of variance kept by the SVCCA SV step, in (0, 1].")
    parser.add_argument("--output_dir", type=str_or_none, default=None,
                        help="Where prune_plan.yaml goes (default: the model file's directory, "
                        "where decoding looks for it).")
    parser.add_argument("--overwrite", type=str2bool, default=False,
                        help="Replace an existing prune_plan.yaml.")
    add_log_options(parser)
    return parser


def main(cmd: Optional[List[str]] = None) -> Path:
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    check_model_files(args)
    out_dir = Path(args.output_dir or Path(args.asr_model_file).parent)
    plan_path = out_dir / PLAN_FILENAME
    if plan_path.exists() and not args.overwrite:
        raise SystemExit(f"error: {plan_path} exists; pass --overwrite true to replace it")
    if args.output_dir and out_dir.resolve() != Path(args.asr_model_file).parent.resolve():
        logging.info("the plan is not next to the model; decoding will not pick it up by itself")
    start = time.perf_counter()
    try:
        evaluator = DevEvaluator.from_files(
            args.asr_train_config, args.asr_model_file, args.data,
            max_utts=args.max_utts, batch_size=args.batch_size, device=args.device,
        )
        depths = parse_depths(args.depths, evaluator.num_layers)
        logging.info(
            "strategy %s over depths %s of a %d-layer encoder",
            args.strategy, depths, evaluator.num_layers,
        )
        selection = select_layers(
            args.strategy, evaluator, depths, metric=args.metric,
            svcca_variance=args.svcca_variance,
        )
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    plan = selection.to_plan().for_model(args.asr_model_file)
    plan.save(plan_path, overwrite=args.overwrite)
    logging.info(
        "wrote %s (%d depths, %d kept-layer sets scored, %.1f s)",
        plan_path, len(plan.depths), evaluator.evaluations, time.perf_counter() - start,
    )
    for d, entry in plan.depths.items():
        logging.info(
            "  depth %2d: layers %s  dev CER %.2f%%  WER %.2f%%",
            d, entry["layers"], entry["dev_cer"], entry["dev_wer"],
        )
    return plan_path


if __name__ == "__main__":
    print(" ".join(sys.argv), file=sys.stderr)
    main()

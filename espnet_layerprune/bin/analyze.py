"""Explain a prunable encoder on a dev set: SVCCA heatmap, layer importance, WER by depth.

Examples::

    python -m espnet_layerprune.bin.analyze \\
        --asr_train_config exp/asr/config.yaml \\
        --asr_model_file exp/asr/valid.loss.ave.pth \\
        --data data/dev --output_dir exp/asr/analysis --max_utts 200

writes into ``--output_dir``:

* ``svcca.npy``, ``svcca.png``: SVCCA similarity between all layer outputs (L x L);
* ``layer_importance.{csv,md,png}``: dev CER/WER when each single layer is
  removed, and the SVCCA similarity of each layer's output to its input;
* ``depth_by_strategy.{csv,md,png}``: dev CER/WER at every depth for every
  strategy (``--strategies``), with the kept layers.
"""

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from espnet2.utils.types import str2bool

from espnet_layerprune.analysis.dev_eval import DevEvaluator
from espnet_layerprune.analysis.layer_analysis import OUTPUTS, analyze
from espnet_layerprune.analysis.selection import STRATEGIES
from espnet_layerprune.bin.common import (
    add_data_options,
    add_log_options,
    add_model_options,
    check_model_files,
    setup_logging,
)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_options(parser)
    add_data_options(parser)
    parser.add_argument("--output_dir", required=True, help="Where the tables and plots go.")
    parser.add_argument("--strategies", default="top,evenly_spaced,greedy,svcca",
                        help="Comma-separated strategies to compare, from "
                        f"{', '.join(STRATEGIES)}.")
    parser.add_argument("--svcca_variance", type=float, default=0.99,
                        help="Fraction of variance kept by the SVCCA SV step, in (0, 1].")
    parser.add_argument("--overwrite", type=str2bool, default=False,
                        help="Replace earlier analysis files in --output_dir.")
    add_log_options(parser)
    return parser


def parse_strategies(text: str) -> List[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in names if s not in STRATEGIES]
    if not names or bad:
        raise ValueError(
            f"--strategies must be a comma-separated subset of {STRATEGIES}, got {text!r}"
        )
    return list(dict.fromkeys(names))


def main(cmd: Optional[List[str]] = None) -> Path:
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    check_model_files(args)
    out_dir = Path(args.output_dir)
    existing = [n for n in OUTPUTS if (out_dir / n).exists()]
    if existing and not args.overwrite:
        raise SystemExit(
            f"error: {out_dir} already has {existing}; pass --overwrite true to replace them"
        )
    try:
        strategies = parse_strategies(args.strategies)
        evaluator = DevEvaluator.from_files(
            args.asr_train_config, args.asr_model_file, args.data,
            max_utts=args.max_utts, batch_size=args.batch_size, device=args.device,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        analyze(evaluator, out_dir, strategies, args.svcca_variance)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    return out_dir


if __name__ == "__main__":
    print(" ".join(sys.argv), file=sys.stderr)
    main()

"""Export a pruned model as a smaller standalone ESPnet model directory.

Examples::

    python -m espnet_layerprune.bin.export \\
        --asr_train_config exp/asr/config.yaml \\
        --asr_model_file exp/asr/valid.loss.ave.pth \\
        --prune_depth 6 --output_dir exp/asr_depth6

    # stock ESPnet decodes it, without espnet_layerprune:
    python -m espnet2.bin.asr_inference \\
        --asr_train_config exp/asr_depth6/config.yaml \\
        --asr_model_file exp/asr_depth6/model.pth ...

``--prune_depth`` keeps the layers decoding keeps at that depth (the prune plan
next to the model, if any). See :mod:`espnet_layerprune.export` for what is written.
"""

import argparse
import logging
import sys
from typing import List, Optional

from espnet2.utils.types import str2bool

from espnet_layerprune.bin.asr_inference import (
    _layer_list,
    _positive_int,
    encoder_depth_from_config,
)
from espnet_layerprune.pruning import check_depth, check_layers

LOG_FORMAT = "%(asctime)s (%(module)s:%(lineno)d) %(levelname)s: %(message)s"


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--asr_train_config", required=True, help="The model's config.yaml.")
    parser.add_argument("--asr_model_file", required=True, help="The model's .pth file.")
    parser.add_argument("--output_dir", required=True, help="New directory for the exported model.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--prune_depth", type=_positive_int("--prune_depth"),
                       help="Keep N encoder layers (which ones: as decoding at --prune_depth N).")
    group.add_argument("--prune_layers", type=_layer_list,
                       help="Keep exactly these 1-based encoder layers, increasing, e.g. 1,3,5.")
    group.add_argument("--prune_size", type=_positive_int("--prune_size"),
                       help="Keep K prunable units (data-driven supernets).")
    parser.add_argument("--use_prune_plan", type=str2bool, default=True,
                        help="Use prune_plan.yaml next to the model for --prune_depth.")
    parser.add_argument("--overwrite", type=str2bool, default=False,
                        help="Write into a non-empty --output_dir.")
    parser.add_argument("--log_level", default="INFO",
                        choices=("ERROR", "WARNING", "INFO", "DEBUG"), help="Log level.")
    return parser


def main(cmd: Optional[List[str]] = None):
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    try:
        depth = encoder_depth_from_config(args.asr_train_config)
        if depth is not None:  # fail before loading anything
            if args.prune_depth is not None:
                check_depth(args.prune_depth, depth)
            if args.prune_layers is not None:
                check_layers(args.prune_layers, depth)
        from espnet_layerprune.export import export_pruned_model

        return export_pruned_model(
            args.asr_train_config, args.asr_model_file, args.output_dir,
            depth=args.prune_depth, layers=args.prune_layers, size=args.prune_size,
            overwrite=args.overwrite, use_prune_plan=args.use_prune_plan,
        )
    except (ValueError, FileExistsError, NotImplementedError) as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    print(" ".join(sys.argv), file=sys.stderr)
    main()

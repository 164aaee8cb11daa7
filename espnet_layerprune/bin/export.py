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

    # or one ONNX graph (front end, kept layers, CTC head) for onnxruntime:
    python -m espnet_layerprune.bin.export ... --format onnx --prune_depth 6 --output_dir exp/asr_depth6_onnx

    # and beside it an int8 copy (onnxruntime's dynamic quantization of the MatMul weights):
    python -m espnet_layerprune.bin.export ... --format onnx --quantize int8 --prune_depth 6 ...

``--prune_depth`` keeps the layers decoding keeps at that depth (the prune plan
next to the model, if any). See :mod:`espnet_layerprune.export.model_dir` and
:mod:`espnet_layerprune.export.onnx_graph` for what is written.
"""

import argparse
import sys
from typing import List, Optional

from espnet2.utils.types import str2bool

from espnet_layerprune.bin.common import (
    add_log_options,
    add_model_options,
    add_prune_options,
    check_model_files,
    check_prune_args,
    setup_logging,
)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_options(parser)
    parser.add_argument("--output_dir", required=True, help="New directory for the exported model.")
    add_prune_options(parser, required=True)
    parser.add_argument("--format", default="espnet", choices=("espnet", "onnx"),
                        help="espnet: a stock ESPnet model directory; onnx: model.onnx (waveform to CTC "
                        "log-posteriors) + tokens.txt, for onnxruntime.")
    parser.add_argument("--quantize", default="none", choices=("none", "int8"),
                        help="With --format onnx: int8 also writes model.int8.onnx, the graph with int8 "
                        "MatMul weights (onnxruntime's dynamic quantization), beside model.onnx.")
    parser.add_argument("--overwrite", type=str2bool, default=False,
                        help="Write into a non-empty --output_dir.")
    add_log_options(parser)
    return parser


def main(cmd: Optional[List[str]] = None):
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    check_prune_args(args)  # fail before loading anything
    check_model_files(args)
    if args.quantize != "none" and args.format != "onnx":
        raise SystemExit(f"error: --quantize {args.quantize} needs --format onnx")
    try:
        if args.format == "onnx":
            from espnet_layerprune.export.onnx_graph import export_onnx_model

            return export_onnx_model(
                args.asr_train_config, args.asr_model_file, args.output_dir,
                depth=args.prune_depth, layers=args.prune_layers, size=args.prune_size,
                overwrite=args.overwrite, use_prune_plan=args.use_prune_plan, quantize=args.quantize,
            )
        from espnet_layerprune.export.model_dir import export_pruned_model

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

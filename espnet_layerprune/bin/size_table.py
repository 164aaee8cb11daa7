"""A Markdown table of the units each size of a supernet keeps.

Written next to a trained ``model: layerprune`` model so that a user sees what
``--prune_size N`` runs: how many FFN / MHSA / conv units, which blocks, and,
per unit, the smallest size that keeps it (with its learned score)::

    python -m espnet_layerprune.bin.size_table \\
        --asr_train_config exp/asr/config.yaml \\
        --asr_model_file exp/asr/valid.loss.best.pth \\
        --output exp/asr/size_table.md
"""

import argparse
from typing import List, Optional

from espnet2.tasks.asr import ASRTask

from espnet_layerprune.analysis.size_table import write_size_table
from espnet_layerprune.bin.common import add_model_options, check_model_files
from espnet_layerprune.models.layerprune import LayerPruneASRModel


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_options(parser)
    parser.add_argument("--output", required=True, help="Markdown file to write")
    args = parser.parse_args(argv)
    check_model_files(args)

    model, _ = ASRTask.build_model_from_file(args.asr_train_config, args.asr_model_file, "cpu")
    if not isinstance(model, LayerPruneASRModel):
        parser.error(f"{args.asr_model_file} is not a model: layerprune model")
    print(write_size_table(model, args.output))


if __name__ == "__main__":
    main()

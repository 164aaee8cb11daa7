"""ESPnet ASR training with this package's encoders and models registered.

Same arguments as ``python -m espnet2.bin.asr_train``. Because this module imports
the package, the classes are registered in the parent process and in every
worker that ESPnet starts with multiprocessing "spawn" (the worker re-imports
the main module).
"""

import espnet_layerprune  # noqa: F401  (registers encoder/model choices)
from espnet2.tasks.asr import ASRTask

from espnet_layerprune.checks import InputError, check_training_args


def get_parser():
    return ASRTask.get_parser()


def main(cmd=None):
    """ASR training, e.g. ``python -m espnet_layerprune.bin.asr_train --config conf.yaml``."""
    args = ASRTask.get_parser().parse_args(cmd)
    if not args.collect_stats:  # bad data or options fail here, not hours later in torch
        try:
            check_training_args(args)
        except InputError as e:
            raise SystemExit(f"error: {e}") from None
    ASRTask.main(args=args)


if __name__ == "__main__":
    main()

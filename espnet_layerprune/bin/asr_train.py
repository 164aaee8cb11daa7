"""ESPnet ASR training with this package's encoders and models registered.

Same arguments as ``python -m espnet2.bin.asr_train``. Because this module imports
the package, the classes are registered in the parent process and in every
worker that ESPnet starts with multiprocessing "spawn" (the worker re-imports
the main module).

Before ESPnet starts, inputs are checked (:func:`espnet_layerprune.checks.training.
check_training_args`) and a supernet schedule (``model: layerprune``) gets what
only the trainer knows: ``accum_grad`` and the number of updates of the whole
training (``total_steps``), from which ``stage1_fraction`` becomes
``stage1_steps``; ``scheduler: tristagelr`` gets ``max_steps`` the same way when the config
leaves it out (:mod:`espnet_layerprune.training.schedule`). The filled-in values are saved in
``config.yaml``.

On a CPU, ``--use_amp true`` trains the encoder in bfloat16 (:mod:`espnet_layerprune.training.trainer`);
ESPnet's own trainer would ignore it there.
"""

import logging

import espnet_layerprune  # noqa: F401  (registers encoder/model choices)
from espnet2.tasks.asr import ASRTask

from espnet_layerprune.checks.training import check_training_args
from espnet_layerprune.core.errors import InputError
from espnet_layerprune.training.schedule import fill_scheduler_length, fill_supernet_schedule
from espnet_layerprune.training.trainer import CpuPrecisionASRTask


def get_parser():
    return ASRTask.get_parser()


def leave_logging_to_espnet() -> None:
    """Undo any logging set-up our checks caused. A library's ``logging.warning()``
    before ESPnet's ``logging.basicConfig()`` configures the root logger implicitly
    (at WARNING), ESPnet's call then does nothing, and every INFO line, the epoch
    results included, is lost from train.log."""
    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)


def main(cmd=None):
    """ASR training, e.g. ``python -m espnet_layerprune.bin.asr_train --config conf.yaml``."""
    args = ASRTask.get_parser().parse_args(cmd)
    try:
        if not args.collect_stats:  # bad data or options fail here, not hours later in torch
            check_training_args(args)
        fill_supernet_schedule(args)
        fill_scheduler_length(args)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    leave_logging_to_espnet()
    # On CPU, --use_amp true trains the encoder in bf16 (espnet_layerprune.training.trainer).
    task = CpuPrecisionASRTask if args.ngpu == 0 else ASRTask
    task.main(args=args)


if __name__ == "__main__":
    main()

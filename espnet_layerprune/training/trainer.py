"""ESPnet's trainer, with ``--use_amp true`` meaning bfloat16 on a CPU.

ESPnet enters ``autocast("cuda")`` only, so on a CPU ``--use_amp true`` builds a disabled
``GradScaler`` and trains in float32 (and a resumed run then fails to load the scaler's empty
state). :class:`PrecisionTrainer` keeps ESPnet's loop unchanged on GPUs; on a CPU it turns
``use_amp`` into the prunable encoder's bf16 autocast (:mod:`espnet_layerprune.encoders.precision`)
and runs ESPnet's loop without a scaler. ``config.yaml`` keeps ``use_amp: true``.
"""

import dataclasses
import logging

from espnet2.tasks.asr import ASRTask
from espnet2.train.trainer import Trainer

from espnet_layerprune.encoders import precision


class PrecisionTrainer(Trainer):
    """:class:`espnet2.train.trainer.Trainer` with bf16 training on CPU (``--use_amp true``)."""

    @classmethod
    def run(cls, model, optimizers, schedulers, train_iter_factory, valid_iter_factory,
            plot_attention_iter_factory, trainer_options, distributed_option) -> None:
        if trainer_options.ngpu == 0:
            dtype = None
            if trainer_options.use_amp:
                dtype = precision.resolve("bf16", option="--use_amp true (on CPU)")
                if dtype is not None and not precision.set_encoder_dtype(model, dtype):
                    logging.warning("--use_amp true on CPU needs a prunable encoder "
                                    "(prunable_transformer, ...); training in float32")
                    dtype = None
                # ESPnet's scaler and CUDA autocast do nothing on a CPU: leave them out.
                trainer_options = dataclasses.replace(trainer_options, use_amp=False)
            logging.info("training precision: %s", precision.describe(dtype))
        super().run(model=model, optimizers=optimizers, schedulers=schedulers,
                    train_iter_factory=train_iter_factory, valid_iter_factory=valid_iter_factory,
                    plot_attention_iter_factory=plot_attention_iter_factory,
                    trainer_options=trainer_options, distributed_option=distributed_option)


class CpuPrecisionASRTask(ASRTask):
    """ESPnet's ASR task with :class:`PrecisionTrainer` (what ``bin.asr_train`` runs on CPU)."""

    trainer = PrecisionTrainer

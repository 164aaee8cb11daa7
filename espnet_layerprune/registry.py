"""Registration of this package's classes into ESPnet's ASR task.

ESPnet picks encoders and models by name from module-level ``ClassChoices`` in
:mod:`espnet2.tasks.asr`. Adding our classes there (before ``ASRTask.get_parser``
runs) makes ``encoder: prunable_transformer`` (``prunable_conformer``,
``prunable_e_branchformer``) work in any training YAML.
``import espnet_layerprune`` calls :func:`register`; it is idempotent.
"""

from espnet2.tasks import asr as asr_task


def _encoders():
    from espnet_layerprune.encoders.prunable_conformer import PrunableConformerEncoder
    from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder
    from espnet_layerprune.encoders.prunable_transformer import PrunableTransformerEncoder

    return {
        "prunable_transformer": PrunableTransformerEncoder,
        "prunable_conformer": PrunableConformerEncoder,
        "prunable_e_branchformer": PrunableEBranchformerEncoder,
    }


def _models():
    from espnet_layerprune.models.layerprune import LayerPruneASRModel

    return {"layerprune": LayerPruneASRModel}


def register() -> None:
    """Add our encoders and models to ``espnet2.tasks.asr``'s choices."""
    for name, cls in _encoders().items():
        asr_task.encoder_choices.classes[name] = cls
    for name, cls in _models().items():
        asr_task.model_choices.classes[name] = cls

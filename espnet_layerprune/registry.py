"""Registration of this package's classes into ESPnet's ASR task.

ESPnet picks encoders and models by name from module-level ``ClassChoices`` in
:mod:`espnet2.tasks.asr`. Adding our classes there (before ``ASRTask.get_parser``
runs) makes ``encoder: prunable_transformer`` (``prunable_conformer``,
``prunable_e_branchformer``) work in any training YAML.
``import espnet_layerprune`` calls :func:`register`; it is idempotent.
"""

from espnet2.tasks import asr as asr_task


def _encoders():
    from espnet_layerprune.encoders.prunable_transformer import (
        PrunableTransformerEncoder,
    )

    found = {"prunable_transformer": PrunableTransformerEncoder}
    try:
        from espnet_layerprune.encoders.prunable_conformer import (
            PrunableConformerEncoder,
        )
    except ImportError:  # pragma: no cover - conformer module not present
        return found
    found["prunable_conformer"] = PrunableConformerEncoder
    from espnet_layerprune.encoders.prunable_e_branchformer import PrunableEBranchformerEncoder

    found["prunable_e_branchformer"] = PrunableEBranchformerEncoder
    return found


def _models():
    try:
        from espnet_layerprune.model import LayerPruneASRModel
    except ImportError:  # pragma: no cover - data-driven model not present
        return {}
    return {"layerprune": LayerPruneASRModel}


def register() -> None:
    """Add our encoders and models to ``espnet2.tasks.asr``'s choices."""
    for name, cls in _encoders().items():
        asr_task.encoder_choices.classes[name] = cls
    for name, cls in _models().items():
        asr_task.model_choices.classes[name] = cls

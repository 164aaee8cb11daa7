"""Registration of this package's classes into ESPnet's ASR task.

ESPnet picks encoders and models by name from module-level ``ClassChoices`` in
:mod:`espnet2.tasks.asr`. Adding our classes there (before ``ASRTask.get_parser``
runs) makes ``encoder: prunable_transformer`` (``prunable_conformer``,
``prunable_e_branchformer``) work in any training YAML.

``import espnet_layerprune`` calls :func:`register_when_espnet_loads`: it registers at
once if :mod:`espnet2.tasks.asr` is imported already, else right after it is. Importing
that module costs about 8 s of CPU (it pulls in every ESPnet task); tools of this package
that never build a model (reports, the n-gram LM, scoring) therefore start in a second.
"""

import importlib.abc
import sys

TASK_MODULE = "espnet2.tasks.asr"


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
    """Add our encoders and models to ``espnet2.tasks.asr``'s choices (idempotent)."""
    from espnet2.tasks import asr as asr_task

    for name, cls in _encoders().items():
        asr_task.encoder_choices.classes[name] = cls
    for name, cls in _models().items():
        asr_task.model_choices.classes[name] = cls


class _RegisterAfter(importlib.abc.Loader):
    """The task module's own loader, calling :func:`register` once the module has run."""

    def __init__(self, loader, watcher):
        self._loader, self._watcher = loader, watcher

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        if self._watcher in sys.meta_path:  # loaded: nothing left to watch (a failed import is watched again)
            sys.meta_path.remove(self._watcher)
        register()

    def __getattr__(self, name):  # get_source, get_code, ...: as the wrapped loader
        return getattr(self._loader, name)


class _TaskImportWatcher(importlib.abc.MetaPathFinder):
    """Finds :data:`TASK_MODULE` as the other finders would, and registers after it loads."""

    def find_spec(self, fullname, path, target=None):
        if fullname != TASK_MODULE:
            return None
        for finder in sys.meta_path:  # the finders that would have found it (an editable espnet too)
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RegisterAfter(spec.loader, self)
                return spec
        return None


def register_when_espnet_loads() -> None:
    """:func:`register` now if ESPnet's ASR task is loaded, else right after it is."""
    if TASK_MODULE in sys.modules:
        register()
    elif not any(isinstance(f, _TaskImportWatcher) for f in sys.meta_path):
        sys.meta_path.insert(0, _TaskImportWatcher())

"""espnet_layerprune: train one ESPnet CTC encoder, decode it at any depth or size.

Importing the package registers ``encoder: prunable_transformer`` (and the other
classes of this package) into ESPnet's ASR task: at once if ``espnet2.tasks.asr`` is
loaded, else as soon as it is (so the tools that never build a model start in a
second). Nothing else happens on import.
"""

from espnet_layerprune.registry import register_when_espnet_loads

__version__ = "0.1.0"

register_when_espnet_loads()

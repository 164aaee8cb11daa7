"""espnet_layerprune: train one ESPnet CTC encoder, decode it at any depth or size.

Importing the package registers ``encoder: prunable_transformer`` (and the other
classes of this package) into ESPnet's ASR task; nothing else happens on import.
"""

from espnet_layerprune.registry import register

__version__ = "0.1.0"

register()

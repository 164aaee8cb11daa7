"""Command-line entry points (``python -m espnet_layerprune.bin.<name>``)."""

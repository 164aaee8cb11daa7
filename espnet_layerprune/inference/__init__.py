"""Decoding: :class:`~espnet_layerprune.inference.speech2text.Speech2Text` (ESPnet's, with a pruned
encoder), decoding methods over CTC log-posteriors, early exit and its learned gate, budgets and
their calibration, the lexicon search and its word n-gram."""

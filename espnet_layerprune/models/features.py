"""The one feature pipeline into the encoder, for every path that feeds it.

Training (``model: layerprune``), dev-set evaluation, decoding at every depth, the ONNX export's
check and the benchmarks all turn a waveform into the encoder's input here, exactly as ESPnet's
``ESPnetASRModel.encode`` does before it calls the encoder:

1. the front end (feature extraction), SpecAugment in training only, the normalisation, all
   under the model's ``autocast_frontend``;
2. the pre-encoder;
3. the encoder's own front end, subsampling and positional encoding (:func:`encoder_input`;
   :meth:`~espnet_layerprune.encoders.prunable.PrunableEncoderMixin.embed_input`).

Examples:
    >>> embedded = encoder_input(model, speech, lengths)       # once per batch
    >>> model.encoder.run_units(embedded, units=[1, 2, 3])     # any kept units, as often as needed
"""

from typing import Tuple

import torch
from espnet2.asr.espnet_model import autocast_type
from torch.amp import autocast


def features(model, speech: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Steps 1 and 2: ``(B, T', D)`` features and their lengths, from ``(B, T)`` speech."""
    with autocast("cuda", enabled=model.autocast_frontend, dtype=autocast_type):
        feats, feats_lengths = model._extract_feats(speech, lengths)
        if model.specaug is not None and model.training:
            feats, feats_lengths = model.specaug(feats, feats_lengths)
        if model.normalize is not None:
            feats, feats_lengths = model.normalize(feats, feats_lengths)
    if model.preencoder is not None:
        feats, feats_lengths = model.preencoder(feats, feats_lengths)
    return feats, feats_lengths


def encoder_input(model, speech: torch.Tensor, lengths: torch.Tensor):
    """All three steps: the :class:`~espnet_layerprune.encoders.prunable.Embedded` input of
    ``model.encoder`` (a prunable encoder), shared by every pass over it."""
    return model.encoder.embed_input(*features(model, speech, lengths))

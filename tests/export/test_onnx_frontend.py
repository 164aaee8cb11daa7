"""The ONNX graph's front end computes ESPnet's features, folded STFT or strided convolution."""

import types

import pytest
import torch
from espnet2.asr.frontend.default import DefaultFrontend
from espnet2.layers.utterance_mvn import UtteranceMVN

from espnet_layerprune.export.onnx_frontend import WaveformFrontend


@pytest.mark.parametrize("stft, folded", [
    (dict(n_fft=400, hop_length=160), True),                   # the recipes': frames of 5 blocks of 80 samples
    (dict(n_fft=512, hop_length=128, win_length=400), True),   # a window shorter than n_fft, centred
    (dict(n_fft=255, hop_length=100), False),                  # odd n_fft: the strided convolution
    (dict(n_fft=256, hop_length=1), False),                    # 256 blocks a frame: the strided convolution
])
def test_features_of_a_padded_batch_are_espnets_of_each_utterance(stft, folded):
    model = types.SimpleNamespace(frontend=DefaultFrontend(fs=16000, n_mels=20, **stft).eval(),
                                  normalize=UtteranceMVN(norm_means=True, norm_vars=True))
    ours = WaveformFrontend(model)
    assert ours.folded == folded
    speech = 0.1 * torch.randn(3, 8000, generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([8000, 5321, 2000])
    feats, feat_lengths = ours(speech, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone, alone_len = model.frontend(speech[b: b + 1, :n], torch.tensor([n]))
        expected, _ = model.normalize(alone, alone_len)
        assert feat_lengths[b] == alone_len[0]
        torch.testing.assert_close(feats[b, : alone_len[0]], expected[0], atol=2e-3, rtol=1e-3)
        assert not feats[b, alone_len[0]:].any()  # padded frames are zero

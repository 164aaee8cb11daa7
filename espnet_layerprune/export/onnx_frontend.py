"""ESPnet's default front end and its normalisation, for a padded batch, in operators ONNX exports.

:class:`WaveformFrontend` turns ``(B, samples)`` waveforms and their lengths into the features and
feature lengths ESPnet's ``DefaultFrontend`` + ``normalize`` compute for each utterance on its own:

- the STFT is a product with the windowed DFT basis (``torch.stft`` exports poorly, and onnxruntime's
  own STFT operator is about 15x slower here). For an even ``n_fft`` each windowed frame is first folded
  around its centre (``y[n] + y[N - n]`` for the cosines, ``y[n] - y[N - n]`` for the sines: half the
  products), the frames cut from the signal as blocks of ``gcd(n_fft, hop)`` samples with slices and a
  flip (1.45x faster than the strided convolution with the full basis in onnxruntime; an earlier fold
  that gathered each sample cost more than it saved); otherwise a strided convolution with the full
  basis. ``center: true`` reflects each utterance at its *own* end (a gather), not at the end of the
  padded batch, so a padded utterance gets the frames it gets alone;
- power spectrum, ESPnet's mel matrix, log, padded frames set to zero (``LogMel``);
- :func:`utterance_mvn` (ESPnet's ``UtteranceMVN``) or the global MVN, over the real frames only.
"""

import math
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F

from espnet_layerprune.core.errors import ConfigError

#: The folded STFT cuts frames from blocks of gcd(n_fft, hop) samples, one slice per block of a frame;
#: past this many slices the strided convolution is used instead.
MAX_BLOCKS_PER_FRAME = 8


def utterance_mvn(x: torch.Tensor, lengths: torch.Tensor, norm_means: bool = True, norm_vars: bool = False,
                  eps: float = 1.0e-20) -> torch.Tensor:
    """ESPnet's utterance mean and variance normalisation, over the first ``lengths`` frames.

    Equal to ``espnet2.layers.utterance_mvn.utterance_mvn`` (padded frames come back zero): the
    mean over the real frames is subtracted with ``norm_means``; with ``norm_vars`` the features
    are divided by their standard deviation around that mean, floored at ``eps`` (a floor on the
    std, not the variance), whether or not the mean is subtracted.

    Args:
        x: ``(B, T, D)`` features.
        lengths: ``(B,)`` real frames per utterance.
        norm_means: Subtract the mean.
        norm_vars: Divide by the standard deviation.
        eps: Floor of the standard deviation.
    """
    valid = (torch.arange(x.size(1), device=x.device)[None, :] < lengths[:, None])[..., None].to(x.dtype)
    count = lengths.to(x.dtype)[:, None, None]
    x = x * valid
    mean = x.sum(dim=1, keepdim=True) / count
    centred = (x - mean) * valid
    if norm_vars:
        std = torch.clamp((centred * centred).sum(dim=1, keepdim=True).div(count).sqrt(), min=eps)
    if norm_means:
        x = centred
    return x / std if norm_vars else x


class WaveformFrontend(torch.nn.Module):
    """ESPnet's default front end (STFT, power, log-mel) and normalisation, in export-friendly ops.

    Args:
        model: An ESPnet ASR model with ``frontend: default`` and ``normalize`` utterance_mvn,
            global_mvn or none.

    Raises:
        ConfigError: Another front end or normalisation, or an STFT option the graph cannot express.
    """

    def __init__(self, model):
        super().__init__()
        from espnet2.asr.frontend.default import DefaultFrontend

        fe = model.frontend
        if not isinstance(fe, DefaultFrontend) or fe.stft is None:
            raise ConfigError("--format onnx supports frontend: default (STFT + log-mel) only, "
                              f"got {type(fe).__name__}")
        enhancement = getattr(fe, "frontend", None)  # built (inert) whenever frontend_conf is given
        if enhancement is not None and (getattr(enhancement, "use_wpe", False)
                                        or getattr(enhancement, "use_beamformer", False)):
            raise ConfigError("--format onnx does not support the WPE / beamformer front end")
        stft = fe.stft
        if stft.normalized or not stft.onesided:
            raise ConfigError("--format onnx needs frontend_conf normalized: false and onesided: true")
        n_fft, win = stft.n_fft, stft.win_length or stft.n_fft
        window = (getattr(torch, f"{stft.window}_window")(win, dtype=torch.float64) if stft.window
                  else torch.ones(win, dtype=torch.float64))
        left = (n_fft - win) // 2  # torch.stft centres a shorter window inside n_fft
        window = F.pad(window, (left, n_fft - win - left))
        k = torch.arange(n_fft, dtype=torch.float64)
        freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
        angle = 2 * torch.pi * freqs[:, None] * k[None] / n_fft
        self.n_fft, self.hop, self.center, self.bins = n_fft, stft.hop_length, stft.center, n_fft // 2 + 1
        self.block = math.gcd(n_fft, self.hop)
        self.folded = n_fft % 2 == 0 and n_fft // self.block <= MAX_BLOCKS_PER_FRAME
        if self.folded:  # cosines over n = 0 .. N/2, sines over n = 1 .. N/2 - 1 (the rest are zero)
            self.register_buffer("window", window.float())
            self.register_buffer("cos_basis", torch.cos(angle[:, : n_fft // 2 + 1]).float().T.contiguous())
            self.register_buffer("sin_basis", -torch.sin(angle[:, 1: n_fft // 2]).float().T.contiguous())
        else:
            basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window
            self.register_buffer("basis", basis.float()[:, None, :])
        self.register_buffer("melmat", fe.logmel.melmat.detach().clone())
        self.log_base = fe.logmel.log_base
        self._normalize_from(model.normalize)

    def _normalize_from(self, normalize) -> None:
        from espnet2.layers.global_mvn import GlobalMVN
        from espnet2.layers.utterance_mvn import UtteranceMVN

        self.norm = "none"
        if isinstance(normalize, UtteranceMVN):
            self.norm, self.norm_means, self.norm_vars, self.eps = (
                "utterance", normalize.norm_means, normalize.norm_vars, normalize.eps)
        elif isinstance(normalize, GlobalMVN):
            self.norm, self.norm_means, self.norm_vars = "global", normalize.norm_means, normalize.norm_vars
            self.register_buffer("mean", normalize.mean.detach().clone().float())
            self.register_buffer("std", normalize.std.detach().clone().float())
        elif normalize is not None:
            raise ConfigError(f"--format onnx supports normalize: utterance_mvn, global_mvn or none, "
                              f"got {type(normalize).__name__}")

    def frames(self, samples: int) -> int:
        """Feature frames of an utterance of ``samples`` samples (ESPnet's ``Stft`` lengths)."""
        pad = self.n_fft // 2 if self.center else 0
        return (samples + 2 * pad - self.n_fft) // self.hop + 1

    def _padded(self, speech: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, samples + n_fft)``: each utterance reflected at both of its own ends (``center``).

        The batch is reflected at its common ends (one pass), then the ``n_fft / 2`` samples after each
        utterance's own end are overwritten with its reflection (a no-op for the longest utterance):
        a few samples gathered and scattered, instead of an index per sample."""
        pad = self.n_fft // 2
        x = F.pad(speech[:, None, :], (pad, pad), mode="reflect")[:, 0]
        k = torch.arange(pad, device=speech.device)[None, :]
        reflected = torch.gather(speech, 1, lengths[:, None] - 2 - k)  # x[L - 2], x[L - 3], ...
        return x.scatter(1, lengths[:, None] + pad + k, reflected)

    def _spectrum(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary parts, each ``(B, frames, bins)``, of the STFT of ``(B, samples)``."""
        if not self.folded:
            spec = F.conv1d(x[:, None, :], self.basis, stride=self.hop).transpose(1, 2)
            return spec[..., : self.bins], spec[..., self.bins:]
        n, half, step = self.n_fft, self.n_fft // 2, self.hop // self.block
        frames = torch.div(x.size(1) - n, self.hop, rounding_mode="floor") + 1
        span = (frames - 1) * step + 1  # blocks spanned by the frames' first blocks
        blocks = x[:, : (span + n // self.block - 1) * self.block].reshape(x.size(0), -1, self.block)
        y = torch.cat([blocks[:, j: j + span: step] for j in range(n // self.block)], dim=-1) * self.window
        head, tail = y[..., : half + 1], torch.flip(y[..., half:], [-1])  # tail[m] = y[N - 1 - m]
        even = torch.cat([head[..., :1], head[..., 1:half] + tail[..., : half - 1], head[..., half:]], dim=-1)
        odd = head[..., 1:half] - tail[..., : half - 1]
        return torch.matmul(even, self.cos_basis), torch.matmul(odd, self.sin_basis)

    def forward(self, speech: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, frames, mels)`` normalised features (zero past each length) and ``(B,)`` lengths."""
        x = self._padded(speech, lengths) if self.center else speech
        pad = self.n_fft // 2 if self.center else 0
        frame_lengths = torch.div(lengths + 2 * pad - self.n_fft, self.hop, rounding_mode="floor") + 1
        real, imag = self._spectrum(x)
        power = real * real + imag * imag
        mel = torch.clamp(torch.matmul(power, self.melmat), min=1e-10).log()
        if self.log_base is not None:
            mel = mel / float(np.log(self.log_base))
        valid = (torch.arange(mel.size(1), device=mel.device)[None, :] < frame_lengths[:, None])[..., None]
        mel = mel * valid.to(mel.dtype)
        if self.norm == "utterance":
            mel = utterance_mvn(mel, frame_lengths, self.norm_means, self.norm_vars, self.eps)
        elif self.norm == "global":
            if self.norm_means:
                mel = (mel - self.mean) * valid.to(mel.dtype)
            if self.norm_vars:
                mel = mel / self.std
        return mel, frame_lengths

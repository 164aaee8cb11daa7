"""A pruned model as one ONNX graph: waveform -> front end -> kept encoder units -> CTC log-posteriors.

``python -m espnet_layerprune.bin.export --format onnx --prune_depth 6 ...`` writes, into
``--output_dir``::

    model.onnx      input "speech" (1, samples) float32 at the model's rate;
                    output "log_probs" (1, frames, vocabulary)
    tokens.txt      the token list, one per line (line n = id n)
    onnx.yaml       sample rate, blank id, token type, kept layers/units, the source model

The front end is rebuilt from operators every runtime has: the STFT as a strided convolution with
the windowed DFT basis (ESPnet's ``DefaultFrontend`` calls ``torch.stft``, which ONNX exporters
handle poorly), then the power spectrum, ESPnet's own mel matrix, log, and the model's
normalisation (utterance or global MVN). One utterance per call (batch 1, no padding), which is
how on-device decoding runs. :class:`~espnet_layerprune.export.onnx_runtime.OnnxSpeech2Text` decodes it
with onnxruntime and greedy CTC.
"""

import logging
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.prunable import Embedded
from espnet_layerprune.export.onnx_runtime import ONNX_FILENAME, OnnxSpeech2Text
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import head_for

OPSET = 17


class WaveformFrontend(torch.nn.Module):
    """ESPnet's default front end (STFT, power, log-mel) and normalisation, in export-friendly ops."""

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
        window = getattr(torch, f"{stft.window}_window")(win) if stft.window else torch.ones(win)
        left = (n_fft - win) // 2  # torch.stft centres a shorter window inside n_fft
        window = F.pad(window, (left, n_fft - win - left))
        k = torch.arange(n_fft, dtype=torch.float64)
        freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
        angle = 2 * torch.pi * freqs[:, None] * k[None] / n_fft
        basis = torch.cat([torch.cos(angle), -torch.sin(angle)]) * window.double()
        self.register_buffer("basis", basis.float()[:, None, :])
        self.register_buffer("melmat", fe.logmel.melmat.detach().clone())
        self.n_fft, self.hop, self.center, self.bins = n_fft, stft.hop_length, stft.center, n_fft // 2 + 1
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

    def forward(self, speech: torch.Tensor) -> torch.Tensor:
        x = speech[:, None, :]
        if self.center:
            x = F.pad(x, (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        spec = F.conv1d(x, self.basis, stride=self.hop)  # (1, 2F, T): real parts, then imaginary
        real, imag = spec[:, : self.bins], spec[:, self.bins:]
        power = (real * real + imag * imag).transpose(1, 2)
        mel = torch.clamp(torch.matmul(power, self.melmat), min=1e-10).log()
        if self.log_base is not None:
            mel = mel / float(np.log(self.log_base))
        if self.norm == "utterance":
            if self.norm_means:
                mel = mel - mel.mean(dim=1, keepdim=True)
            if self.norm_vars:
                mel = mel / torch.clamp(mel.pow(2).mean(dim=1, keepdim=True), min=self.eps).sqrt()
        elif self.norm == "global":
            if self.norm_means:
                mel = mel - self.mean
            if self.norm_vars:
                mel = mel / self.std
        return mel


class PrunedCTCGraph(torch.nn.Module):
    """Waveform to CTC log-posteriors through the kept units only (what ``--prune_*`` decodes)."""

    def __init__(self, model, units: Sequence[int]):
        super().__init__()
        self.frontend = WaveformFrontend(model)
        self.encoder = model.encoder
        self.ctc = model.ctc  # self-conditioning reads the shared head, as in training
        self.head = head_for(model, len(units))
        self.units = tuple(units)
        if model.preencoder is not None:
            raise ConfigError("--format onnx does not support a preencoder")

    def forward(self, speech: torch.Tensor) -> torch.Tensor:
        feats = self.frontend(speech)
        masks = torch.ones_like(feats[:, None, :, 0], dtype=torch.bool)
        xs, masks = self.encoder.embed(feats, masks)
        pos_emb = None
        if isinstance(xs, tuple):
            xs, pos_emb = xs
        out = self.encoder.run_units(Embedded(xs, pos_emb, masks), units=self.units, ctc=self.ctc)[0]
        if isinstance(out, tuple):  # (top output, intermediate outputs)
            out = out[0]
        return self.head.log_softmax(out)


def export_onnx(model, units: Sequence[int], output_dir, train_args, source: str, sample_rate: int) -> Path:
    """Write ``model.onnx``, ``tokens.txt`` and ``onnx.yaml`` for the kept ``units``."""
    out = Path(output_dir)
    graph = PrunedCTCGraph(model, units).eval()  # unsupported models fail here, before writing
    out.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(1, sample_rate)  # 1 s; the time axis is dynamic
    example.normal_(generator=torch.Generator().manual_seed(0)).mul_(0.1)
    # The TorchScript exporter (dynamo=False) records the kept-unit loop as it runs; its warnings are
    # about ESPnet's positional-encoding table being taken as long enough, which it is up to
    # max_seconds (written to onnx.yaml).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames_per_second = graph(example).size(1)
        torch.onnx.export(graph, (example,), str(out / ONNX_FILENAME), input_names=["speech"],
                          output_names=["log_probs"], dynamic_axes={"speech": {1: "samples"},
                                                                     "log_probs": {1: "frames"}},
                          opset_version=OPSET, dynamo=False)
    tables = [m.pe.size(1) for m in model.encoder.embed.modules() if isinstance(getattr(m, "pe", None), torch.Tensor)]
    (out / "tokens.txt").write_text("\n".join(model.token_list) + "\n")
    encoder = model.encoder
    U = encoder.units_per_layer
    meta = {
        "source_model": source,
        "sample_rate": sample_rate,
        "blank_id": int(model.blank_id),
        "token_type": getattr(train_args, "token_type", None),
        "kept_layers": sorted({(u - 1) // U + 1 for u in units}),
        "kept_units": list(units),
        "units_per_layer": U,
        "num_layers": encoder.num_layers,
        "input": "speech: (1, samples) float32 waveform",
        "output": "log_probs: (1, frames, vocabulary) CTC log-posteriors",
        "max_seconds": round(min(tables) / frames_per_second, 1) if tables else None,
        "opset": OPSET,
    }
    with open(out / "onnx.yaml", "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False)
    logging.info("wrote %s (kept layers %s)", out / ONNX_FILENAME, meta["kept_layers"])
    return out / ONNX_FILENAME


def export_onnx_model(asr_train_config, asr_model_file, output_dir, depth: Optional[int] = None,
                      layers: Optional[Sequence[int]] = None, size: Optional[int] = None,
                      overwrite: bool = False, use_prune_plan: bool = True) -> Path:
    """``bin.export --format onnx``: prune as decoding would, export, and check the graph against
    PyTorch on a random second of audio (the largest log-posterior difference goes to onnx.yaml).

    Raises:
        ConfigError: A front end, normalisation or preencoder the graph cannot express.
        FileExistsError: ``output_dir`` is not empty and ``overwrite`` is false.
    """
    from espnet2.tasks.asr import ASRTask

    from espnet_layerprune.models.pruning import prune_model
    from espnet_layerprune.checks.audio import audio_expectations
    from espnet_layerprune.export.model_dir import check_output_dir
    from espnet_layerprune.core.plan import PrunePlan

    output_dir = Path(output_dir)
    check_output_dir(output_dir, [asr_train_config, asr_model_file], overwrite)
    model, train_args = ASRTask.build_model_from_file(asr_train_config, asr_model_file, "cpu")
    model.eval()
    plan = PrunePlan.find_for(asr_model_file) if use_prune_plan else None
    pruned = prune_model(model, depth=depth, layers=layers, size=size, plan=plan)
    fs, _ = audio_expectations(train_args)
    path = export_onnx(model, pruned.kept_units, output_dir, train_args, str(Path(asr_model_file).absolute()), fs)
    speech = np.random.default_rng(1).standard_normal(int(1.5 * fs)).astype(np.float32) * 0.1
    with torch.no_grad():
        x = torch.from_numpy(speech)[None]
        enc = model.encoder.run_units(encoder_input(model, x, torch.tensor([x.size(1)])), ctc=model.ctc)[0]
        enc = enc[0] if isinstance(enc, tuple) else enc
        expected = head_for(model, len(pruned.kept_units)).log_softmax(enc)[0].numpy()
    got = OnnxSpeech2Text(output_dir, threads=1).log_probs(speech)
    diff = float(np.abs(got - expected).max())
    meta_path = output_dir / "onnx.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["max_log_prob_difference"] = diff
    meta_path.write_text(yaml.safe_dump(meta, sort_keys=False))
    if diff > 1e-3:
        raise RuntimeError(f"ONNX check failed: log-posteriors differ from PyTorch by {diff:.3g}")
    logging.info("ONNX log-posteriors match PyTorch within %.1e", diff)
    return path

"""A pruned model as one ONNX graph: padded waveforms -> front end -> kept encoder units -> CTC log-posteriors.

``python -m espnet_layerprune.bin.export --format onnx --prune_depth 6 [--quantize int8] ...`` writes,
into ``--output_dir``::

    model.onnx       inputs  "speech" (batch, samples) float32 at the model's rate, zero-padded,
                             "speech_lengths" (batch,) int64;
                     outputs "log_probs" (batch, frames, vocabulary) CTC log-posteriors,
                             "log_probs_lengths" (batch,) int64 (frames past a length are padding)
    model.int8.onnx  with --quantize int8: the same network, the input layer's convolutions written as
                     MatMuls, all weight MatMuls but the front end's int8 (onnxruntime's dynamic
                     quantization: weights per output channel, activations per call; see
                     :mod:`~espnet_layerprune.export.onnx_quantize`)
    tokens.txt       the token list, one per line (line n = id n)
    onnx.yaml        sample rate, blank id, token type, kept layers/units, the input length range, the source

The graph takes the same path as PyTorch decoding (:func:`~espnet_layerprune.models.features.encoder_input`):
:class:`~espnet_layerprune.export.onnx_frontend.WaveformFrontend` (ESPnet's front end and normalisation),
the encoder's own ``embed_input`` (subsampling or any other input layer, positional encoding), the kept
units, the final output only (no intermediate CTC outputs), the CTC head of that size.

A padded utterance decodes as it does alone: the front end reflects each utterance at its own end,
attention is masked, and the position-wise convolutions of ``positionwise_layer_type: conv1d``
(which ESPnet runs unmasked) read zeros past each length, as at the end of a lone utterance; the
conformer's convolution module is masked by the encoder itself. (E-Branchformer's convolutions are not
masked, in ESPnet as here: batched outputs differ slightly near the padding.)

The longest input is set by the positional-encoding table (``max_len``, 5000 frames after subsampling in
ESPnet): ``max_samples`` in onnx.yaml, enforced by :class:`~espnet_layerprune.export.onnx_runtime.OnnxSpeech2Text`.
"""

import copy
import logging
import warnings
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import yaml

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.export.onnx_frontend import WaveformFrontend
from espnet_layerprune.export.onnx_layers import MatMulConv2d, matmul_convolutions, padding_safe
from espnet_layerprune.export.onnx_quantize import quantize_int8
from espnet_layerprune.export.onnx_runtime import INPUTS, ONNX_FILENAME, OUTPUTS, QUANTIZED_FILENAME, OnnxSpeech2Text
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import head_for

OPSET = 17
#: ``--quantize`` choices: none, or onnxruntime's dynamic int8 quantization of the MatMul weights.
QUANTIZE_CHOICES = ("none", "int8")


class PrunedCTCGraph(torch.nn.Module):
    """Padded waveforms and lengths to CTC log-posteriors and lengths through the kept units only
    (what ``--prune_*`` decodes). Holds a copy of ``model``'s modules; ``model`` is left unchanged.

    Args:
        model: The ESPnet ASR model.
        units: The kept units.
        matmul_convs: The input layer's convolutions as MatMuls (for int8 quantization; in
            float32, onnxruntime's own convolution is faster).
    """

    def __init__(self, model, units: Sequence[int], matmul_convs: bool = False):
        super().__init__()
        if model.preencoder is not None:
            raise ConfigError("--format onnx does not support a preencoder")
        self.frontend = WaveformFrontend(model)
        self.head = copy.deepcopy(head_for(model, len(units)))
        self.ctc = copy.deepcopy(model.ctc)  # self-conditioning reads the shared head, as in training
        self.encoder = copy.deepcopy(model.encoder)
        self.encoder.return_intermediate = False  # the final output only (intermediates cost time)
        self.mask = padding_safe(self.encoder)
        if matmul_convs:
            matmul_convolutions(self.encoder.embed)
        self.units = tuple(units)

    def forward(self, speech: torch.Tensor, speech_lengths: torch.Tensor):
        feats, lengths = self.frontend(speech, speech_lengths)
        pad = torch.arange(feats.size(1), device=feats.device)[None, :] >= lengths[:, None]
        embedded = self.encoder.embed_input(feats, lengths, pad)
        self.mask[0] = embedded.masks
        out = self.encoder.run_units(embedded, units=self.units, ctc=self.ctc)[0]
        if isinstance(out, tuple):  # (final output, intermediate outputs): an encoder that ignores the flag
            out = out[0]
        return self.head.log_softmax(out), embedded.lengths.to(torch.int64)


def encoder_frames(graph: PrunedCTCGraph, samples: int) -> int:
    """Encoder frames (= log-posterior frames) of an utterance of ``samples`` samples: the front end's
    frames through the time-axis convolutions of the encoder's input layer (ESPnet's lengths)."""
    n = graph.frontend.frames(samples)
    embed = graph.encoder.embed
    for conv in (m for m in (embed.modules() if embed is not None else ())
                 if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, MatMulConv2d))):
        n = (n + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
    return n


def max_encoder_frames(encoder) -> Optional[int]:
    """The most frames the positional-encoding tables of ``encoder`` cover (``None``: no table).

    ESPnet's ``RelPositionalEncoding`` (``rel_pos_type: latest``) holds ``2 * max_len - 1`` rows for
    ``max_len`` frames; the absolute and legacy relative encodings hold one row per frame."""
    from espnet2.legacy.nets.pytorch_backend.transformer.embedding import RelPositionalEncoding

    limits = []
    for m in encoder.modules():
        pe = getattr(m, "pe", None)
        if isinstance(pe, torch.Tensor):
            limits.append((pe.size(1) + 1) // 2 if isinstance(m, RelPositionalEncoding) else pe.size(1))
    return min(limits) if limits else None


def max_samples(graph: PrunedCTCGraph) -> Optional[int]:
    """The longest input (samples) whose encoder frames the positional-encoding tables cover."""
    limit = max_encoder_frames(graph.encoder)
    if limit is None:
        return None
    lo, hi = 0, 1
    while encoder_frames(graph, hi) <= limit:
        hi *= 2
    while hi - lo > 1:  # encoder_frames(lo) <= limit < encoder_frames(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if encoder_frames(graph, mid) <= limit else (lo, mid)
    return lo


def _trace(graph: PrunedCTCGraph, path: Path, sample_rate: int) -> None:
    """Export ``graph`` to ``path``, traced on two utterances of different lengths (1 s and 0.8 s):
    the batch and time axes are dynamic."""
    example = torch.zeros(2, sample_rate).normal_(generator=torch.Generator().manual_seed(0)).mul_(0.1)
    lengths = torch.tensor([sample_rate, int(0.8 * sample_rate)])
    example[1, lengths[1]:] = 0
    # The TorchScript exporter (dynamo=False) records the kept-unit loop as it runs; its warnings are
    # about ESPnet's positional-encoding table being taken as long enough, which it is up to
    # max_samples (written to onnx.yaml, checked by OnnxSpeech2Text).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = graph(example, lengths)[1].tolist()
        expected = [encoder_frames(graph, int(n)) for n in lengths]
        if frames != expected:  # an input layer whose lengths this module does not know
            raise ConfigError(f"--format onnx: the encoder's input layer {type(graph.encoder.embed).__name__} "
                              f"gives {frames} frames where {expected} were computed; it is not supported")
        torch.onnx.export(graph, (example, lengths), str(path), input_names=list(INPUTS), output_names=list(OUTPUTS),
                          dynamic_axes={INPUTS[0]: {0: "batch", 1: "samples"}, INPUTS[1]: {0: "batch"},
                                        OUTPUTS[0]: {0: "batch", 1: "frames"}, OUTPUTS[1]: {0: "batch"}},
                          opset_version=OPSET, dynamo=False)


def export_onnx(model, units: Sequence[int], output_dir, train_args, source: str, sample_rate: int,
                min_samples: int = 1, quantize: str = "none") -> Path:
    """Write ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``), ``tokens.txt`` and
    ``onnx.yaml`` for the kept ``units``."""
    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, got {quantize!r}")
    out = Path(output_dir)
    graph = PrunedCTCGraph(model, units).eval()  # unsupported models fail here, before writing
    out.mkdir(parents=True, exist_ok=True)
    _trace(graph, out / ONNX_FILENAME, sample_rate)
    if quantize == "int8":
        fp32_matmuls = out / "model.matmul_convs.onnx"
        _trace(PrunedCTCGraph(model, units, matmul_convs=True).eval(), fp32_matmuls, sample_rate)
        quantize_int8(fp32_matmuls, out / QUANTIZED_FILENAME)
        fp32_matmuls.unlink()
    (out / "tokens.txt").write_text("\n".join(model.token_list) + "\n")
    encoder = model.encoder
    U = encoder.units_per_layer
    longest = max_samples(graph)
    meta = {
        "source_model": source,
        "sample_rate": sample_rate,
        "blank_id": int(model.blank_id),
        "token_type": getattr(train_args, "token_type", None),
        "kept_layers": sorted({(u - 1) // U + 1 for u in units}),
        "kept_units": list(units),
        "units_per_layer": U,
        "num_layers": encoder.num_layers,
        "input": "speech: (batch, samples) float32 waveforms, zero-padded; speech_lengths: (batch,) int64",
        "output": "log_probs: (batch, frames, vocabulary) CTC log-posteriors; log_probs_lengths: (batch,) int64",
        "min_samples": int(min_samples),
        "max_samples": longest,
        "max_seconds": None if longest is None else round(longest / sample_rate, 2),
        "models": {"fp32": ONNX_FILENAME, **({"int8": QUANTIZED_FILENAME} if quantize == "int8" else {})},
        "opset": OPSET,
    }
    with open(out / "onnx.yaml", "w") as f:
        yaml.safe_dump(meta, f, sort_keys=False)
    logging.info("wrote %s (kept layers %s)", out / ONNX_FILENAME, meta["kept_layers"])
    return out / ONNX_FILENAME


def pytorch_log_probs(model, units: Sequence[int], speech: np.ndarray) -> np.ndarray:
    """What PyTorch decoding computes for one utterance: ``(frames, vocabulary)`` log-posteriors."""
    x = torch.from_numpy(speech)[None]
    encoder = model.encoder
    flag = getattr(encoder, "return_intermediate", None)
    encoder.return_intermediate = False
    try:
        with torch.no_grad():
            enc = encoder.run_units(encoder_input(model, x, torch.tensor([x.size(1)])), units=units, ctc=model.ctc)[0]
            enc = enc[0] if isinstance(enc, tuple) else enc
            return head_for(model, len(units)).log_softmax(enc)[0].numpy()
    finally:
        if flag is None:
            del encoder.return_intermediate
        else:
            encoder.return_intermediate = flag


def export_onnx_model(asr_train_config, asr_model_file, output_dir, depth: Optional[int] = None,
                      layers: Optional[Sequence[int]] = None, size: Optional[int] = None,
                      overwrite: bool = False, use_prune_plan: bool = True, quantize: str = "none") -> Path:
    """``bin.export --format onnx``: prune as decoding would, export, and check the graph against
    PyTorch on 1.5 s and 0.9 s of noise decoded as one padded batch (the largest log-posterior
    difference goes to onnx.yaml, and that of the int8 model, unchecked).

    Raises:
        ConfigError: A front end, normalisation, input layer or preencoder the graph cannot express,
            or a ``quantize`` not in :data:`QUANTIZE_CHOICES`.
        FileExistsError: ``output_dir`` is not empty and ``overwrite`` is false.
    """
    from espnet2.tasks.asr import ASRTask

    from espnet_layerprune.checks.audio import audio_expectations
    from espnet_layerprune.core.plan import PrunePlan
    from espnet_layerprune.export.model_dir import check_output_dir
    from espnet_layerprune.models.pruning import prune_model

    if quantize not in QUANTIZE_CHOICES:
        raise ConfigError(f"--quantize must be one of {', '.join(QUANTIZE_CHOICES)}, got {quantize!r}")
    output_dir = Path(output_dir)
    check_output_dir(output_dir, [asr_train_config, asr_model_file], overwrite)
    model, train_args = ASRTask.build_model_from_file(asr_train_config, asr_model_file, "cpu")
    model.eval()
    plan = PrunePlan.find_for(asr_model_file) if use_prune_plan else None
    pruned = prune_model(model, depth=depth, layers=layers, size=size, plan=plan)
    fs, fewest = audio_expectations(train_args)
    path = export_onnx(model, pruned.kept_units, output_dir, train_args, str(Path(asr_model_file).absolute()), fs,
                       fewest, quantize)
    rng = np.random.default_rng(1)
    speeches = [rng.standard_normal(int(s * fs)).astype(np.float32) * 0.1 for s in (1.5, 0.9)]
    got = OnnxSpeech2Text(output_dir, threads=1).batch_log_probs(speeches)
    diff = max(float(np.abs(g - pytorch_log_probs(model, pruned.kept_units, s)).max())
               for g, s in zip(got, speeches))
    meta_path = output_dir / "onnx.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    meta["max_log_prob_difference"] = diff
    if quantize == "int8":  # recorded, not checked: int8 rounds by design (WER: benchmarks/onnx_speed.py)
        got = OnnxSpeech2Text(output_dir, threads=1, precision="int8").batch_log_probs(speeches)
        same = [g.argmax(-1) == pytorch_log_probs(model, pruned.kept_units, s).argmax(-1)
                for g, s in zip(got, speeches)]
        meta["int8_same_best_token"] = round(float(np.concatenate(same).mean()), 4)  # share of frames
    meta_path.write_text(yaml.safe_dump(meta, sort_keys=False))
    if diff > 1e-3:
        raise RuntimeError(f"ONNX check failed: log-posteriors differ from PyTorch by {diff:.3g}")
    logging.info("ONNX log-posteriors match PyTorch within %.1e", diff)
    return path

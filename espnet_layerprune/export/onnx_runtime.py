"""Decoding an exported ONNX model (``bin.export --format onnx``) with onnxruntime and greedy CTC."""

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import yaml

from espnet_layerprune.core.ctc import TokenText, collapse
from espnet_layerprune.core.errors import ConfigError, InputError

ONNX_FILENAME = "model.onnx"
QUANTIZED_FILENAME = "model.int8.onnx"
#: The graph's input and output names.
INPUTS = ("speech", "speech_lengths")
OUTPUTS = ("log_probs", "log_probs_lengths")


def session_options(threads: Optional[int] = None):
    """onnxruntime session options: all graph optimisations, ``threads`` intra-op threads (``None``:
    onnxruntime's default), one inter-op thread."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


class OnnxSpeech2Text:
    """Greedy CTC decoding of an exported ONNX model with onnxruntime, one utterance or a padded batch.

    Examples:
        >>> s2t = OnnxSpeech2Text("exp/asr_depth6_onnx", threads=1)
        >>> s2t(speech)  # numpy float32 waveform
        'the cat sat'
        >>> s2t.decode_batch([speech, other])  # one padded batch, the same texts
        ['the cat sat', 'a dog']

    Args:
        model_dir: Directory written by ``bin.export --format onnx``.
        threads: Intra-op threads of the onnxruntime session.
        precision: ``fp32`` (``model.onnx``) or ``int8`` (``model.int8.onnx``, exported with
            ``--quantize int8``).

    Raises:
        ConfigError: ``precision`` is neither, or its model was not exported.
    """

    def __init__(self, model_dir, threads: Optional[int] = None, precision: str = "fp32"):
        import onnxruntime

        model_dir = Path(model_dir)
        files = {"fp32": ONNX_FILENAME, "int8": QUANTIZED_FILENAME}
        if precision not in files:
            raise ConfigError(f"precision must be one of {', '.join(files)}, got {precision!r}")
        path = model_dir / files[precision]
        if not path.is_file():
            raise ConfigError(f"precision {precision}: {path} does not exist"
                              + (" (export with --quantize int8)" if precision == "int8" else ""))
        self.session = onnxruntime.InferenceSession(str(path), session_options(threads),
                                                    providers=["CPUExecutionProvider"])
        self.meta = yaml.safe_load((model_dir / "onnx.yaml").read_text())
        tokens = (model_dir / "tokens.txt").read_text().splitlines()
        self.to_text = TokenText(tokens, self.meta.get("token_type"))

    def check_length(self, samples: int) -> None:
        """Raise :class:`InputError` unless ``samples`` is within the graph's input range."""
        fs, low, high = self.meta["sample_rate"], self.meta.get("min_samples") or 1, self.meta.get("max_samples")
        if high is not None and samples > high:
            raise InputError(f"the input has {samples} samples ({samples / fs:.2f} s); this ONNX model takes at "
                             f"most max_samples={high} ({high / fs:.2f} s, its positional-encoding table): "
                             "split the audio")
        if samples < low:
            raise InputError(f"the input has {samples} samples; this ONNX model needs at least "
                             f"min_samples={low} (front end and subsampling)")

    def batch_log_probs(self, speeches: Sequence[np.ndarray]) -> List[np.ndarray]:
        """One ``(frames, vocabulary)`` array of CTC log-posteriors per waveform, run as one padded batch."""
        lengths = np.array([len(s) for s in speeches], dtype=np.int64)
        for n in lengths:
            self.check_length(int(n))
        batch = np.zeros((len(speeches), int(lengths.max())), dtype=np.float32)
        for row, s in zip(batch, speeches):
            row[: len(s)] = s
        log_probs, frames = self.session.run(list(OUTPUTS), {"speech": batch, "speech_lengths": lengths})
        return [lp[: int(n)] for lp, n in zip(log_probs, frames)]

    def log_probs(self, speech: np.ndarray) -> np.ndarray:
        """``(frames, vocabulary)`` CTC log-posteriors of one waveform."""
        return self.batch_log_probs([np.asarray(speech, dtype=np.float32)])[0]

    def token_ids(self, speech: np.ndarray) -> List[int]:
        """Greedy CTC token ids of one waveform."""
        return collapse(self.log_probs(speech).argmax(-1), self.meta["blank_id"])

    def decode_batch(self, speeches: Sequence[np.ndarray]) -> List[str]:
        """Greedy CTC texts of several waveforms, decoded as one padded batch."""
        return [self.to_text(collapse(lp.argmax(-1), self.meta["blank_id"]))
                for lp in self.batch_log_probs([np.asarray(s, dtype=np.float32) for s in speeches])]

    def __call__(self, speech: np.ndarray) -> str:
        return self.to_text(self.token_ids(speech))

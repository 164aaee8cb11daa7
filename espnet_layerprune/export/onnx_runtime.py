"""Decoding an exported ONNX model (``bin.export --format onnx``) with onnxruntime and greedy CTC."""

from pathlib import Path
from typing import List, Optional

import numpy as np
import yaml

from espnet_layerprune.core.ctc import TokenText

ONNX_FILENAME = "model.onnx"


class OnnxSpeech2Text:
    """Greedy CTC decoding of an exported ONNX model with onnxruntime.

    Examples:
        >>> s2t = OnnxSpeech2Text("exp/asr_depth6_onnx", threads=1)
        >>> s2t(speech)  # numpy float32 waveform
        'the cat sat'

    Args:
        model_dir: Directory written by ``bin.export --format onnx``.
        threads: Intra-op threads of the onnxruntime session.
    """

    def __init__(self, model_dir, threads: Optional[int] = None):
        import onnxruntime

        model_dir = Path(model_dir)
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model_dir / ONNX_FILENAME), options,
                                                    providers=["CPUExecutionProvider"])
        self.meta = yaml.safe_load((model_dir / "onnx.yaml").read_text())
        tokens = (model_dir / "tokens.txt").read_text().splitlines()
        self.to_text = TokenText(tokens, self.meta.get("token_type"))

    def log_probs(self, speech: np.ndarray) -> np.ndarray:
        """``(frames, vocabulary)`` CTC log-posteriors of one waveform."""
        x = np.asarray(speech, dtype=np.float32)[None]
        return self.session.run(["log_probs"], {"speech": x})[0][0]

    def token_ids(self, speech: np.ndarray) -> List[int]:
        best = self.log_probs(speech).argmax(-1)
        keep = np.concatenate([[True], best[1:] != best[:-1]])
        return [int(t) for t in best[keep] if t != self.meta["blank_id"]]

    def __call__(self, speech: np.ndarray) -> str:
        return self.to_text(self.token_ids(speech))

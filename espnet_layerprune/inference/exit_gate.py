"""A learned early-exit gate: ``--prune_depth auto --exit_measure learned``.

On a model whose layers all get better for nearly every utterance, a confidence
threshold cannot tell *which* utterances have stopped improving, and early exit
is no better than a fixed depth at equal compute (docs/results/early_exit.md).
The gate learns that from a dev set instead: a logistic regression on ten
features of each layer's CTC posteriors and of how its greedy hypothesis moved,
whose target is "this layer's hypothesis has no more word errors than the top
layer's". Its probability is the exit confidence: ``--exit_threshold 0.6`` exits
at the first layer the gate gives at least 0.6.

``python -m espnet_layerprune.bin.calibrate`` fits it (one encoder pass per dev utterance,
:func:`espnet_layerprune.inference.calibration.fit_exit_gate`) and writes ``exit_gate.yaml``
next to the model, tied to the checkpoint by SHA-256. The features (``FEATURES``), per layer
``N`` of one utterance:

* ``max_posterior``, ``entropy``: the two confidences of :mod:`..early_exit`;
* ``low_posterior``: the 10% quantile of the best-token posterior over non-blank frames;
* ``change``: token edit distance between the greedy hypotheses of this and the
  previous candidate layer, divided by the previous one's length (1 at the first);
* ``change_before``: the previous layer's ``change`` (0 at the first);
* ``max_posterior_gain``, ``entropy_gain``: increase over the previous layer;
* ``depth_fraction``: ``N / L``; ``blank_fraction``: frames whose best token is blank;
* ``token_rate``: hypothesis tokens per 10 frames.

The features chain over the layers the exit rule reads (``change`` compares with the previous
*read* layer): :func:`gate_dataset` is given exactly those layers
(:meth:`~espnet_layerprune.inference.early_exit.EarlyExit.read_layers`), the gate records them
(``layers``), and a decode that would read other layers (another ``--exit_every``, a model with
other ``interctc_layer_idx``) is refused.

The utterance length is deliberately not a feature: with it the gate learns to
stop short utterances early, which lowers the *per-utterance* mean depth but
hardly the compute (chosen by cross-validation on dev with frame-weighted depth).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import editdistance
import numpy as np
import torch
import yaml

from espnet_layerprune.core.ctc import collapse, greedy_ids
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.files import file_sha256, save_yaml

GATE_FILENAME = "exit_gate.yaml"
FEATURES = ("max_posterior", "entropy", "low_posterior", "change", "change_before", "max_posterior_gain",
            "entropy_gain", "depth_fraction", "blank_fraction", "token_rate")


def _quantile(x: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` (linear interpolation), several times faster on short vectors."""
    x = np.sort(x)
    pos = q * (len(x) - 1)
    lo = int(pos)
    return float(x[lo] + (x[min(lo + 1, len(x) - 1)] - x[lo]) * (pos - lo))


class GateFeatures:
    """Features of one utterance's layers, fed in order (every candidate layer)."""

    def __init__(self, num_layers: int, blank: int = 0):
        self.num_layers, self.blank = num_layers, blank
        self.prev_ids: Optional[List[int]] = None
        self.prev_change = self.prev_mp = self.prev_ent = 0.0

    def update(self, layer: int, logp: torch.Tensor, ids: Optional[List[int]] = None) -> List[float]:
        """Features of layer ``layer`` from its ``(T, V)`` log-posteriors (and greedy ids, if known).

        Runs after every layer of every utterance, so it works on numpy vectors of length T
        (one torch op for the entropy): about 0.1 ms, against several for a layer.
        """
        lp = logp.detach().float().cpu().numpy()
        frame_ids = lp.argmax(-1) if lp.size else np.zeros(0, int)
        best = lp[np.arange(len(frame_ids)), frame_ids]
        if ids is None:
            ids = collapse(frame_ids, self.blank)
        p_best = np.exp(best)
        spoken = frame_ids != self.blank
        chosen = p_best[spoken] if spoken.any() else p_best
        mp = float(chosen.mean()) if len(chosen) else 1.0
        low = _quantile(p_best[spoken], 0.1) if spoken.any() else 1.0
        ent = 1.0 - float(-(np.exp(lp) * lp).sum(-1).mean()) / math.log(lp.shape[-1]) if lp.size else 1.0
        if self.prev_ids is None:
            change = 1.0
        else:
            change = editdistance.eval(self.prev_ids, ids) / max(len(self.prev_ids), 1) if self.prev_ids else 1.0
        frames = max(len(frame_ids), 1)
        out = [mp, ent, low, change, self.prev_change, mp - self.prev_mp, ent - self.prev_ent,
               layer / self.num_layers, 1.0 - float(spoken.mean()) if len(frame_ids) else 1.0,
               10.0 * len(ids) / frames]
        self.prev_ids, self.prev_change, self.prev_mp, self.prev_ent = ids, change, mp, ent
        return out


@dataclass
class ExitGate:
    """Logistic regression on standardised :data:`FEATURES`.

    Attributes:
        weights, bias, mean, std: ``p = sigmoid(((x - mean) / std) . weights + bias)``.
        model_sha256: Checkpoint the gate was fitted for.
        info: Provenance (data, utterances, l2, training accuracy).
        layers: The 1-based layers its features chained over, in order (``None``: every layer
            ``1..L``, what gates of earlier versions, which did not record it, were fitted on).
    """

    weights: List[float]
    bias: float
    mean: List[float]
    std: List[float]
    model_sha256: Optional[str] = None
    info: Optional[dict] = None
    source: str = "<memory>"
    layers: Optional[Tuple[int, ...]] = None

    def check_layers(self, reads: Sequence[int], option: str = "--exit_every") -> None:
        """Fail unless the gate was fitted on features chained over exactly ``reads`` (the top last)."""
        fitted = tuple(range(1, reads[-1] + 1)) if self.layers is None else tuple(self.layers)
        if fitted != tuple(reads):
            raise ConfigError(f"the exit gate {self.source} was fitted on layers {list(fitted)}, but this "
                              f"decode reads layers {list(reads)} ({option}); fit it for these with python -m "
                              "espnet_layerprune.bin.calibrate (same --exit_every)")

    def probability(self, features: Sequence[float]) -> float:
        z = (np.asarray(features, float) - self.mean) / self.std
        return float(1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias))))

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, l2: float = 1e-2, **kwargs) -> "ExitGate":
        """Fit on ``X`` (samples x features) and 0/1 targets ``y`` (L2 on the weights)."""
        X = torch.as_tensor(np.asarray(X, float)).double()
        y = torch.as_tensor(np.asarray(y, float)).double()
        if X.ndim != 2 or X.size(1) != len(FEATURES) or len(X) != len(y):
            raise ValueError(f"X must be (n, {len(FEATURES)}) and y (n,), got {tuple(X.shape)}, {tuple(y.shape)}")
        mean, std = X.mean(0), X.std(0).clamp_min(1e-6)
        Z = (X - mean) / std
        w = torch.zeros(Z.size(1), dtype=torch.double, requires_grad=True)
        b = torch.zeros(1, dtype=torch.double, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=300, line_search_fn="strong_wolfe")

        def loss():
            opt.zero_grad()
            value = torch.nn.functional.binary_cross_entropy_with_logits(Z @ w + b, y) + l2 * (w ** 2).sum()
            value.backward()
            return value

        opt.step(loss)
        return cls(w.detach().tolist(), float(b.detach()), mean.tolist(), std.tolist(), **kwargs)

    def save(self, path, overwrite: bool = False) -> Path:
        body = {"model_sha256": self.model_sha256, **(self.info or {}), "features": list(FEATURES),
                "layers": None if self.layers is None else [int(v) for v in self.layers],
                "weights": [round(v, 6) for v in self.weights], "bias": round(self.bias, 6),
                "mean": [round(v, 6) for v in self.mean], "std": [round(v, 6) for v in self.std]}
        return save_yaml(path, body, overwrite)

    @classmethod
    def load(cls, path) -> "ExitGate":
        with open(path) as f:
            raw = yaml.safe_load(f) or {}
        if raw.get("features") != list(FEATURES):
            raise ConfigError(f"{path} is not an exit gate of this version (features {raw.get('features')}); "
                              "fit it again with python -m espnet_layerprune.bin.calibrate")
        known = ("model_sha256", "features", "weights", "bias", "mean", "std", "layers")
        layers = raw.get("layers")
        return cls(raw["weights"], raw["bias"], raw["mean"], raw["std"], raw.get("model_sha256"),
                   {k: v for k, v in raw.items() if k not in known}, str(path),
                   None if layers is None else tuple(layers))

    @classmethod
    def find_for(cls, model_file, path=None) -> "ExitGate":
        """The gate at ``path`` (default: next to ``model_file``), fitted for that checkpoint,
        or a clear error. ``path`` may also be a fitted :class:`ExitGate`."""
        if isinstance(path, ExitGate):
            return path
        path = Path(path) if path else Path(model_file).parent / GATE_FILENAME
        if not path.is_file():
            raise ConfigError(f"--exit_measure learned needs {path}: fit it first with python -m "
                              f"espnet_layerprune.bin.calibrate --asr_model_file {model_file} --data <dev dir> ...")
        gate = cls.load(path)
        if gate.model_sha256 and model_file and gate.model_sha256 != file_sha256(model_file):
            raise ConfigError(f"{path} was fitted for another checkpoint than {model_file}; "
                              "run bin.calibrate for this one")
        return gate


def gate_dataset(layer_logps, layer_errors, blank: int = 0, depths: Optional[Sequence[int]] = None):
    """Training set of the gate from per-utterance tables.

    Args:
        layer_logps: Per utterance, the ``(T, V)`` log-posteriors at each layer the exit rule
            reads (:meth:`~espnet_layerprune.inference.early_exit.EarlyExit.read_layers`), in order,
            the top last.
        layer_errors: Per utterance, word errors of the greedy hypothesis at those layers.
        blank: Blank token id.
        depths: The layer of each entry (default ``1..L``: every layer read). The features chain
            over exactly these, as the decoder's tracker chains them.

    Returns:
        ``X`` (utterances * depths, features) and ``y`` (1: no more errors than the top layer).
    """
    X, y = [], []
    for logps, errors in zip(layer_logps, layer_errors):
        numbers = list(depths) if depths is not None else list(range(1, len(logps) + 1))
        if len(numbers) != len(logps) or len(errors) != len(logps):
            raise ValueError(f"one log-posterior and one error count per layer read ({numbers}), "
                             f"got {len(logps)} and {len(errors)}")
        feats = GateFeatures(numbers[-1], blank)
        for n, (depth, logp) in enumerate(zip(numbers, logps)):
            X.append(feats.update(depth, logp, greedy_ids(torch.as_tensor(logp), blank)))
            y.append(float(errors[n] <= errors[-1]))
    return np.array(X), np.array(y)

"""Confidence-based early exit: stop the encoder at the first layer whose CTC
posteriors are confident enough (``--prune_depth auto``).

A supernet trained with intermediate CTC has a usable CTC output after every
layer of ``interctc_layer_idx`` (and the top). Decoding one utterance, the
encoder runs its layers in order; after each candidate layer ``N >= min_depth``
the CTC head reads the output of the first-``N``-layers network (what
``--prune_depth N`` decodes), a confidence in ``[0, 1]`` is computed from the
posteriors, and the encoder stops when it reaches ``threshold``. The top layer
always exits. Two measures, as in the early-exit ASR literature (Wright et al.
2023; Yoon et al., HuBERT-EE):

* ``max_posterior``: mean, over the frames whose best token is not blank, of
  that token's posterior (all frames when every frame is blank);
* ``entropy``: one minus the mean frame entropy divided by ``log(V)``;
* ``learned``: the probability of a gate fitted on dev data
  (:mod:`espnet_layerprune.inference.exit_gate`) that this layer is already as good as the top.

With ``patience P >= 1`` a layer may exit only if its greedy hypothesis also equals
those of the P candidate layers before it (patience-based exit, Zhou et al. 2020,
"BERT loses patience"): confident *and* stable.

Which layers are read is decided once, by :meth:`EarlyExit.read_layers`: the layers with a CTC
output (``interctc_layer_idx`` and the top) that are multiples of ``exit_every`` (and the top,
which always exits), from the ``patience``-th before ``min_depth`` on (the learned gate: from the
first, its features chain over every read layer). Every read costs a CTC projection and more
(:mod:`.exit_cost`); the decoder, the gate's fitting and the benchmark all read these layers.

Examples:
    >>> policy = EarlyExit(threshold=0.9, measure="max_posterior", min_depth=3, patience=1, exit_every=2)
    >>> policy.read_layers(num_layers=12, exits=range(1, 12))
    (2, 4, 6, 8, 10, 12)
    >>> tracker = ExitTracker(policy, exits=range(1, 13))
    >>> # for each layer N in order: if tracker.update(N, logp_N): stop at N
"""

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch

from espnet_layerprune.core.ctc import greedy_ids
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.inference.exit_cost import ExitCost, counted_compute
from espnet_layerprune.inference.exit_gate import ExitGate, GateFeatures

MEASURES = ("max_posterior", "entropy", "learned")


def max_posterior(logp: torch.Tensor, blank: int = 0) -> float:
    """Mean best-token posterior over non-blank frames of ``(T, V)`` log-posteriors."""
    best, ids = logp.detach().max(-1)
    spoken = ids != blank
    chosen = best[spoken] if bool(spoken.any()) else best
    return float(chosen.exp().mean()) if chosen.numel() else 1.0


def entropy_confidence(logp: torch.Tensor, blank: int = 0) -> float:
    """``1 - mean_t H(p_t) / log V`` of ``(T, V)`` log-posteriors (1: certain)."""
    if logp.numel() == 0:
        return 1.0
    logp = logp.detach()
    entropy = -(logp.exp() * logp).sum(-1).mean()
    return float(1.0 - entropy / math.log(logp.size(-1)))


CONFIDENCE = {"max_posterior": max_posterior, "entropy": entropy_confidence}


def check_threshold(value: float, option: str = "--exit_threshold") -> float:
    value = float(value)
    if not 0.0 < value <= 1.0 or math.isnan(value):
        raise ConfigError(f"{option} must be in (0, 1] (a confidence), got {value}")
    return value


@dataclass(frozen=True)
class EarlyExit:
    """An early-exit policy.

    Attributes:
        threshold: Exit once the confidence is at least this (``(0, 1]``).
        measure: ``max_posterior``, ``entropy`` or ``learned``.
        min_depth: Never exit below this layer (1-based).
        patience: Exit only if the greedy hypothesis equals those of the previous
            ``patience`` candidate layers (0: confidence alone).
        gate: The fitted :class:`~espnet_layerprune.inference.exit_gate.ExitGate` (measure ``learned``).
        exit_every: Read only the exit layers that are multiples of this (``>= 1``; the top always).
    """

    threshold: float
    measure: str = "max_posterior"
    min_depth: int = 1
    patience: int = 0
    gate: Optional[ExitGate] = field(default=None, compare=False, repr=False)
    exit_every: int = 1

    def __post_init__(self):
        check_threshold(self.threshold)
        if self.measure not in MEASURES:
            raise ConfigError(f"--exit_measure must be one of {', '.join(MEASURES)}, got {self.measure!r}")
        if int(self.min_depth) != self.min_depth or self.min_depth < 1:
            raise ConfigError(f"--exit_min_depth must be an integer >= 1, got {self.min_depth}")
        if int(self.patience) != self.patience or self.patience < 0:
            raise ConfigError(f"--exit_patience must be an integer >= 0, got {self.patience}")
        if int(self.exit_every) != self.exit_every or self.exit_every < 1:
            raise ConfigError(f"--exit_every must be an integer >= 1 (read every K-th layer), got {self.exit_every}")
        if self.measure == "learned" and self.gate is None:
            raise ConfigError("--exit_measure learned needs the exit gate fitted by bin.calibrate (exit_gate.yaml)")

    def check(self, num_layers: int, exits: Iterable[int]) -> None:
        """Fail unless this policy can run on an encoder of ``num_layers`` layers
        whose intermediate CTC outputs are at ``exits`` (1-based, below the top)."""
        exits = sorted(e for e in exits if e < num_layers)
        if not exits:
            raise ConfigError(
                "--prune_depth auto needs a model trained with intermediate CTC "
                "(encoder_conf.interctc_layer_idx): this one has a CTC output only at its top layer"
            )
        if self.min_depth > num_layers:
            raise ConfigError(f"--exit_min_depth must be in [1, {num_layers}] (the encoder depth), "
                              f"got {self.min_depth}")
        candidate_layers(num_layers, exits, self.exit_every)
        if self.gate is not None and self.measure == "learned":
            self.gate.check_layers(self.read_layers(num_layers, exits), "--exit_every / interctc_layer_idx")

    def read_layers(self, num_layers: int, exits: Iterable[int]) -> Tuple[int, ...]:
        """The 1-based layers the exit rule reads, in order, on an encoder of ``num_layers`` layers
        whose CTC outputs are at ``exits``: those that are multiples of ``exit_every`` and the top;
        from the ``patience``-th before the first ``>= min_depth`` on (the learned gate: all)."""
        candidates = candidate_layers(num_layers, exits, self.exit_every)
        if self.measure == "learned":
            return tuple(candidates)
        first = next(i for i, c in enumerate(candidates) if c >= self.min_depth or c == num_layers)
        return tuple(candidates[max(0, first - self.patience):])

    def confidence(self, logp: torch.Tensor, blank: int = 0) -> float:
        """Confidence of one utterance's ``(T, V)`` log-posteriors (not ``learned``:
        the gate reads the layers before too, through :class:`ExitTracker`)."""
        if self.measure == "learned":
            raise ValueError("the learned gate's confidence needs the layers before: use ExitTracker")
        return CONFIDENCE[self.measure](logp, blank)


def candidate_layers(num_layers: int, exits: Iterable[int], exit_every: int = 1) -> Tuple[int, ...]:
    """The layers early exit may read on an encoder of ``num_layers`` layers whose CTC outputs are at
    ``exits``: those that are multiples of ``exit_every``, and the top (what the learned gate reads and
    is fitted on); a clear error when that leaves only the top."""
    below = sorted(e for e in exits if e < num_layers)
    chosen = [e for e in below if e % exit_every == 0]
    if not chosen:
        raise ConfigError(f"--exit_every must be in [1, {max(below, default=1)}] and divide a layer with a CTC "
                          f"output ({below}, encoder_conf.interctc_layer_idx), got {exit_every}: it leaves only "
                          "the top layer to exit at")
    return tuple(chosen) + (num_layers,)


class ExitTracker:
    """The exit decision for one utterance: feed every layer's log-posteriors in order
    (or ``None`` for a layer nobody reads) until :meth:`update` says stop.

    The decoder and the benchmark share it, so a simulated sweep decides exactly as
    ``--prune_depth auto`` does.

    Args:
        policy: The early-exit policy.
        exits: 1-based layers with a CTC output (intermediate layers and the top).
        blank: Blank token id.
    """

    def __init__(self, policy: EarlyExit, exits: Iterable[int], blank: int = 0):
        exits = set(exits)
        self.policy, self.blank = policy, blank
        self.reads = frozenset(policy.read_layers(max(exits), exits))
        self.history: List[List[int]] = []
        self.layer: Optional[int] = None
        self.confidence: Optional[float] = None
        self.read_count = 0  # layers read so far (each costs a CTC head and more, see .exit_cost)
        self.features = None
        if policy.measure == "learned":  # the gate's features chain over the read layers, as fitted
            self.features = GateFeatures(max(exits), blank)

    def needs(self, layer: int) -> bool:
        """Whether layer ``layer``'s log-posteriors are read (else pass ``None``)."""
        return layer in self.reads

    def update(self, layer: int, logp: Optional[torch.Tensor]) -> bool:
        """Record layer ``layer`` (``(T, V)`` log-posteriors); True: exit here."""
        if not self.needs(layer):
            return False
        self.read_count += 1
        p = self.policy
        ids = greedy_ids(logp, self.blank) if p.patience else None
        if p.patience:
            self.history.append(ids)
        if self.features is not None:
            confidence = p.gate.probability(self.features.update(layer, logp, ids))
        if layer < p.min_depth:
            return False
        self.layer = layer
        self.confidence = confidence if self.features is not None else p.confidence(logp, self.blank)
        recent = self.history[-(p.patience + 1):]
        stable = not p.patience or (len(recent) == p.patience + 1 and all(h == recent[-1] for h in recent))
        return self.confidence >= p.threshold and stable


def policy_from_options(prune_depth, threshold: Optional[float], measure: str = "max_posterior", min_depth: int = 1,
                        patience: int = 0, model_file=None, gate=None, exit_every: int = 1) -> Optional[EarlyExit]:
    """The early-exit policy the decoding options ask for (``None``: a fixed depth), or a clear error.

    Args:
        prune_depth: ``"auto"`` for early exit.
        gate: For ``measure="learned"``: a fitted :class:`ExitGate` or its path (default:
            ``exit_gate.yaml`` next to ``model_file``).
    """
    if prune_depth == "auto":
        if threshold is None:
            raise ConfigError("--prune_depth auto needs --exit_threshold T, a confidence in (0, 1]")
        fitted = None
        if measure == "learned":
            if model_file is None and gate is None:
                raise ConfigError("--exit_measure learned needs the model file (exit_gate.yaml lies next to it)")
            fitted = ExitGate.find_for(model_file, gate)
        return EarlyExit(threshold, measure, min_depth, patience, fitted, exit_every)
    if threshold is not None:
        raise ConfigError("--exit_threshold needs --prune_depth auto (early exit)")
    return None


def exit_summary(policy: EarlyExit, log: Sequence[dict], keys: Sequence[str], cost: Optional[ExitCost] = None,
                 num_layers: Optional[int] = None) -> Dict:
    """What ``pruning.yaml`` says of an early-exit decode: the policy, its counted compute
    (:func:`~espnet_layerprune.inference.exit_cost.counted_compute`, with ``cost``) and each
    utterance's record (``log``: one per call, in order; ``keys``: the utterances, named ``callN``
    when they do not match the calls).

    ``mean_exit_layer`` is the plain mean over utterances; the compute is
    ``frame_weighted_exit_layer`` and, with the exit rule's reads, ``counted_cost``.
    """
    if len(keys) != len(log):
        keys = [f"call{i + 1}" for i in range(len(log))]
    layers = [e["layer"] for e in log if e["layer"] is not None]
    out = {
        "measure": policy.measure,
        "threshold": policy.threshold,
        "min_depth": policy.min_depth,
        "patience": policy.patience,
        "exit_every": policy.exit_every,
        "mean_exit_layer": round(sum(layers) / len(layers), 4) if layers else None,
    }
    if cost is not None and all("frames" in e for e in log if e["layer"] is not None):
        depths = range(1, num_layers + 1) if num_layers else None
        tally = counted_compute(cost, log, policy.patience, policy.measure == "learned", depths)
        tally.pop("mean_exit_layer", None)
        out.update(tally)
        out["cost_model"] = {
            **cost.to_dict(),
            "unit": "counted_cost and fixed_depth_cost in layer-equivalents: corpus FLOPs / corpus FLOPs of one "
                    "encoder layer; FLOPs = front end + executed layers + a CTC head per layer read (+ greedy "
                    "decode with patience, + gate features) + the output head (espnet_layerprune.inference.exit_cost)",
            "mean_exit_layer": "plain mean over utterances (not the compute)",
            "frame_weighted_exit_layer": "sum of exit layer x frames / frames",
        }
    out["utterances"] = {k: e for k, e in zip(keys, log)}
    return out

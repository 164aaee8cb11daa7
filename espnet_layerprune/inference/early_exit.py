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
"BERT loses patience"): confident *and* stable. On the main corpus this is what
makes early exit better than a fixed depth (docs/results/early_exit.md).

Examples:
    >>> policy = EarlyExit(threshold=0.9, measure="max_posterior", min_depth=3, patience=1)
    >>> policy.check(num_layers=12, exits=range(1, 12))
    >>> tracker = ExitTracker(policy, exits=range(1, 13))
    >>> # for each layer N in order: if tracker.update(N, logp_N): stop at N
"""

import math
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import torch

from espnet_layerprune.core.ctc import greedy_ids
from espnet_layerprune.core.errors import ConfigError
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
    """

    threshold: float
    measure: str = "max_posterior"
    min_depth: int = 1
    patience: int = 0
    gate: Optional[ExitGate] = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        check_threshold(self.threshold)
        if self.measure not in MEASURES:
            raise ConfigError(f"--exit_measure must be one of {', '.join(MEASURES)}, got {self.measure!r}")
        if int(self.min_depth) != self.min_depth or self.min_depth < 1:
            raise ConfigError(f"--exit_min_depth must be an integer >= 1, got {self.min_depth}")
        if int(self.patience) != self.patience or self.patience < 0:
            raise ConfigError(f"--exit_patience must be an integer >= 0, got {self.patience}")
        if self.measure == "learned" and self.gate is None:
            raise ConfigError("--exit_measure learned needs the exit gate fitted by bin.calibrate (exit_gate.yaml)")

    def check(self, num_layers: int, exits: Iterable[int]) -> None:
        """Fail unless this policy can run on an encoder of ``num_layers`` layers
        whose intermediate CTC outputs are at ``exits`` (1-based, below the top)."""
        exits = [e for e in exits if e < num_layers]
        if not exits:
            raise ConfigError(
                "--prune_depth auto needs a model trained with intermediate CTC "
                "(encoder_conf.interctc_layer_idx): this one has a CTC output only at its top layer"
            )
        if self.min_depth > num_layers:
            raise ConfigError(f"--exit_min_depth must be in [1, {num_layers}] (the encoder depth), "
                              f"got {self.min_depth}")

    def confidence(self, logp: torch.Tensor, blank: int = 0) -> float:
        """Confidence of one utterance's ``(T, V)`` log-posteriors (not ``learned``:
        the gate reads the layers before too, through :class:`ExitTracker`)."""
        if self.measure == "learned":
            raise ValueError("the learned gate's confidence needs the layers before: use ExitTracker")
        return CONFIDENCE[self.measure](logp, blank)


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
        self.policy, self.exits, self.blank = policy, frozenset(exits), blank
        self.history: List[List[int]] = []
        self.layer: Optional[int] = None
        self.confidence: Optional[float] = None
        self.features = None
        if policy.measure == "learned":  # the gate's features chain over every candidate layer
            self.features = GateFeatures(max(self.exits), blank)

    def needs(self, layer: int) -> bool:
        """Whether layer ``layer``'s log-posteriors are read (else pass ``None``)."""
        if self.features is not None:
            return layer in self.exits
        return layer in self.exits and layer >= self.policy.min_depth - self.policy.patience

    def update(self, layer: int, logp: Optional[torch.Tensor]) -> bool:
        """Record layer ``layer`` (``(T, V)`` log-posteriors); True: exit here."""
        if not self.needs(layer):
            return False
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
                        patience: int = 0, model_file=None, gate=None) -> Optional[EarlyExit]:
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
        return EarlyExit(threshold, measure, min_depth, patience, fitted)
    if threshold is not None:
        raise ConfigError("--exit_threshold needs --prune_depth auto (early exit)")
    return None


def exit_summary(policy: EarlyExit, log: Sequence[dict], keys: Sequence[str]) -> Dict:
    """What ``pruning.yaml`` says of an early-exit decode: the policy, the mean exit layer and
    each utterance's exit layer and confidence (``log``: one record per call, in order; ``keys``:
    the utterances, named ``callN`` when they do not match the calls)."""
    layers = [e["layer"] for e in log if e["layer"] is not None]
    if len(keys) != len(log):
        keys = [f"call{i + 1}" for i in range(len(log))]
    return {
        "measure": policy.measure,
        "threshold": policy.threshold,
        "min_depth": policy.min_depth,
        "patience": policy.patience,
        "mean_exit_layer": round(sum(layers) / len(layers), 4) if layers else None,
        "utterances": {k: e for k, e in zip(keys, log)},
    }

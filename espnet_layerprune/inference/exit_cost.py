"""Counted compute of early exit and of fixed-depth decoding, frame-weighted.

One utterance of ``T`` encoder frames (after subsampling) costs, in FLOPs:

* fixed depth ``N``: ``frontend(T) + N * layer(T) + head(T)`` (the CTC head the output is read from);
* early exit: ``frontend(T) + executed * layer(T) + reads * read(T) + head(T)``, where ``executed``
  counts the encoder blocks the early-exit loop ran (the exit depth for first-N networks; more for
  a prune plan whose networks do not nest), ``reads`` the layers the exit rule read, and each read
  costs a CTC projection and log-softmax, plus a greedy decode with patience and the gate's
  features with the learned gate. The decoder reads the exit layer's output again for its
  hypothesis, as fixed depth does: that is the last ``head(T)``.

Counting convention: matrix products (the feature extraction's filterbank, the subsampling
convolutions, every linear and convolution of a layer, attention's two ``T x T`` products, the
CTC projection ``2 D V`` per frame) are counted by torch's FLOP counter, measured once per model
at two lengths (:meth:`ExitCost.measure`): ``frontend(T) = a T + b`` and ``layer(T) = c T + d T^2``.
Element-wise work is not counted inside the encoder (layer norms, activations, softmax), but the
exit decision's ``V``-wide operations are, one FLOP per element and operation, so that the decision
is never free: log-softmax ``5 V`` per frame, greedy decode ``V``, gate features ``5 V`` per frame
plus ``GATE_PER_READ`` for the logistic regression. The edit distance between two hypotheses
(``change``) is left out (tokens squared, under 0.01% here).

The corpus figure is frame-weighted: the sum of the utterances' FLOPs over the sum of their
frames, never a mean of per-utterance means. In **layer-equivalents** it is divided by the corpus
FLOPs of one encoder layer (``sum_u layer(T_u)``), so that fixed depth ``N`` costs
``N + (front end + head) / layer`` and an early-exit point is directly comparable to the
fixed-depth curve.

Examples:
    >>> cost = ExitCost.measure(model)
    >>> records = [{"layer": 4, "frames": 120, "executed_layers": 4, "reads": 4}, ...]
    >>> counted_compute(cost, records, patience=0, learned=False)["counted_cost"]
"""

from dataclasses import asdict, dataclass
from typing import Dict, Iterable, Mapping, Optional, Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

from espnet_layerprune.checks.audio import sample_rate
from espnet_layerprune.core.units import units_of_layers
from espnet_layerprune.models.features import encoder_input
from espnet_layerprune.models.pruning import head_for

LOG_SOFTMAX_PER_TOKEN = 5  # max, subtract, exp, sum, log and subtract: per frame and token
GREEDY_PER_TOKEN = 1  # argmax
GATE_PER_TOKEN = 5  # exp, p * log p and its sum, argmax, best-token gather
GATE_PER_READ = 50  # standardise 10 features, dot product, sigmoid


@dataclass(frozen=True)
class ExitCost:
    """FLOPs of the parts of one utterance's decode, as functions of its encoder frames ``T``.

    Attributes:
        frontend_per_frame, frontend_fixed: ``frontend(T) = a T + b`` (features and subsampling).
        layer_per_frame, layer_per_frame_sq: ``layer(T) = c T + d T^2`` (one encoder block).
        dim, vocab: Encoder output size ``D`` and CTC vocabulary ``V``.
    """

    frontend_per_frame: float
    frontend_fixed: float
    layer_per_frame: float
    layer_per_frame_sq: float
    dim: int
    vocab: int

    def frontend(self, frames: float) -> float:
        return self.frontend_per_frame * frames + self.frontend_fixed

    def layer(self, frames: float) -> float:
        return self.layer_per_frame * frames + self.layer_per_frame_sq * frames ** 2

    def head(self, frames: float) -> float:
        """A CTC projection and log-softmax over ``frames`` frames."""
        return (2 * self.dim * self.vocab + LOG_SOFTMAX_PER_TOKEN * self.vocab) * frames

    def read(self, frames: float, patience: int = 0, learned: bool = False) -> float:
        """One layer read by the exit rule: its head, a greedy decode with patience, the gate's features."""
        out = self.head(frames)
        if patience:
            out += GREEDY_PER_TOKEN * self.vocab * frames
        if learned:
            out += GATE_PER_TOKEN * self.vocab * frames + GATE_PER_READ
        return out

    def fixed_depth(self, frames: float, depth: float) -> float:
        """FLOPs of ``--prune_depth depth`` on one utterance."""
        return self.frontend(frames) + depth * self.layer(frames) + self.head(frames)

    def early_exit(self, frames: float, executed: float, reads: int, patience: int = 0,
                   learned: bool = False) -> float:
        """FLOPs of one early-exit decode that ran ``executed`` blocks and read ``reads`` layers."""
        return (self.frontend(frames) + executed * self.layer(frames) + reads * self.read(frames, patience, learned)
                + self.head(frames))

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    @torch.no_grad()
    def measure(cls, model, seconds: Sequence[float] = (3.0, 9.0), fs: Optional[int] = None) -> "ExitCost":
        """Count the front end and one encoder block of ``model`` (a built ESPnet model with a
        prunable encoder, in eval mode) at two utterance lengths (of audio at ``fs``, default the
        rate of the model's front end), and fit the two cost functions."""
        fs = fs or sample_rate(model)
        encoder = model.encoder
        points = []
        for s in seconds:
            speech = 0.01 * torch.randn(1, int(s * fs), generator=torch.Generator().manual_seed(0))
            speech = speech.to(next(model.parameters()).device)
            with FlopCounterMode(display=False) as counter:
                embedded = encoder_input(model, speech, speech.new_full([1], speech.size(1), dtype=torch.long))
            frontend = counter.get_total_flops()
            blocks = []
            for layers in ([1], [1, 2]):
                with FlopCounterMode(display=False) as counter:
                    encoder.run_units(embedded, units=units_of_layers(layers, encoder.units_per_layer),
                                      ctc=model.ctc)
                blocks.append(counter.get_total_flops())
            points.append((embedded.xs.size(1), frontend, blocks[1] - blocks[0]))
        (t1, f1, l1), (t2, f2, l2) = points
        a = (f2 - f1) / (t2 - t1)
        # layer(T) = c T + d T^2: two equations, two unknowns
        d = (l2 / t2 - l1 / t1) / (t2 - t1)
        c = l1 / t1 - d * t1
        head = head_for(model, encoder.num_units).ctc_lo
        return cls(float(a), float(f1 - a * t1), float(c), float(d), head.in_features, head.out_features)


def blocks_run(networks: Iterable[Sequence[int]]) -> int:
    """Encoder blocks the early-exit loop runs to try ``networks`` (each a list of 1-based layers)
    in order: each continues from the longest run of blocks an earlier one computed, as
    :meth:`~espnet_layerprune.encoders.prunable.PrunableEncoderMixin.exiting` does.

    Examples:
        >>> blocks_run([[1], [1, 2], [1, 2, 3]])   # first-N networks: the exit depth
        3
        >>> blocks_run([[2], [2, 4], [1, 2, 4]])   # a plan that starts again below
        5
    """
    seen, total = {()}, 0
    for layers in networks:
        layers = tuple(layers)
        k = len(layers) - 1
        while k and layers[:k] not in seen:
            k -= 1
        total += len(layers) - k
        seen.update(layers[:j] for j in range(k + 1, len(layers) + 1))
    return total


def counted_compute(cost: ExitCost, records: Sequence[Mapping], patience: int = 0, learned: bool = False,
                    depths: Optional[Iterable[int]] = None) -> Dict:
    """Frame-weighted compute of an early-exit decode of a corpus.

    Args:
        cost: The model's :class:`ExitCost`.
        records: One per utterance: ``layer`` (exit layer; ``None``: too short, skipped), ``frames``,
            ``executed_layers`` and ``reads``.
        patience, learned: The policy (what a read costs).
        depths: Also give the fixed-depth cost of these depths, in the same units.

    Returns:
        ``mean_exit_layer`` (per-utterance mean), ``frame_weighted_exit_layer``, ``counted_cost``
        (layer-equivalents), ``decision_cost`` (its exit-rule part), ``flops_per_frame`` and
        ``fixed_depth_cost`` ``{depth: layer-equivalents}``.
    """
    done = [r for r in records if r.get("layer") is not None]
    if not done:
        return {"utterances": 0}
    frames = sum(r["frames"] for r in done)
    layer_flops = sum(cost.layer(r["frames"]) for r in done)
    total = sum(cost.early_exit(r["frames"], r["executed_layers"], r["reads"], patience, learned) for r in done)
    decision = sum(r["reads"] * cost.read(r["frames"], patience, learned) for r in done)
    out = {
        "utterances": len(done),
        "frames": int(frames),
        "mean_exit_layer": round(sum(r["layer"] for r in done) / len(done), 4),
        "frame_weighted_exit_layer": round(sum(r["layer"] * r["frames"] for r in done) / frames, 4),
        "frame_weighted_executed_layers": round(sum(r["executed_layers"] * r["frames"] for r in done) / frames, 4),
        "frame_weighted_reads": round(sum(r["reads"] * r["frames"] for r in done) / frames, 4),
        "counted_cost": round(total / layer_flops, 4),
        "decision_cost": round(decision / layer_flops, 4),
        "flops_per_frame": round(total / frames),
    }
    if depths is not None:
        out["fixed_depth_cost"] = {int(d): round(sum(cost.fixed_depth(r["frames"], d) for r in done) / layer_flops, 4)
                                   for d in depths}
    return out

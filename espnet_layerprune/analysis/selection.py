"""Which layers to keep at each depth: the "safe to prune" strategies.

Every strategy returns a :class:`Selection`: ``{depth: kept layers}`` plus the
dev error measured for each depth, ready to be stored as a prune plan.

* ``top``: keep the first N layers (early exit through the shared CTC head).
  All depths are scored in one encoder pass.
* ``evenly_spaced``: LayerDrop's "every other layer" rule, anchored at the top:
  at depth N of L keep layers ``ceil(i * L / N)`` for ``i = 1..N``. The last
  layer (the one the final CTC loss trained) is always kept, and the layers
  removed are spread evenly from the bottom up; N = L/2 keeps the even layers
  ``2, 4, ..., L``.
* ``greedy``: iterative layer pruning. From the full model, each step removes
  the layer whose removal hurts dev error least (CTC greedy decoding on the dev
  subset); every depth on the way down is recorded. A step with d kept layers
  scores its d candidates once each (cost linear in the candidates).
* ``svcca``: each step removes the kept layer whose output is most similar, by
  SVCCA, to its input (the previous kept layer's output) in the current network.
* ``scores``: the blocks a data-driven supernet's learned scores rank highest
  (``model.depth_layers(depth)``).

Ties (equal dev error) are broken by the other metric, then in favour of
removing the higher layer, the direction early exit (intermediate CTC) trains.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from espnet_layerprune.analysis.svcca import svcca
from espnet_layerprune.core.plan import PrunePlan
from espnet_layerprune.core.units import check_depth
from espnet_layerprune.models.pruning import learned_masks

STRATEGIES = ("top", "evenly_spaced", "greedy", "svcca", "scores")
METRICS = ("cer", "wer")


@dataclass
class Selection:
    """Kept layers and measured dev error for each requested depth."""

    strategy: str
    num_layers: int
    layers: Dict[int, Tuple[int, ...]] = field(default_factory=dict)
    scores: Dict[int, object] = field(default_factory=dict)  # depth -> DevScore

    def to_plan(self) -> PrunePlan:
        """A prune plan with ``layers``, ``dev_cer`` and ``dev_wer`` per depth."""
        depths = {}
        for d in sorted(self.layers, reverse=True):
            entry = {"layers": list(self.layers[d])}
            if d in self.scores:
                entry["dev_cer"] = round(float(self.scores[d].cer), 3)
                entry["dev_wer"] = round(float(self.scores[d].wer), 3)
            depths[d] = entry
        return PrunePlan(num_layers=self.num_layers, depths=depths, strategy=self.strategy)


# ---------------------------------------------------------------- fixed rules
def top_layers(num_layers: int, depth: int) -> Tuple[int, ...]:
    """The first ``depth`` layers."""
    depth = check_depth(depth, num_layers, option="depth")
    return tuple(range(1, depth + 1))


def evenly_spaced_layers(num_layers: int, depth: int) -> Tuple[int, ...]:
    """LayerDrop's rule: layers ``ceil(i * L / N)``, ``i = 1..N`` (always the last)."""
    depth = check_depth(depth, num_layers, option="depth")
    # Integer arithmetic: ceil(i * L / N) without float rounding.
    return tuple(-(-i * num_layers // depth) for i in range(1, depth + 1))


def parse_depths(text: Optional[str], num_layers: int) -> List[int]:
    """``"11,10,...,1"``-style list (or ``None``/``"all"``: every depth), descending."""
    if text is None or str(text).strip() in ("", "all"):
        return list(range(num_layers, 0, -1))
    items = [t.strip() for t in str(text).split(",") if t.strip() and t.strip() != "..."]
    depths = set()
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise ValueError(
                f"--depths must be comma-separated integers in [1, {num_layers}] "
                f"(or 'all'), got {text!r}"
            ) from None
        depths.add(check_depth(value, num_layers, option="--depths"))
    return sorted(depths, reverse=True)


# ---------------------------------------------------------------- strategies
class _Progress:
    """One log line per depth, with the elapsed time."""

    def __init__(self, strategy: str):
        self.strategy, self.start = strategy, time.perf_counter()

    def __call__(self, depth: int, layers, score, note: str = "") -> None:
        logging.info(
            "%s: depth %d keeps %s: dev CER %.2f%%, WER %.2f%%%s [%.1f s elapsed]",
            self.strategy, depth, list(layers), score.cer, score.wer,
            f" ({note})" if note else "", time.perf_counter() - self.start,
        )


def _rank_key(metric: str):
    other = "wer" if metric == "cer" else "cer"
    # Lower error first; on ties, remove the higher layer.
    return lambda item: (item[1].get(metric), item[1].get(other), -item[0])


def _fixed_rule(strategy: str, rule, evaluator, depths: Sequence[int]) -> Selection:
    sel, progress = Selection(strategy, evaluator.num_layers), _Progress(strategy)
    for d in depths:
        sel.layers[d] = rule(evaluator.num_layers, d)
        sel.scores[d] = evaluator.evaluate(sel.layers[d])
        progress(d, sel.layers[d], sel.scores[d])
    return sel


def select_top(evaluator, depths: Sequence[int]) -> Selection:
    """Early exit: all depths scored from one pass through every layer."""
    sel, progress = Selection("top", evaluator.num_layers), _Progress("top")
    by_depth = evaluator.evaluate_prefixes()
    for d in depths:
        sel.layers[d], sel.scores[d] = top_layers(evaluator.num_layers, d), by_depth[d]
        progress(d, sel.layers[d], sel.scores[d])
    return sel


def select_evenly_spaced(evaluator, depths: Sequence[int]) -> Selection:
    return _fixed_rule("evenly_spaced", evenly_spaced_layers, evaluator, depths)


def _iterative(strategy: str, evaluator, depths: Sequence[int], choose) -> Selection:
    """Shared loop of greedy and svcca: remove one layer per step, record depths."""
    L = evaluator.num_layers
    sel, progress = Selection(strategy, L), _Progress(strategy)
    kept = tuple(range(1, L + 1))
    if L in depths:
        sel.layers[L], sel.scores[L] = kept, evaluator.evaluate(kept)
        progress(L, kept, sel.scores[L])
    for d in range(L - 1, min(depths) - 1, -1):
        removed, score, note = choose(kept)
        kept = tuple(x for x in kept if x != removed)
        if d in depths:
            sel.layers[d] = kept
            sel.scores[d] = score if score is not None else evaluator.evaluate(kept)
            progress(d, kept, sel.scores[d], note)
    return sel


def select_greedy(evaluator, depths: Sequence[int], metric: str = "cer") -> Selection:
    """Iterative layer pruning: drop the layer whose removal hurts dev error least."""
    if metric not in METRICS:
        raise ValueError(f"--metric must be one of {METRICS}, got {metric!r}")

    def choose(kept):
        removals = evaluator.evaluate_removals(kept)
        removed, score = min(removals.items(), key=_rank_key(metric))
        return removed, score, f"removed layer {removed}, {len(removals)} candidates scored"

    return _iterative("greedy", evaluator, depths, choose)


def select_svcca(evaluator, depths: Sequence[int], variance: float = 0.99) -> Selection:
    """Drop the layer whose output is most SVCCA-similar to its input, iteratively."""

    def choose(kept):
        acts = evaluator.layer_outputs(kept)  # [input, out_1, ..., out_d]
        sims = {l: svcca(acts[i], acts[i + 1], variance) for i, l in enumerate(kept)}
        removed = max(sims.items(), key=lambda item: (item[1], item[0]))[0]
        return removed, None, f"removed layer {removed}, SVCCA(input, output) {sims[removed]:.3f}"

    return _iterative("svcca", evaluator, depths, choose)


def select_scores(evaluator, depths: Sequence[int]) -> Selection:
    """The blocks with the highest learned scores of a data-driven supernet."""
    masks = learned_masks(evaluator.model)
    if masks is None:
        raise ValueError(
            "--strategy scores needs a data-driven supernet with learned scores "
            "(model: layerprune, method simple_top_k or iterative_zero_out), but this "
            f"model has none ({type(evaluator.model).__name__}); use top, evenly_spaced, "
            "greedy or svcca"
        )

    def rule(num_layers, depth):
        return tuple(int(x) for x in masks.depth_layers(depth))

    return _fixed_rule("scores", rule, evaluator, depths)


def select_layers(
    strategy: str,
    evaluator,
    depths: Optional[Iterable[int]] = None,
    metric: str = "cer",
    svcca_variance: float = 0.99,
) -> Selection:
    """Run one strategy over ``depths`` (default: every depth ``L..1``).

    Args:
        strategy: One of :data:`STRATEGIES`.
        evaluator: A :class:`~espnet_layerprune.analysis.dev_eval.DevEvaluator` (or any
            object with ``num_layers``, ``evaluate``, ``evaluate_removals``,
            ``evaluate_prefixes`` and ``layer_outputs``).
        depths: Depths to record.
        metric: Dev error that ``greedy`` minimizes (``cer`` or ``wer``).
        svcca_variance: Variance kept by the SVCCA SV step.
    """
    L = evaluator.num_layers
    depths = sorted(
        {check_depth(d, L, option="--depths") for d in (depths or range(1, L + 1))}, reverse=True
    )
    if strategy == "top":
        return select_top(evaluator, depths)
    if strategy == "evenly_spaced":
        return select_evenly_spaced(evaluator, depths)
    if strategy == "greedy":
        return select_greedy(evaluator, depths, metric)
    if strategy == "svcca":
        return select_svcca(evaluator, depths, svcca_variance)
    if strategy == "scores":
        return select_scores(evaluator, depths)
    raise ValueError(f"--strategy must be one of {STRATEGIES}, got {strategy!r}")

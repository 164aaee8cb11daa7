"""The supernet schedule: which subnets train at each update, through which masks.

Xu et al., "Dynamic encoder size based on data-driven layer-wise pruning"
(Interspeech 2024): one encoder (the supernet) holds several subnets of given
sizes (numbers of kept units) with full parameter sharing. Training has two
stages, counted in optimizer updates:

1. stage 1, ``stage1_steps`` updates: learn one score per unit. Each update
   trains the supernet (weight ``supernet_weight``) and one gated subnet
   (``subnet_weight``) whose gates come from the scores: ``simple_top_k``
   (a relaxed top-k whose ``k`` anneals down to the smallest size) or
   ``iterative_zero_out`` (sigmoid gates, a sparsity loss, and the lowest scores
   reset at the end of each iteration);
2. stage 2: the masks are frozen (top-k of the scores for each size, hence
   nested) and each update trains the largest net, the smallest and one medium
   subnet drawn uniformly ("sandwich rule"); the largest net uses stochastic
   depth on the units outside the smallest subnet.

``stochastic_depth`` is the earlier recipe (Lee et al., Interspeech 2021): no
scores and no stages, only the supernet with the encoder's own stochastic depth
(and intermediate CTC); a size then keeps the first units (whole blocks).

:class:`Supernet` decides, for one update, the list of :class:`SubnetPass`; the
model runs them through the encoder's
:meth:`~espnet_layerprune.encoders.prunable.PrunableEncoderMixin.unit_control`.
Its state (update counter, resets done, frozen scores) lives in buffers, so it
is saved in ESPnet checkpoints and a resumed run continues exactly; its only
randomness (the medium subnet) comes from a generator seeded from ``(seed,
update)``, so all workers of a distributed run draw the same subnet.
"""

import logging
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from typeguard import TypeCheckError, typechecked

from espnet_layerprune.scores import (
    hard_top_k,
    nested_masks,
    relaxed_top_k,
    sigmoid_gates,
    straight_through_top_k,
    top_blocks,
    unit_ranking,
    zero_out_sparsity_loss,
)

METHODS = ("simple_top_k", "iterative_zero_out", "stochastic_depth")
GATES = ("hard", "soft")
# Iterative-Zero-Out: reset scores differ by less than this, to keep their order (see _reset_lowest).
RESET_ORDER_SPAN = 1e-3

# Which options apply to which method (``from_config`` rejects the others).
_COMMON = {"method", "sizes", "supernet_weight", "seed", "accum_grad", "total_steps",
           "report_unit_scores"}
_STAGED = {"stage1_steps", "subnet_weight", "stage1_stochastic_depth",
           "stage2_stochastic_depth", "init_score"}
_METHOD_OPTIONS = {
    "simple_top_k": _COMMON | _STAGED | {"anneal_step", "anneal_interval", "gates"},
    "iterative_zero_out": _COMMON | _STAGED
    | {"sparsity_weight", "zero_out_counts", "reset_value"},
    "stochastic_depth": _COMMON,
}
_ALL_OPTIONS = set().union(*_METHOD_OPTIONS.values())
_DEFAULT_INIT_SCORE = {"simple_top_k": 0.5, "iterative_zero_out": 10.0}


@dataclass(frozen=True)
class SubnetPass:
    """One forward pass through the shared weights.

    Attributes:
        name: ``supernet``, ``subnet`` (stage 1's gated subnet) or ``size{N}``.
        weight: Its loss weight.
        size: Units the pass keeps (selects a per-size CTC head).
        units: 1-based kept units; ``None`` keeps the encoder's current ones.
        gates: ``(U,)`` gates on the units' residual branches, or ``None``.
        drop_probs: Per-unit training skip probabilities; ``None`` keeps the
            encoder's own.
    """

    name: str
    weight: float
    size: int
    units: Optional[Tuple[int, ...]] = None
    gates: Optional[torch.Tensor] = None
    drop_probs: Optional[Tuple[float, ...]] = None


def _fail(option: str, message: str):
    raise ValueError(f"model_conf.supernet.{option} {message}")


class Supernet(torch.nn.Module):
    """Schedule, learned scores and frozen masks of a dynamic-size encoder.

    Args:
        num_units: Prunable units ``U`` of the encoder (given by the model).
        units_per_layer: Units per block (given by the model).
        method: ``simple_top_k``, ``iterative_zero_out`` or ``stochastic_depth``.
        sizes: Strictly increasing unit counts in ``[1, U]``, the sizes decoding
            can ask for; the last is the largest net (normally ``U``). Default:
            a quarter, half, three quarters and all of the blocks. With
            ``stochastic_depth`` each must be a multiple of ``units_per_layer``.
        stage1_steps: Optimizer updates of stage 1 (required by the scored
            methods; ``0`` skips it and freezes the initial, tied scores).
        anneal_step: ``simple_top_k``: ``k`` goes ``U - d, U - 2d, ...`` down to
            the smallest size, ``d = anneal_step``.
        anneal_interval: ``simple_top_k``: updates between two values of ``k``.
            Default: stage 1 split evenly over the values of ``k``.
        gates: ``simple_top_k``: ``hard`` (straight-through: the forward pass is
            exactly the k-unit subnet, the gradient is the relaxed top-k's) or
            ``soft`` (the relaxed k-hot vector itself).
        init_score: Initial score of every unit (default 0.5 for
            ``simple_top_k``, 10 for ``iterative_zero_out``).
        sparsity_weight: ``iterative_zero_out``: weight of the sparsity loss.
        zero_out_counts: ``iterative_zero_out``: cumulative number of units
            zeroed out by the end of each iteration (strictly increasing, in
            ``[1, U - 1]``). Default: ``U - size`` for each size below ``U``,
            from the largest to the smallest.
        reset_value: ``iterative_zero_out``: score given to the lowest units at
            the end of an iteration (they stay trainable).
        supernet_weight: Loss weight of the largest net.
        subnet_weight: Loss weight of each subnet pass (stage 1's gated subnet;
            stage 2's smallest and medium subnets).
        stage1_stochastic_depth: Skip probability, in stage 1, of the
            supernet's units that the current subnet leaves out.
        stage2_stochastic_depth: Skip probability, in stage 2, of the largest
            net's units outside the smallest subnet (kept ones are rescaled).
        seed: Seed of the medium-subnet draw (the draw at update ``t`` depends
            only on ``(seed, t)``).
        accum_grad: Must equal the trainer's ``accum_grad``: forward passes per
            optimizer update (ESPnet does not tell the model).
        total_steps: Optimizer updates of the whole training, if known
            (``max_epoch`` x updates per epoch); checks ``stage1_steps`` against it.
        report_unit_scores: Also report every unit's score (one stat per unit).
    """

    @typechecked
    def __init__(
        self,
        num_units: int,
        units_per_layer: int = 1,
        method: str = "simple_top_k",
        sizes: Optional[List[int]] = None,
        stage1_steps: Optional[int] = None,
        anneal_step: int = 1,
        anneal_interval: Optional[int] = None,
        gates: str = "hard",
        init_score: Optional[float] = None,
        sparsity_weight: float = 5.0,
        zero_out_counts: Optional[List[int]] = None,
        reset_value: float = -5.0,
        supernet_weight: float = 1.0,
        subnet_weight: float = 0.3,
        stage1_stochastic_depth: float = 0.0,
        stage2_stochastic_depth: float = 0.3,
        seed: int = 0,
        accum_grad: int = 1,
        total_steps: Optional[int] = None,
        report_unit_scores: bool = False,
    ):
        super().__init__()
        if method not in METHODS:
            _fail("method", f"must be one of {METHODS}, got {method!r}")
        if num_units < 1 or units_per_layer < 1 or num_units % units_per_layer:
            raise ValueError(
                f"num_units ({num_units}) must be a positive multiple of "
                f"units_per_layer ({units_per_layer})"
            )
        U = num_units
        self.method = method
        self.num_units = U
        self.units_per_layer = units_per_layer
        self.scored = method != "stochastic_depth"
        self.sizes = self._check_sizes(sizes)
        self.supernet_weight = self._check_nonneg("supernet_weight", supernet_weight)
        self.subnet_weight = self._check_nonneg("subnet_weight", subnet_weight)
        self.sparsity_weight = self._check_nonneg("sparsity_weight", sparsity_weight)
        self.stage1_stochastic_depth = self._check_prob(
            "stage1_stochastic_depth", stage1_stochastic_depth
        )
        self.stage2_stochastic_depth = self._check_prob(
            "stage2_stochastic_depth", stage2_stochastic_depth
        )
        if gates not in GATES:
            _fail("gates", f"must be one of {GATES}, got {gates!r}")
        self.gates = gates
        if accum_grad < 1:
            _fail("accum_grad", f"must be >= 1 (the trainer's accum_grad), got {accum_grad}")
        self.accum_grad = accum_grad
        self.seed = seed
        self.reset_value = float(reset_value)
        self.report_unit_scores = report_unit_scores

        if not self.scored:
            stage1_steps = 0
        elif stage1_steps is None:
            _fail(
                "stage1_steps",
                f"is required for method {method}: the number of optimizer updates "
                "that learn the scores before the masks are frozen (e.g. half of "
                "max_epoch x updates per epoch)",
            )
        if stage1_steps < 0:
            _fail("stage1_steps", f"must be >= 0, got {stage1_steps}")
        self.stage1_steps = stage1_steps
        if total_steps is not None:
            if total_steps < 1:
                _fail("total_steps", f"must be >= 1, got {total_steps}")
            if self.scored and stage1_steps >= total_steps:
                _fail(
                    "stage1_steps",
                    f"({stage1_steps}) must be less than total_steps ({total_steps}), "
                    "the number of updates of the whole training, so that stage 2 runs",
                )
        self.total_steps = total_steps

        if anneal_step < 1:
            _fail("anneal_step", f"must be >= 1, got {anneal_step}")
        self.anneal_step = anneal_step
        if anneal_interval is not None and anneal_interval < 1:
            _fail("anneal_interval", f"must be >= 1 (updates), got {anneal_interval}")
        self.anneal_interval = anneal_interval
        if method == "simple_top_k":
            self.anneal_interval = self._check_anneal(anneal_interval)
        self.zero_out_counts: List[int] = []
        if method == "iterative_zero_out":
            self.zero_out_counts = self._check_zero_out(zero_out_counts)

        if self.scored:
            init = _DEFAULT_INIT_SCORE[method] if init_score is None else init_score
            self.scores = torch.nn.Parameter(torch.full((U,), float(init)))
        else:
            self.scores = None
        # Checkpointed state. Integers are summed (not averaged) by ESPnet's
        # n-best averaging; ``frozen`` is a float so that an average of frozen
        # and unfrozen checkpoints is still > 0, and ``frozen_scores`` is zero
        # until frozen, so such an average keeps the frozen ranking.
        self.register_buffer("num_forwards", torch.zeros((), dtype=torch.long))
        self.register_buffer("resets_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("frozen", torch.zeros(()))
        self.register_buffer("frozen_scores", torch.zeros(U))

    # ------------------------------------------------------------ construction
    @classmethod
    def from_config(
        cls, config: Optional[dict], num_units: int, units_per_layer: int = 1
    ) -> "Supernet":
        """Build from ``model_conf.supernet``, rejecting unknown or misplaced keys.

        Raises:
            ValueError: On an unknown option, an option of another method, a
                value of the wrong type or out of range.
        """
        config = dict(config or {})
        unknown = sorted(set(config) - _ALL_OPTIONS)
        if unknown:
            raise ValueError(
                f"unknown model_conf.supernet option(s) {unknown}; allowed: "
                f"{sorted(_ALL_OPTIONS)}"
            )
        method = config.get("method", "simple_top_k")
        if method in _METHOD_OPTIONS:
            misplaced = sorted(set(config) - _METHOD_OPTIONS[method])
            if misplaced:
                raise ValueError(
                    f"model_conf.supernet option(s) {misplaced} do not apply to "
                    f"method {method}; its options are {sorted(_METHOD_OPTIONS[method])}"
                )
        try:
            return cls(num_units=num_units, units_per_layer=units_per_layer, **config)
        except TypeCheckError as e:
            raise ValueError(f"model_conf.supernet: {e}") from None

    def _check_sizes(self, sizes: Optional[Sequence[int]]) -> Tuple[int, ...]:
        U, per = self.num_units, self.units_per_layer
        if sizes is None:
            L = U // per
            return tuple(sorted({per * max(1, round(L * q)) for q in (0.25, 0.5, 0.75, 1.0)}))
        sizes = list(sizes)
        if not sizes:
            _fail("sizes", f"must list at least one unit count in [1, {U}]")
        bad = [s for s in sizes if not 1 <= s <= U]
        if bad:
            _fail("sizes", f"entries must be in [1, {U}] (the encoder has {U} units), got {bad}")
        if any(b <= a for a, b in zip(sizes, sizes[1:])):
            _fail("sizes", f"must be strictly increasing, got {sizes}")
        if self.scored and sizes[0] >= U:
            _fail(
                "sizes",
                f"needs a size below {U} (all units) for method {self.method}, got {sizes}",
            )
        if not self.scored and any(s % per for s in sizes):
            _fail(
                "sizes",
                f"must be multiples of {per} (units per block) for method "
                f"stochastic_depth, which keeps whole blocks, got {sizes}",
            )
        return tuple(sizes)

    @staticmethod
    def _check_nonneg(option: str, value: float) -> float:
        if not value >= 0.0:
            _fail(option, f"must be >= 0, got {value}")
        return float(value)

    @staticmethod
    def _check_prob(option: str, value: float) -> float:
        if not 0.0 <= value < 1.0:
            _fail(option, f"must be in [0, 1), got {value}")
        return float(value)

    def _num_k_values(self) -> int:
        return math.ceil((self.num_units - self.sizes[0]) / self.anneal_step)

    def _check_anneal(self, interval: Optional[int]) -> int:
        n_k = self._num_k_values()
        if interval is None:
            return max(1, self.stage1_steps // n_k)
        reached = (n_k - 1) * interval
        if self.stage1_steps and reached >= self.stage1_steps:
            _fail(
                "anneal_interval",
                f"({interval}) is too long: k would reach the smallest size "
                f"{self.sizes[0]} at update {reached}, after stage 1 ends at "
                f"stage1_steps={self.stage1_steps}; lower it, or leave it unset to "
                "spread the annealing over stage 1",
            )
        return interval

    def _check_zero_out(self, counts: Optional[Sequence[int]]) -> List[int]:
        U = self.num_units
        if counts is None:
            counts = sorted({U - s for s in self.sizes if s < U})
        counts = list(counts)
        if not counts:
            _fail("zero_out_counts", "must list at least one count")
        bad = [n for n in counts if not 1 <= n <= U - 1]
        if bad:
            _fail("zero_out_counts", f"entries must be in [1, {U - 1}], got {bad}")
        if any(b <= a for a, b in zip(counts, counts[1:])):
            _fail("zero_out_counts", f"must be strictly increasing (cumulative), got {counts}")
        if 0 < self.stage1_steps < len(counts):
            _fail(
                "stage1_steps",
                f"({self.stage1_steps}) must be >= the number of zero-out iterations "
                f"({len(counts)})",
            )
        if counts[-1] != U - self.sizes[0]:
            logging.warning(
                "supernet: zero_out_counts ends at %d but the smallest size %d "
                "needs %d units zeroed out",
                counts[-1], self.sizes[0], U - self.sizes[0],
            )
        return counts

    # ------------------------------------------------------------ schedule
    @property
    def step(self) -> int:
        """Optimizer updates done so far (training forward passes / accum_grad)."""
        return int(self.num_forwards) // self.accum_grad

    def stage_at(self, step: int) -> int:
        """1 or 2 for the scored methods; 0 (no stages) for ``stochastic_depth``."""
        if not self.scored:
            return 0
        return 1 if step < self.stage1_steps else 2

    @property
    def is_frozen(self) -> bool:
        """Whether the stage-2 masks have been frozen."""
        return bool(self.frozen.item() > 0)

    def _zero_out_len(self) -> int:
        return self.stage1_steps // len(self.zero_out_counts)

    def zero_out_iteration(self, step: int) -> int:
        """0-based zero-out iteration of a stage-1 update."""
        return min(step // self._zero_out_len(), len(self.zero_out_counts) - 1)

    def _zero_out_end(self, iteration: int) -> int:
        if iteration == len(self.zero_out_counts) - 1:
            return self.stage1_steps  # the last iteration takes the remainder
        return (iteration + 1) * self._zero_out_len()

    def subnet_size(self, step: int) -> int:
        """Units of stage 1's gated subnet at ``step`` (the ``k`` of the schedule)."""
        if self.method == "simple_top_k":
            d, U = self.anneal_step, self.num_units
            return max(U - d - (step // self.anneal_interval) * d, self.sizes[0])
        if self.method == "iterative_zero_out":
            return self.num_units - self.zero_out_counts[self.zero_out_iteration(step)]
        return self.sizes[0]

    def medium_size(self, step: int) -> Optional[int]:
        """Stage 2's medium subnet at ``step``: uniform over the sizes between
        the smallest and the largest, from a generator seeded with (seed, step)."""
        mediums = self.sizes[1:-1]
        if not mediums:
            return None
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + step) % (2**63))
        return mediums[int(torch.randint(len(mediums), (1,), generator=g))]

    @torch.no_grad()
    def start_train_step(self) -> int:
        """Count one training forward pass; return the update it belongs to.

        Applies what happens at update boundaries first: the zero-out resets
        and, at the first update of stage 2, freezing the masks.
        """
        step = self.step
        if self.scored and self.stage1_steps > 0 and self.method == "iterative_zero_out":
            while int(self.resets_done) < len(self.zero_out_counts):
                i = int(self.resets_done)
                if step < self._zero_out_end(i):
                    break
                self._reset_lowest(self.zero_out_counts[i])
                self.resets_done.add_(1)
        if self.scored and not self.is_frozen and step >= self.stage1_steps:
            self.frozen_scores.copy_(self.scores.detach())
            self.frozen.fill_(1.0)
            logging.info(
                "supernet: stage 2 from update %d, frozen masks %s",
                step, dict(zip(self.sizes, nested_masks(self.frozen_scores, self.sizes))),
            )
        self.num_forwards.add_(1)
        return step

    def _reset_lowest(self, n: int) -> None:
        """Reset the ``n`` lowest scores to ``reset_value``, keeping their order.

        The reset units get ``reset_value`` plus offsets below ``RESET_ORDER_SPAN``, in the
        order of their scores before the reset. Without them the last reset would leave the
        ``n`` lowest units tied, and the masks of the sizes in between would follow the unit
        index instead of the zero-out order (units zeroed in earlier iterations rank lowest).
        """
        lowest = unit_ranking(self.scores)[self.num_units - n :]  # highest of them first
        offsets = torch.arange(n, 0, -1, dtype=self.scores.dtype) * (RESET_ORDER_SPAN / n)
        index = torch.tensor(lowest, device=self.scores.device)
        self.scores.data[index] = self.reset_value + offsets.to(self.scores.device)

    # ------------------------------------------------------------ passes
    def _all_units(self) -> Tuple[int, ...]:
        return tuple(range(1, self.num_units + 1))

    def _drop_outside(self, inside: Sequence[int], p: float) -> Tuple[float, ...]:
        keep = set(inside)
        return tuple(0.0 if u in keep else p for u in self._all_units())

    def train_passes(self, step: int) -> List[SubnetPass]:
        """The passes of one training update, with their loss weights."""
        U = self.num_units
        if not self.scored:
            return [SubnetPass("supernet", self.supernet_weight, self.sizes[-1])]
        no_drop = (0.0,) * U
        if self.stage_at(step) == 1:
            k = self.subnet_size(step)
            if self.method == "simple_top_k":
                if self.gates == "hard":
                    gates = straight_through_top_k(self.scores, k)
                    picked = gates.detach()
                else:
                    gates = relaxed_top_k(self.scores, k)
                    picked = hard_top_k(gates.detach(), k)
                left_out = [j + 1 for j in range(U) if picked[j] == 0]
            else:
                gates = sigmoid_gates(self.scores)
                i = self.zero_out_iteration(step)
                n_prev = self.zero_out_counts[i - 1] if i > 0 else 0
                left_out = unit_ranking(self.scores)[U - n_prev :] if n_prev else []
                left_out = [j + 1 for j in left_out]
            supernet_drop = tuple(
                self.stage1_stochastic_depth if u in set(left_out) else 0.0
                for u in self._all_units()
            )
            return [
                SubnetPass("supernet", self.supernet_weight, U, self._all_units(),
                           None, supernet_drop),
                SubnetPass("subnet", self.subnet_weight, k, self._all_units(),
                           gates, no_drop),
            ]
        smallest, largest = self.sizes[0], self.sizes[-1]
        wanted = [largest, smallest]
        medium = self.medium_size(step)
        if medium is not None:
            wanted.append(medium)
        masks = dict(zip(wanted, nested_masks(self.frozen_scores, wanted)))
        passes = [
            SubnetPass(
                "supernet", self.supernet_weight, largest, masks[largest], None,
                self._drop_outside(masks[smallest], self.stage2_stochastic_depth),
            )
        ]
        for size in wanted[1:]:
            if size != largest:
                passes.append(
                    SubnetPass(f"size{size}", self.subnet_weight, size, masks[size],
                               None, no_drop)
                )
        return passes

    def eval_passes(self) -> List[SubnetPass]:
        """Validation: the net as the encoder is set (its loss is the model's
        loss) and the smallest subnet (reported only, weight 0)."""
        smallest = self.sizes[0]
        return [
            SubnetPass("supernet", 1.0, self.sizes[-1]),
            SubnetPass(f"size{smallest}", 0.0, smallest, self.size_units(smallest, quiet=True)),
        ]

    def sparsity_loss(self, step: int) -> Optional[torch.Tensor]:
        """Iterative-Zero-Out's sparsity loss (unweighted) in stage 1, else None."""
        if self.method != "iterative_zero_out" or self.stage_at(step) != 1:
            return None
        n = self.zero_out_counts[self.zero_out_iteration(step)]
        return zero_out_sparsity_loss(self.scores, n, self.num_units)

    def stats(
        self, step: int, labels: Optional[Sequence[str]] = None, training: bool = True
    ) -> Dict[str, float]:
        """Schedule and score summary for ESPnet's reporter.

        Args:
            step: The update.
            labels: Unit names for ``report_unit_scores``.
            training: Include the subnet sizes drawn for this update.
        """
        stage = self.stage_at(step)
        out: Dict[str, float] = {"stage": float(stage), "supernet_step": float(step)}
        if training and stage == 1:
            out["k"] = float(self.subnet_size(step))
        elif training and stage == 2 and self.medium_size(step) is not None:
            out["medium_size"] = float(self.medium_size(step))
        if self.scored:
            s = self.scores.detach()
            out.update(score_min=s.min().item(), score_max=s.max().item(),
                       score_mean=s.mean().item())
            if self.method == "iterative_zero_out":
                out["gate_sum"] = sigmoid_gates(s).sum().item()
            if self.report_unit_scores:
                names = labels or [f"u{j + 1}" for j in range(self.num_units)]
                out.update({f"score_{n}": v for n, v in zip(names, s.tolist())})
        return out

    # ------------------------------------------------------------ masks
    def ranking_scores(self) -> Optional[torch.Tensor]:
        """The scores masks are read from: frozen ones once stage 2 started."""
        if not self.scored:
            return None
        return self.frozen_scores if self.is_frozen else self.scores.detach()

    def size_units(self, size: int, quiet: bool = False) -> Tuple[int, ...]:
        """1-based units kept at ``size``: top-``size`` of the (frozen) scores.

        For ``stochastic_depth``, the first ``size`` units. Before stage 2 the
        current scores are used (with a warning unless ``quiet``).
        """
        if not 1 <= size <= self.num_units:
            raise ValueError(f"size must be in [1, {self.num_units}], got {size}")
        if not self.scored:
            return tuple(range(1, size + 1))
        if not self.is_frozen and not quiet:
            logging.warning(
                "supernet: masks are not frozen yet (stage 2 not reached: %d of %d "
                "stage-1 updates done); using the current scores",
                self.step, self.stage1_steps,
            )
        return nested_masks(self.ranking_scores(), [size])[0]

    def depth_layers(self, depth: int) -> Optional[Tuple[int, ...]]:
        """1-based blocks kept at ``depth``: the blocks whose units' scores sum
        highest. ``None`` for ``stochastic_depth`` (keep the first blocks)."""
        if not self.scored:
            return None
        return top_blocks(self.ranking_scores(), self.units_per_layer, depth)

    def extra_repr(self) -> str:
        return f"method={self.method}, sizes={list(self.sizes)}, stage1_steps={self.stage1_steps}"

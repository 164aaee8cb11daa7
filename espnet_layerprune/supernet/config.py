"""``model_conf.supernet``: the options of a supernet schedule, checked once.

:meth:`SupernetConfig.from_dict` rejects unknown keys (with a "did you mean"),
options of another method and out-of-range values, and fills in the defaults
that depend on the encoder (sizes, annealing interval, zero-out counts).
"""

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from typeguard import TypeCheckError, check_type

from espnet_layerprune.core.errors import ConfigError, did_you_mean

METHODS = ("simple_top_k", "iterative_zero_out", "stochastic_depth")
GATES = ("hard", "soft")
SPARSITY_SCALES = ("frames", "none")

_COMMON = {"method", "sizes", "supernet_weight", "seed", "accum_grad", "total_steps",
           "report_unit_scores"}
_STAGED = {"stage1_steps", "stage1_fraction", "subnet_weight", "stage1_stochastic_depth",
           "stage2_stochastic_depth", "init_score"}
#: Which options apply to which method.
METHOD_OPTIONS = {
    "simple_top_k": _COMMON | _STAGED | {"anneal_step", "anneal_interval", "gates"},
    "iterative_zero_out": _COMMON | _STAGED
    | {"sparsity_weight", "sparsity_scale", "zero_out_counts", "reset_value"},
    "stochastic_depth": _COMMON,
}
_DEFAULT_INIT_SCORE = {"simple_top_k": 0.5, "iterative_zero_out": 10.0}


def _fail(option: str, message: str):
    raise ConfigError(f"model_conf.supernet.{option} {message}")


@dataclass(frozen=True)
class SupernetConfig:
    """The schedule of a dynamic-size supernet (``model_conf.supernet``).

    Attributes:
        method: ``simple_top_k``, ``iterative_zero_out`` or ``stochastic_depth``.
        sizes: Strictly increasing unit counts in ``[1, U]``, the sizes decoding
            can ask for; the last is the largest net (normally ``U``). Default:
            a quarter, half, three quarters and all of the blocks. With
            ``stochastic_depth`` each must be a multiple of the units per block.
        stage1_steps: Optimizer updates of stage 1 (the scored methods need it or
            ``stage1_fraction``; ``0`` skips stage 1 and freezes the initial scores).
        stage1_fraction: Stage 1 as a fraction of all updates, in ``(0, 1)``;
            the training entry point turns it into ``stage1_steps`` from
            ``max_epoch`` and the number of batches.
        anneal_step: ``simple_top_k``: ``k`` goes ``U - d, U - 2d, ...`` down to
            the smallest size, ``d = anneal_step``.
        anneal_interval: ``simple_top_k``: updates between two values of ``k``.
            Default: stage 1 split evenly over the values of ``k``.
        gates: ``simple_top_k``: ``hard`` (straight-through: the forward pass is
            exactly the k-unit subnet, the gradient is the relaxed top-k's) or
            ``soft`` (the relaxed k-hot vector itself).
        init_score: Initial score of every unit (default 0.5 for
            ``simple_top_k``, 10 for ``iterative_zero_out``).
        sparsity_weight: ``iterative_zero_out``: weight of the sparsity loss
            (5 in the paper).
        sparsity_scale: ``iterative_zero_out``: ``frames`` (default) multiplies the
            weight by the batch's mean encoder length, because the paper's CTC
            loss is divided by the number of encoder frames and ESPnet's is not;
            ``none`` uses the weight as given.
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
        accum_grad: Forward passes per optimizer update; the training entry point
            fills it in from the trainer's ``accum_grad`` (and refuses another value).
        total_steps: Optimizer updates of the whole training, if known; checks
            ``stage1_steps`` against it.
        report_unit_scores: Also report every unit's score (one stat per unit, so
            TensorBoard plots each score's trajectory); default true.
    """

    method: str = "simple_top_k"
    sizes: Optional[Tuple[int, ...]] = None
    stage1_steps: Optional[int] = None
    stage1_fraction: Optional[float] = None
    anneal_step: int = 1
    anneal_interval: Optional[int] = None
    gates: str = "hard"
    init_score: Optional[float] = None
    sparsity_weight: float = 5.0
    sparsity_scale: str = "frames"
    zero_out_counts: Optional[Tuple[int, ...]] = None
    reset_value: float = -5.0
    supernet_weight: float = 1.0
    subnet_weight: float = 0.3
    stage1_stochastic_depth: float = 0.0
    stage2_stochastic_depth: float = 0.3
    seed: int = 0
    accum_grad: int = 1
    total_steps: Optional[int] = None
    report_unit_scores: bool = True
    #: Set by :meth:`resolve`.
    num_units: int = field(default=0, repr=False)
    units_per_layer: int = field(default=1, repr=False)

    @property
    def scored(self) -> bool:
        """Whether the method learns unit scores (two stages)."""
        return self.method != "stochastic_depth"

    # ------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, config: Optional[dict], num_units: int, units_per_layer: int = 1) -> "SupernetConfig":
        """Build from ``model_conf.supernet`` and resolve it for an encoder.

        Raises:
            ConfigError: On an unknown option, an option of another method, a
                value of the wrong type or out of range.
        """
        config = dict(config or {})
        allowed = set().union(*METHOD_OPTIONS.values())
        unknown = sorted(set(config) - allowed)
        if unknown:
            hints = "".join(did_you_mean(k, allowed) for k in unknown[:1])
            raise ConfigError(
                f"unknown model_conf.supernet option(s) {unknown}{hints}; allowed: {sorted(allowed)}"
            )
        method = config.get("method", "simple_top_k")
        if method not in METHODS:
            _fail("method", f"must be one of {METHODS}, got {method!r}")
        misplaced = sorted(set(config) - METHOD_OPTIONS[method])
        if misplaced:
            raise ConfigError(
                f"model_conf.supernet option(s) {misplaced} do not apply to "
                f"method {method}; its options are {sorted(METHOD_OPTIONS[method])}"
            )
        hints = {f.name: f.type for f in dataclasses.fields(cls)}
        for key, value in config.items():
            expected = {"sizes": List[int], "zero_out_counts": List[int]}.get(key, hints[key])
            if isinstance(value, int) and not isinstance(value, bool) and "float" in str(expected):
                value = float(value)
                config[key] = value
            try:
                check_type(value, expected)
            except TypeCheckError as e:
                raise ConfigError(f"model_conf.supernet: {key} {e}") from None
        for key in ("sizes", "zero_out_counts"):
            if key in config:
                config[key] = tuple(config[key])
        return cls(**config).resolve(num_units, units_per_layer)

    def resolve(self, num_units: int, units_per_layer: int = 1) -> "SupernetConfig":
        """Check every option against the encoder and fill in the defaults."""
        U, per = num_units, units_per_layer
        if U < 1 or per < 1 or U % per:
            raise ConfigError(f"num_units ({U}) must be a positive multiple of units_per_layer ({per})")
        c = dataclasses.replace(self, num_units=U, units_per_layer=per)
        c = dataclasses.replace(c, sizes=c._checked_sizes())
        for option in ("supernet_weight", "subnet_weight", "sparsity_weight"):
            if not getattr(c, option) >= 0.0:
                _fail(option, f"must be >= 0, got {getattr(c, option)}")
        for option in ("stage1_stochastic_depth", "stage2_stochastic_depth"):
            if not 0.0 <= getattr(c, option) < 1.0:
                _fail(option, f"must be in [0, 1), got {getattr(c, option)}")
        if c.gates not in GATES:
            _fail("gates", f"must be one of {GATES}, got {c.gates!r}")
        if c.sparsity_scale not in SPARSITY_SCALES:
            _fail("sparsity_scale", f"must be one of {SPARSITY_SCALES}, got {c.sparsity_scale!r}")
        if c.accum_grad < 1:
            _fail("accum_grad", f"must be >= 1 (the trainer's accum_grad), got {c.accum_grad}")
        if c.anneal_step < 1:
            _fail("anneal_step", f"must be >= 1, got {c.anneal_step}")
        if c.anneal_interval is not None and c.anneal_interval < 1:
            _fail("anneal_interval", f"must be >= 1 (updates), got {c.anneal_interval}")
        c = c._with_stage1()
        if c.total_steps is not None:
            if c.total_steps < 1:
                _fail("total_steps", f"must be >= 1, got {c.total_steps}")
            if c.scored and c.stage1_steps >= c.total_steps:
                _fail(
                    "stage1_steps",
                    f"({c.stage1_steps}) must be less than total_steps ({c.total_steps}), "
                    "the number of updates of the whole training, so that stage 2 runs",
                )
        if c.method == "simple_top_k":
            c = dataclasses.replace(c, anneal_interval=c._checked_anneal())
        if c.method == "iterative_zero_out":
            c = dataclasses.replace(c, zero_out_counts=c._checked_zero_out())
        if c.scored and c.init_score is None:
            c = dataclasses.replace(c, init_score=_DEFAULT_INIT_SCORE[c.method])
        return c

    def _checked_sizes(self) -> Tuple[int, ...]:
        U, per = self.num_units, self.units_per_layer
        if self.sizes is None:
            L = U // per
            return tuple(sorted({per * max(1, round(L * q)) for q in (0.25, 0.5, 0.75, 1.0)}))
        sizes = list(self.sizes)
        if not sizes:
            _fail("sizes", f"must list at least one unit count in [1, {U}]")
        bad = [s for s in sizes if not 1 <= s <= U]
        if bad:
            _fail("sizes", f"entries must be in [1, {U}] (the encoder has {U} units), got {bad}")
        if any(b <= a for a, b in zip(sizes, sizes[1:])):
            _fail("sizes", f"must be strictly increasing, got {sizes}")
        if self.scored and sizes[0] >= U:
            _fail("sizes", f"needs a size below {U} (all units) for method {self.method}, got {sizes}")
        if not self.scored and any(s % per for s in sizes):
            _fail(
                "sizes",
                f"must be multiples of {per} (units per block) for method "
                f"stochastic_depth, which keeps whole blocks, got {sizes}",
            )
        return tuple(sizes)

    def _with_stage1(self) -> "SupernetConfig":
        if not self.scored:
            return dataclasses.replace(self, stage1_steps=0)
        if self.stage1_fraction is not None:
            if self.stage1_steps is not None:
                _fail("stage1_fraction", "and stage1_steps both set; give one of them")
            if not 0.0 < self.stage1_fraction < 1.0:
                _fail("stage1_fraction", f"must be in (0, 1), got {self.stage1_fraction}")
            if self.total_steps is None:
                _fail(
                    "stage1_fraction",
                    "needs total_steps (the training entry point fills it in from max_epoch "
                    "and the batches per epoch; set stage1_steps when building the model yourself)",
                )
            return dataclasses.replace(
                self, stage1_steps=max(1, round(self.stage1_fraction * self.total_steps))
            )
        if self.stage1_steps is None:
            _fail(
                "stage1_steps",
                f"is required for method {self.method}: the number of optimizer updates "
                "that learn the scores before the masks are frozen (or stage1_fraction, "
                "a fraction of all updates)",
            )
        if self.stage1_steps < 0:
            _fail("stage1_steps", f"must be >= 0, got {self.stage1_steps}")
        return self

    def num_k_values(self) -> int:
        """Values of ``k`` that Simple-Top-k anneals through."""
        return math.ceil((self.num_units - self.sizes[0]) / self.anneal_step)

    def _checked_anneal(self) -> int:
        n_k = self.num_k_values()
        if self.anneal_interval is None:
            if 0 < self.stage1_steps < n_k:
                _fail(
                    "stage1_steps",
                    f"({self.stage1_steps}) is shorter than the {n_k} values of k "
                    f"({self.num_units - self.anneal_step} down to {self.sizes[0]} in steps of "
                    f"anneal_step={self.anneal_step}): k would never reach the smallest size; "
                    f"give at least {n_k} stage-1 updates or a larger anneal_step",
                )
            return max(1, self.stage1_steps // n_k)
        reached = (n_k - 1) * self.anneal_interval
        if self.stage1_steps and reached >= self.stage1_steps:
            _fail(
                "anneal_interval",
                f"({self.anneal_interval}) is too long: k would reach the smallest size "
                f"{self.sizes[0]} at update {reached}, after stage 1 ends at "
                f"stage1_steps={self.stage1_steps}; lower it, or leave it unset to "
                "spread the annealing over stage 1",
            )
        return self.anneal_interval

    def _checked_zero_out(self) -> Tuple[int, ...]:
        U = self.num_units
        if self.zero_out_counts is None:
            counts = sorted({U - s for s in self.sizes if s < U})
        else:
            counts = list(self.zero_out_counts)
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
                "supernet: zero_out_counts ends at %d but the smallest size %d needs %d "
                "units zeroed out", counts[-1], self.sizes[0], U - self.sizes[0],
            )
        return tuple(counts)

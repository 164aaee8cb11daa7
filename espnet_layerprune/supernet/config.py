"""``model_conf.supernet``: the options of a supernet schedule, checked once.

Every method has the options of :class:`SupernetConfig`; each method extends it with its own,
in a frozen dataclass in the method's file (:class:`~.stochastic_depth.StochasticDepthConfig`,
:class:`~.staged.StagedConfig` for the two scored methods, :class:`~.simple_top_k.
SimpleTopKConfig`, :class:`~.iterative_zero_out.IterativeZeroOutConfig`). :func:`parse`
rejects unknown keys (with a "did you mean"), options of another method and values of the
wrong type; :meth:`SupernetConfig.resolve` checks every value against the encoder and fills in
the defaults that depend on it (sizes, stage 1, annealing interval, zero-out counts).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Set, Tuple, Type

from typeguard import TypeCheckError, check_type

from espnet_layerprune.core.errors import ConfigError, did_you_mean

#: Fields that :meth:`SupernetConfig.resolve` sets from the encoder (not options).
_RESOLVED = {"resolved": True}


def fail(option: str, message: str):
    """Raise the error of a bad ``model_conf.supernet`` option."""
    raise ConfigError(f"model_conf.supernet.{option} {message}")


@dataclass(frozen=True)
class SupernetConfig:
    """The options every method has (``model_conf.supernet``).

    Attributes:
        method: The method's name (each method's config has its own as default).
        sizes: Strictly increasing unit counts in ``[1, U]``, the sizes decoding
            can ask for; the last is the largest net (normally ``U``). Default:
            a quarter, half, three quarters and all of the blocks.
        supernet_weight: Loss weight of the largest net.
        seed: Seed of the medium-subnet draw (the draw at update ``t`` depends
            only on ``(seed, t)``).
        accum_grad: Forward passes per optimizer update; the training entry point
            fills it in from the trainer's ``accum_grad`` (and refuses another value).
        total_steps: Optimizer updates of the whole training, if known; checks
            ``stage1_steps`` against it.
        report_unit_scores: Also report every unit's score (one stat per unit, so
            TensorBoard plots each score's trajectory); default true.
        num_units: Set by :meth:`resolve`: the encoder's units ``U``.
        units_per_layer: Set by :meth:`resolve`.
    """

    method: str = ""
    sizes: Optional[Tuple[int, ...]] = None
    supernet_weight: float = 1.0
    seed: int = 0
    accum_grad: int = 1
    total_steps: Optional[int] = None
    report_unit_scores: bool = True
    num_units: int = field(default=0, repr=False, metadata=_RESOLVED)
    units_per_layer: int = field(default=1, repr=False, metadata=_RESOLVED)

    @classmethod
    def options(cls) -> Set[str]:
        """The keys ``model_conf.supernet`` may set for this method."""
        return {f.name for f in dataclasses.fields(cls) if not f.metadata.get("resolved")}

    def resolve(self, num_units: int, units_per_layer: int = 1) -> "SupernetConfig":
        """Check every option against the encoder and fill in the defaults.

        Raises:
            ConfigError: A value out of range, or options that do not fit together.
        """
        U, per = num_units, units_per_layer
        if U < 1 or per < 1 or U % per:
            raise ConfigError(f"num_units ({U}) must be a positive multiple of units_per_layer ({per})")
        c = dataclasses.replace(self, num_units=U, units_per_layer=per)
        c = dataclasses.replace(c, sizes=c._checked_sizes())
        c._check()
        return c._derived()

    # ------------------------------------------------------------ what a method extends
    def _check_sizes(self, sizes: List[int]) -> None:
        """The method's own rules for ``sizes``."""

    def _check(self) -> None:
        """Range checks of single options (each method adds its own after these)."""
        if not self.supernet_weight >= 0.0:
            fail("supernet_weight", f"must be >= 0, got {self.supernet_weight}")
        if self.accum_grad < 1:
            fail("accum_grad", f"must be >= 1 (the trainer's accum_grad), got {self.accum_grad}")
        if self.total_steps is not None and self.total_steps < 1:
            fail("total_steps", f"must be >= 1, got {self.total_steps}")

    def _derived(self) -> "SupernetConfig":
        """Options that depend on others, checked and filled in (after every range check)."""
        return self

    # ------------------------------------------------------------ shared
    def _checked_sizes(self) -> Tuple[int, ...]:
        U, per = self.num_units, self.units_per_layer
        if self.sizes is None:
            L = U // per
            return tuple(sorted({per * max(1, round(L * q)) for q in (0.25, 0.5, 0.75, 1.0)}))
        sizes = list(self.sizes)
        if not sizes:
            fail("sizes", f"must list at least one unit count in [1, {U}]")
        bad = [s for s in sizes if not 1 <= s <= U]
        if bad:
            fail("sizes", f"entries must be in [1, {U}] (the encoder has {U} units), got {bad}")
        if any(b <= a for a, b in zip(sizes, sizes[1:])):
            fail("sizes", f"must be strictly increasing, got {sizes}")
        self._check_sizes(sizes)
        return tuple(sizes)


def _as_written(tp):
    """The type of an option as YAML writes it: a tuple of ints is a list of ints."""
    return List[int] if tp == Optional[Tuple[int, ...]] else tp


def parse(raw: Optional[dict], configs: Mapping[str, Type[SupernetConfig]], num_units: int,
          units_per_layer: int = 1, default_method: str = "simple_top_k") -> SupernetConfig:
    """``model_conf.supernet`` as the config of its method (``configs``: by method name), resolved
    for an encoder of ``num_units`` units.

    Raises:
        ConfigError: On an unknown option, an option of another method, a value of the wrong
            type or out of range.
    """
    config = dict(raw or {})
    allowed = set().union(*(c.options() for c in configs.values()))
    unknown = sorted(set(config) - allowed)
    if unknown:
        hints = "".join(did_you_mean(k, allowed) for k in unknown[:1])
        raise ConfigError(
            f"unknown model_conf.supernet option(s) {unknown}{hints}; allowed: {sorted(allowed)}"
        )
    method = config.setdefault("method", default_method)
    if method not in configs:
        fail("method", f"must be one of {tuple(configs)}, got {method!r}")
    cls = configs[method]
    misplaced = sorted(set(config) - cls.options())
    if misplaced:
        raise ConfigError(
            f"model_conf.supernet option(s) {misplaced} do not apply to "
            f"method {method}; its options are {sorted(cls.options())}"
        )
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    for key, value in config.items():
        expected = _as_written(types[key])
        if isinstance(value, int) and not isinstance(value, bool) and "float" in str(expected):
            value = float(value)
        try:
            check_type(value, expected)
        except TypeCheckError as e:
            raise ConfigError(f"model_conf.supernet: {key} {e}") from None
        config[key] = tuple(value) if isinstance(value, list) else value
    return cls(**config).resolve(num_units, units_per_layer)

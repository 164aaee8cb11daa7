"""What the two scored methods of Xu et al. (Interspeech 2024) share: learned scores, two stages.

Stage 1 (``stage1_steps`` updates) learns the scores; its passes are the
method's own. At the first update of stage 2 the scores are frozen, and each
update trains the largest net (with stochastic depth on the units outside the
smallest subnet), the smallest subnet and one medium subnet drawn uniformly
(the "sandwich rule"), all with hard nested masks.
"""

import dataclasses
import logging
from dataclasses import dataclass
from typing import ClassVar, Dict, List, Optional, Tuple

import torch

from espnet_layerprune.core.units import DROP_MODES as MODES
from espnet_layerprune.supernet.config import SupernetConfig, fail
from espnet_layerprune.supernet.method import SupernetMethod
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.scores import nested_masks, top_blocks


STAGE1_HEADS = ("nearest", "smallest")


@dataclass(frozen=True)
class StagedConfig(SupernetConfig):
    """The options of both scored methods.

    Attributes:
        stage1_steps: Optimizer updates of stage 1 (it or ``stage1_fraction`` is needed; ``0``
            skips stage 1 and freezes the initial scores).
        stage1_fraction: Stage 1 as a fraction of all updates, in ``(0, 1)``; the training entry
            point turns it into ``stage1_steps`` from ``max_epoch`` and the number of batches.
        subnet_weight: Loss weight of each subnet pass (stage 1's gated subnet; stage 2's
            smallest and medium subnets).
        stage1_stochastic_depth: Skip probability, in stage 1, of the supernet's units that the
            current subnet leaves out.
        stage2_stochastic_depth: Skip probability, in stage 2, of the largest net's units outside
            the smallest subnet (kept ones are rescaled).
        init_score: Initial score of every unit (default: the method's ``default_init_score``).
        init_score_jitter: Add a uniform draw in ``[-j, j]`` (seeded by ``seed``) to every initial
            score, ``j >= 0``. ``0`` (default): all scores start equal, so the first hard top-k breaks
            the ties by unit index (low-index units first).
        stochastic_depth_mode: How the stage-1/2 supernet passes draw their skips: ``batch`` (one
            draw per mini-batch, skipped units not computed) or ``row`` (one per sequence, as the
            reference code of Xu et al. 2024).
        stage1_head: With ``per_size_ctc``, the head that reads stage 1's gated subnet of ``k``
            units: ``nearest`` (default: the head of the smallest size ``>= k``) or ``smallest``
            (the smallest size's head throughout, as the reference code).
    """

    stage1_steps: Optional[int] = None
    stage1_fraction: Optional[float] = None
    subnet_weight: float = 0.3
    stage1_stochastic_depth: float = 0.0
    stage2_stochastic_depth: float = 0.3
    init_score: Optional[float] = None
    init_score_jitter: float = 0.0
    stochastic_depth_mode: str = "batch"
    stage1_head: str = "nearest"
    default_init_score: ClassVar[float] = 0.5

    def _check_sizes(self, sizes: List[int]) -> None:
        if sizes[0] >= self.num_units:
            fail("sizes", f"needs a size below {self.num_units} (all units) for method {self.method}, got {sizes}")

    def _check(self) -> None:
        super()._check()
        if not self.subnet_weight >= 0.0:
            fail("subnet_weight", f"must be >= 0, got {self.subnet_weight}")
        for option in ("stage1_stochastic_depth", "stage2_stochastic_depth"):
            if not 0.0 <= getattr(self, option) < 1.0:
                fail(option, f"must be in [0, 1), got {getattr(self, option)}")
        if not self.init_score_jitter >= 0.0:
            fail("init_score_jitter", f"must be >= 0, got {self.init_score_jitter}")
        if self.stochastic_depth_mode not in MODES:
            fail("stochastic_depth_mode", f"must be one of {MODES}, got {self.stochastic_depth_mode!r}")
        if self.stage1_head not in STAGE1_HEADS:
            fail("stage1_head", f"must be one of {STAGE1_HEADS}, got {self.stage1_head!r}")

    def _derived(self) -> "StagedConfig":
        c = dataclasses.replace(super()._derived(), stage1_steps=self._checked_stage1())
        if c.total_steps is not None and c.stage1_steps >= c.total_steps:
            fail(
                "stage1_steps",
                f"({c.stage1_steps}) must be less than total_steps ({c.total_steps}), "
                "the number of updates of the whole training, so that stage 2 runs",
            )
        if c.init_score is None:
            c = dataclasses.replace(c, init_score=c.default_init_score)
        return c

    def _checked_stage1(self) -> int:
        if self.stage1_fraction is not None:
            if self.stage1_steps is not None:
                fail("stage1_fraction", "and stage1_steps both set; give one of them")
            if not 0.0 < self.stage1_fraction < 1.0:
                fail("stage1_fraction", f"must be in (0, 1), got {self.stage1_fraction}")
            if self.total_steps is None:
                fail(
                    "stage1_fraction",
                    "needs total_steps (the training entry point fills it in from max_epoch "
                    "and the batches per epoch; set stage1_steps when building the model yourself)",
                )
            return max(1, round(self.stage1_fraction * self.total_steps))
        if self.stage1_steps is None:
            fail(
                "stage1_steps",
                f"is required for method {self.method}: the number of optimizer updates "
                "that learn the scores before the masks are frozen (or stage1_fraction, "
                "a fraction of all updates)",
            )
        if self.stage1_steps < 0:
            fail("stage1_steps", f"must be >= 0, got {self.stage1_steps}")
        return self.stage1_steps


class StagedMethod(SupernetMethod):
    """Learned scores, stage 2 and freezing; subclasses define :meth:`stage1_passes` and
    :meth:`subnet_size` (stage 1's gated subnet)."""

    def initial_scores(self) -> torch.Tensor:
        c = self.config
        scores = torch.full((c.num_units,), float(c.init_score))
        if c.init_score_jitter > 0.0:
            g = torch.Generator().manual_seed(c.seed)
            scores += c.init_score_jitter * (2.0 * torch.rand(c.num_units, generator=g) - 1.0)
        return scores

    def stage1_head_size(self, k: int) -> int:
        """The size whose head reads stage 1's gated subnet of ``k`` units."""
        return self.config.sizes[0] if self.config.stage1_head == "smallest" else k

    def stage_at(self, step: int) -> int:
        """1 or 2."""
        return 1 if step < self.config.stage1_steps else 2

    def subnet_size(self, step: int) -> int:  # pragma: no cover
        """Units of stage 1's gated subnet at ``step`` (the ``k`` of the schedule)."""
        raise NotImplementedError

    def stage1_passes(self, net, step: int) -> List[SubnetPass]:  # pragma: no cover
        raise NotImplementedError

    def medium_size(self, step: int) -> Optional[int]:
        """Stage 2's medium subnet at ``step``: uniform over the sizes between
        the smallest and the largest, from a generator seeded with (seed, step)."""
        mediums = self.config.sizes[1:-1]
        if not mediums:
            return None
        g = torch.Generator().manual_seed((self.config.seed * 1_000_003 + step) % (2**63))
        return mediums[int(torch.randint(len(mediums), (1,), generator=g))]

    def before_update(self, net, step: int) -> None:
        if not net.is_frozen and step >= self.config.stage1_steps:
            net.freeze()
            logging.info(
                "supernet: stage 2 from update %d, frozen masks %s",
                step, dict(zip(self.config.sizes, nested_masks(net.frozen_scores, self.config.sizes))),
            )

    def train_passes(self, net, step: int) -> List[SubnetPass]:
        if self.stage_at(step) == 1:
            return self.stage1_passes(net, step)
        c = self.config
        smallest, largest = c.sizes[0], c.sizes[-1]
        wanted = [largest, smallest]
        medium = self.medium_size(step)
        if medium is not None:
            wanted.append(medium)
        masks = dict(zip(wanted, nested_masks(net.frozen_scores, wanted)))
        inside = set(masks[smallest])
        drop = tuple(0.0 if u in inside else c.stage2_stochastic_depth for u in net.all_units)
        passes = [SubnetPass("supernet", c.supernet_weight, largest, masks[largest], None, None, drop,
                             c.stochastic_depth_mode)]
        no_drop = (0.0,) * c.num_units
        for size in wanted[1:]:
            passes.append(SubnetPass(f"size{size}", c.subnet_weight, size, masks[size], None, None, no_drop))
        return passes

    def supernet_pass(self, net, left_out) -> SubnetPass:
        """Stage 1's supernet pass: the units the subnet leaves out are skipped
        with ``stage1_stochastic_depth``."""
        c = self.config
        out = set(left_out)
        drop = tuple(c.stage1_stochastic_depth if u in out else 0.0 for u in net.all_units)
        return SubnetPass("supernet", c.supernet_weight, c.num_units, net.all_units, None, None, drop,
                          c.stochastic_depth_mode)

    def stats(self, net, step: int, training: bool) -> Dict[str, float]:
        s = net.scores.detach()
        out = dict(score_min=s.min().item(), score_max=s.max().item(), score_mean=s.mean().item())
        if training and self.stage_at(step) == 1:
            out["k"] = float(self.subnet_size(step))
        elif training and self.medium_size(step) is not None:
            out["medium_size"] = float(self.medium_size(step))
        return out

    def size_units(self, net, size: int, quiet: bool = False) -> Tuple[int, ...]:
        """Top-``size`` of the (frozen) scores; before stage 2 the current ones (with a
        warning unless ``quiet``)."""
        if not net.is_frozen and not quiet:
            logging.warning(
                "supernet: masks are not frozen yet (stage 2 not reached: %d of %d "
                "stage-1 updates done); using the current scores",
                net.step, self.config.stage1_steps,
            )
        return nested_masks(net.ranking_scores(), [size])[0]

    def depth_layers(self, net, depth: int) -> Tuple[int, ...]:
        """The ``depth`` blocks whose units' scores sum highest."""
        return top_blocks(net.ranking_scores(), self.config.units_per_layer, depth)


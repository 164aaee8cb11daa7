"""The supernet: schedule state, learned scores and frozen masks of a dynamic-size encoder.

Xu et al., "Dynamic encoder size based on data-driven layer-wise pruning"
(Interspeech 2024): one encoder (the supernet) holds several subnets of given
sizes (numbers of kept units) with full parameter sharing. The method
(:mod:`.stochastic_depth`, :mod:`.simple_top_k`, :mod:`.iterative_zero_out`)
decides, for one update, the list of :class:`~.passes.SubnetPass` that the model
runs through the encoder. A fourth method is one new class with the same hooks.

State (update counter, resets done, frozen scores) lives in buffers, so it is
saved in ESPnet checkpoints and a resumed run continues exactly; the only
randomness (the medium subnet) comes from a generator seeded from ``(seed,
update)``, so all workers of a distributed run draw the same subnet.
"""

import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from espnet_layerprune.supernet.scores import nested_masks, top_blocks
from espnet_layerprune.supernet.config import SupernetConfig
from espnet_layerprune.supernet.iterative_zero_out import IterativeZeroOutMethod
from espnet_layerprune.supernet.passes import SubnetPass
from espnet_layerprune.supernet.simple_top_k import SimpleTopKMethod
from espnet_layerprune.supernet.stochastic_depth import StochasticDepthMethod

METHOD_CLASSES = {
    "stochastic_depth": StochasticDepthMethod,
    "simple_top_k": SimpleTopKMethod,
    "iterative_zero_out": IterativeZeroOutMethod,
}


class Supernet(torch.nn.Module):
    """Schedule, learned scores and frozen masks (see :class:`SupernetConfig` for the options)."""

    def __init__(self, config: SupernetConfig):
        super().__init__()
        self.config = config
        self.method_impl = METHOD_CLASSES[config.method](config)
        U = config.num_units
        self.scores = (
            torch.nn.Parameter(torch.full((U,), float(config.init_score))) if config.scored else None
        )
        # Checkpointed state. Integers are summed (not averaged) by ESPnet's
        # n-best averaging; ``frozen`` is a float so that an average of frozen
        # and unfrozen checkpoints is still > 0, and ``frozen_scores`` is zero
        # until frozen, so such an average keeps the frozen ranking.
        self.register_buffer("num_forwards", torch.zeros((), dtype=torch.long))
        self.register_buffer("resets_done", torch.zeros((), dtype=torch.long))
        self.register_buffer("frozen", torch.zeros(()))
        self.register_buffer("frozen_scores", torch.zeros(U))
        self.all_units: Tuple[int, ...] = tuple(range(1, U + 1))

    @classmethod
    def from_config(cls, config: Optional[dict], num_units: int, units_per_layer: int = 1) -> "Supernet":
        """Build from ``model_conf.supernet`` (see :meth:`SupernetConfig.from_dict`)."""
        return cls(SupernetConfig.from_dict(config, num_units, units_per_layer))

    # ------------------------------------------------------------ options
    @property
    def method(self) -> str:
        return self.config.method

    @property
    def scored(self) -> bool:
        return self.config.scored

    @property
    def sizes(self) -> Tuple[int, ...]:
        return self.config.sizes

    @property
    def num_units(self) -> int:
        return self.config.num_units

    # ------------------------------------------------------------ schedule
    @property
    def step(self) -> int:
        """Optimizer updates done so far (training forward passes / accum_grad)."""
        return int(self.num_forwards) // self.config.accum_grad

    def stage_at(self, step: int) -> int:
        """1 or 2 for the scored methods; 0 (no stages) for ``stochastic_depth``."""
        if not self.scored:
            return 0
        return 1 if step < self.config.stage1_steps else 2

    @property
    def is_frozen(self) -> bool:
        """Whether the stage-2 masks have been frozen."""
        return bool(self.frozen.item() > 0)

    @torch.no_grad()
    def freeze(self) -> None:
        self.frozen_scores.copy_(self.scores.detach())
        self.frozen.fill_(1.0)

    def subnet_size(self, step: int) -> int:
        """Units of stage 1's gated subnet at ``step`` (the ``k`` of the schedule)."""
        return self.method_impl.subnet_size(self, step)

    def zero_out_iteration(self, step: int) -> int:
        """0-based zero-out iteration of a stage-1 update (``iterative_zero_out``)."""
        return self.method_impl.iteration(step)

    def medium_size(self, step: int) -> Optional[int]:
        """Stage 2's medium subnet at ``step``: uniform over the sizes between
        the smallest and the largest, from a generator seeded with (seed, step)."""
        mediums = self.sizes[1:-1]
        if not mediums:
            return None
        g = torch.Generator().manual_seed((self.config.seed * 1_000_003 + step) % (2**63))
        return mediums[int(torch.randint(len(mediums), (1,), generator=g))]

    @torch.no_grad()
    def start_train_step(self) -> int:
        """Count one training forward pass; return the update it belongs to, after
        what happens at update boundaries (zero-out resets, freezing the masks)."""
        step = self.step
        self.method_impl.before_update(self, step)
        self.num_forwards.add_(1)
        return step

    # ------------------------------------------------------------ passes and losses
    def train_passes(self, step: int) -> List[SubnetPass]:
        """The passes of one training update, with their loss weights."""
        return self.method_impl.train_passes(self, step)

    def eval_passes(self) -> List[SubnetPass]:
        """Validation: the net as the encoder is set (its loss is the model's
        loss) and every smaller size (reported only, weight 0: ``cer_ctc_sizeK``
        and ``wer_ctc_sizeK`` per epoch, in train.log and TensorBoard)."""
        return [SubnetPass("supernet", 1.0, self.sizes[-1])] + [
            SubnetPass(f"size{k}", 0.0, k, self.size_units(k, quiet=True)) for k in self.sizes[:-1]
        ]

    def sparsity_loss(self, step: int) -> Optional[torch.Tensor]:
        """The method's extra loss term, unweighted (Iterative-Zero-Out's sparsity
        loss in stage 1), else ``None``."""
        return self.method_impl.extra_loss(self, step)

    def sparsity_weight_for(self, mean_encoder_frames: float) -> float:
        """The sparsity loss weight for a batch (``sparsity_scale: frames`` multiplies
        ``sparsity_weight`` by the batch's mean encoder length: ESPnet's CTC loss is
        summed over an utterance, the paper's was divided by its encoder frames)."""
        c = self.config
        return c.sparsity_weight * (mean_encoder_frames if c.sparsity_scale == "frames" else 1.0)

    def stats(
        self, step: int, labels: Optional[Sequence[str]] = None, training: bool = True
    ) -> Dict[str, float]:
        """Schedule and score summary for ESPnet's reporter."""
        out: Dict[str, float] = {"stage": float(self.stage_at(step)), "supernet_step": float(step)}
        out.update(self.method_impl.stats(self, step, training))
        if self.scored and self.config.report_unit_scores:
            names = labels or [f"u{j + 1}" for j in range(self.num_units)]
            out.update({f"score_{n}": v for n, v in zip(names, self.scores.detach().tolist())})
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
                self.step, self.config.stage1_steps,
            )
        return nested_masks(self.ranking_scores(), [size])[0]

    def depth_layers(self, depth: int) -> Optional[Tuple[int, ...]]:
        """1-based blocks kept at ``depth``: the blocks whose units' scores sum
        highest. ``None`` for ``stochastic_depth`` (keep the first blocks)."""
        if not self.scored:
            return None
        return top_blocks(self.ranking_scores(), self.config.units_per_layer, depth)

    def extra_repr(self) -> str:
        c = self.config
        return f"method={c.method}, sizes={list(c.sizes)}, stage1_steps={c.stage1_steps}"

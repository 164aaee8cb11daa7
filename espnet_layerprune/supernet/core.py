"""The supernet: the state every method shares (update counter, learned scores, frozen masks).

Xu et al., "Dynamic encoder size based on data-driven layer-wise pruning"
(Interspeech 2024): one encoder (the supernet) holds several subnets of given
sizes (numbers of kept units) with full parameter sharing. The method
(:mod:`.stochastic_depth`, :mod:`.simple_top_k`, :mod:`.iterative_zero_out`, each with its own
options) decides, for one update, the list of :class:`~.passes.SubnetPass` that the model runs
through the encoder; :class:`Supernet` keeps the state and is what the model talks to.

State (update counter, resets done, frozen scores) lives in buffers, so it is
saved in ESPnet checkpoints and a resumed run continues exactly; the only
randomness (the medium subnet) comes from a generator seeded from ``(seed,
update)``, so all workers of a distributed run draw the same subnet.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import torch

from espnet_layerprune.supernet.config import parse
from espnet_layerprune.supernet.method import SupernetMethod
from espnet_layerprune.supernet.methods import METHODS
from espnet_layerprune.supernet.passes import SubnetPass


class Supernet(torch.nn.Module):
    """Schedule state, learned scores and frozen masks of one method.

    Attributes:
        method: The method (its hooks; ``method.config`` are its options).
        config: The method's resolved options.
        scores: ``(U,)`` learned unit scores, or ``None`` for a method that learns none.
    """

    def __init__(self, method: SupernetMethod):
        super().__init__()
        self.method = method
        self.config = method.config
        U = self.config.num_units
        initial = method.initial_scores()
        self.scores = torch.nn.Parameter(initial) if initial is not None else None
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
        """Build from ``model_conf.supernet`` (see :func:`~.config.parse`)."""
        resolved = parse(config, {name: m.config_class for name, m in METHODS.items()}, num_units, units_per_layer)
        return cls(METHODS[resolved.method](resolved))

    # ------------------------------------------------------------ state
    @property
    def scored(self) -> bool:
        """Whether the method learns unit scores (and decoding reads masks from them)."""
        return self.scores is not None

    @property
    def sizes(self) -> Tuple[int, ...]:
        """The trained sizes (with :meth:`size_units` and :meth:`depth_layers`, what decoding
        asks learned masks)."""
        return self.config.sizes

    @property
    def step(self) -> int:
        """Optimizer updates done so far (training forward passes / accum_grad)."""
        return int(self.num_forwards) // self.config.accum_grad

    @property
    def is_frozen(self) -> bool:
        """Whether the stage-2 masks have been frozen."""
        return bool(self.frozen.item() > 0)

    @torch.no_grad()
    def freeze(self) -> None:
        self.frozen_scores.copy_(self.scores.detach())
        self.frozen.fill_(1.0)

    @torch.no_grad()
    def start_train_step(self) -> int:
        """Count one training forward pass; return the update it belongs to, after
        what happens at update boundaries (zero-out resets, freezing the masks)."""
        step = self.step
        self.method.before_update(self, step)
        self.num_forwards.add_(1)
        return step

    # ------------------------------------------------------------ passes and losses
    def train_passes(self, step: int) -> List[SubnetPass]:
        """The passes of one training update, with their loss weights."""
        return self.method.train_passes(self, step)

    def eval_passes(self) -> List[SubnetPass]:
        """Validation: the net as the encoder is set (its loss is the model's
        loss) and every smaller size (reported only, weight 0: ``cer_ctc_sizeK``
        and ``wer_ctc_sizeK`` per epoch, in train.log and TensorBoard)."""
        return [SubnetPass("supernet", 1.0, self.sizes[-1])] + [
            SubnetPass(f"size{k}", 0.0, k, self.size_units(k, quiet=True)) for k in self.sizes[:-1]
        ]

    def extra_loss(self, step: int, encoder_lengths: torch.Tensor) -> Optional[Tuple[torch.Tensor, float]]:
        """``(loss, weight)`` of the method's term besides the passes' losses (Iterative-Zero-Out's
        sparsity loss in stage 1), else ``None``."""
        return self.method.extra_loss(self, step, encoder_lengths)

    def stats(
        self, step: int, labels: Optional[Sequence[str]] = None, training: bool = True
    ) -> Dict[str, float]:
        """Schedule and score summary for ESPnet's reporter."""
        out: Dict[str, float] = {"stage": float(self.method.stage_at(step)), "supernet_step": float(step)}
        out.update(self.method.stats(self, step, training))
        if self.scores is not None and self.config.report_unit_scores:
            names = labels or [f"u{j + 1}" for j in range(self.config.num_units)]
            out.update({f"score_{n}": v for n, v in zip(names, self.scores.detach().tolist())})
        return out

    # ------------------------------------------------------------ masks
    def ranking_scores(self) -> Optional[torch.Tensor]:
        """The scores masks are read from: frozen ones once stage 2 started."""
        if self.scores is None:
            return None
        return self.frozen_scores if self.is_frozen else self.scores.detach()

    def size_units(self, size: int, quiet: bool = False) -> Tuple[int, ...]:
        """1-based units kept at ``size``: top-``size`` of the (frozen) scores, or the first
        ``size`` units for a method without scores. Before stage 2 the current scores are used
        (with a warning unless ``quiet``)."""
        if not 1 <= size <= self.config.num_units:
            raise ValueError(f"size must be in [1, {self.config.num_units}], got {size}")
        return self.method.size_units(self, size, quiet)

    def depth_layers(self, depth: int) -> Optional[Tuple[int, ...]]:
        """1-based blocks kept at ``depth``: the blocks whose units' scores sum
        highest. ``None`` for a method without scores (keep the first blocks)."""
        return self.method.depth_layers(self, depth)

    def extra_repr(self) -> str:
        c = self.config
        return f"method={c.method}, sizes={list(c.sizes)}, stage1_steps={getattr(c, 'stage1_steps', 0)}"

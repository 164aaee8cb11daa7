"""What prunable encoders share: the one loop that runs the units a run plan selects.

An encoder has ``num_layers`` blocks of ``units_per_layer`` prunable units each
(1 for transformer blocks, 2 for MHSA/FFN halves, up to 4 for conformer
sub-modules). Its forward pass has two halves:

* :meth:`PrunableEncoderMixin.embed_input`: the front end (subsampling, positional
  encoding), which no pruning touches. A supernet update runs it once and
  feeds the result to every subnet pass; dev-set evaluation caches it;
* the blocks, run by one loop (:meth:`PrunableEncoderMixin._blocks`) over one frozen
  :class:`~espnet_layerprune.encoders.run_plan.RunPlan`. Three things decide whether, and how
  strongly, each unit runs in one pass, all of them in the plan:

  1. the units that may run (the plan's ``units``: the encoder's own, a ``pruned()`` block's,
     one decoding call's, or one supernet pass's);
  2. training-time skipping (stochastic depth, LayerDrop): drawn per pass, only in ``train()``;
  3. optional gates (:class:`~espnet_layerprune.encoders.run_plan.UnitGates`) multiplying the
     units' branches.

A unit's scale is ``None`` when it is skipped (nothing is computed), else a
float or a tensor multiplying its residual branch. A block with no open unit is
skipped entirely (its final LayerNorm too), so a gated subnet in training and
the same subnet pruned for decoding are the same network.

Early exit (a plan with an :class:`~espnet_layerprune.encoders.run_plan.ExitRule`) runs the
networks of increasing depth that ``--prune_depth N`` runs, through the same loop: each one
continues from the longest run of blocks an earlier one already computed (with the first-N
rule, every depth adds one block), and the pass ends where the stop rule says.
:meth:`PrunableEncoderMixin.depth_outputs` is that with a stop rule that records every output.
"""

from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from espnet2.legacy.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet2.legacy.nets.pytorch_backend.transformer.subsampling import (
    Conv1dSubsampling2,
    Conv2dSubsampling,
    Conv2dSubsampling1,
    Conv2dSubsampling2,
    Conv2dSubsampling6,
    Conv2dSubsampling8,
    TooShortUttError,
    check_short_utt,
)

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.core.units import check_layers, layers_of_units, units_of_layers
from espnet_layerprune.encoders import precision
from espnet_layerprune.encoders.layer_drop import (
    GRANULARITIES,
    MODES,
    drop_probabilities,
    sample_row_scales,
    sample_scales,
)
from espnet_layerprune.encoders.run_plan import ExitRule, RunPlan, UnitGates, active_plan, running

_SUBSAMPLING = (
    Conv1dSubsampling2,
    Conv2dSubsampling,
    Conv2dSubsampling1,
    Conv2dSubsampling2,
    Conv2dSubsampling6,
    Conv2dSubsampling8,
)


def expand_interctc_layer_idx(
    value: Union[Sequence[int], str], num_layers: int
) -> List[int]:
    """Turn ``interctc_layer_idx`` into a list of 1-based layers below the top.

    Accepts a list (as ESPnet), ``"all"`` (every layer but the last) or
    ``"every_K"`` (layers K, 2K, ... below the last).

    Raises:
        ConfigError: Bad value. It is both a ``ValueError`` and, like the stock
            encoders' check, an ``AssertionError``.
    """
    if isinstance(value, str):
        if value == "all":
            return list(range(1, num_layers))
        if value.startswith("every_") and value[6:].isdigit() and int(value[6:]) > 0:
            step = int(value[6:])
            return list(range(step, num_layers, step))
        raise ConfigError(
            "interctc_layer_idx must be a list of layers, 'all' or 'every_K' "
            f"(K >= 1), got {value!r}"
        )
    layers = sorted(set(int(v) for v in value))
    bad = [v for v in layers if not 0 < v < num_layers]
    if bad:
        raise ConfigError(
            f"interctc_layer_idx entries must be in [1, {num_layers - 1}] "
            f"(the last layer is the final CTC), got {bad}"
        )
    return layers


@dataclass(frozen=True)
class Embedded:
    """The encoder input after the front end, shared by every subnet of one input.

    Attributes:
        xs: ``(B, T', D)`` embedded frames.
        pos_emb: Relative positional embedding (conformer ``rel_pos``), or ``None``.
        masks: ``(B, 1, T')`` validity mask (``True`` = a real frame).
    """

    xs: torch.Tensor
    pos_emb: Optional[torch.Tensor]
    masks: torch.Tensor

    @property
    def lengths(self) -> torch.Tensor:
        return self.masks.squeeze(1).sum(1)


class PrunableEncoderMixin:
    """Run-time pruning, stochastic depth, unit gates and early exit for ESPnet encoders.

    Subclasses build the stock encoder, then call :meth:`_init_prunable`, and
    implement :meth:`_run_block`.
    """

    unit_names: Tuple[str, ...] = ("block",)
    #: Sub-modules of a block that belong to each unit (``None``: the whole block),
    #: for parameter counts of pruned models.
    unit_modules: dict = {"block": None}
    #: ``None`` (float32) or ``torch.bfloat16``: the blocks and the front end run under
    #: autocast to it, outputs are float32 (:mod:`espnet_layerprune.encoders.precision`). Not saved in
    #: checkpoints: the trainer (``--use_amp true`` on CPU) or the decoder (``--precision``) sets it.
    compute_dtype: Optional[torch.dtype] = None
    #: Whether a pass returns the intermediate CTC outputs (ESPnet's format ``((xs, [(layer, out),
    #: ...]), olens, None)``). True, as the stock encoders, for training and validation; a decoder
    #: that reads only the final output sets it False, and the layers of ``interctc_layer_idx`` then
    #: cost nothing beyond their block (self-conditioning still runs).
    return_intermediate: bool = True
    #: What the stock encoder feeds intermediate CTC when ``interctc_normalize`` is not given:
    #: ``None`` = through ``after_norm`` when ``normalize_before`` (ESPnet's transformer and
    #: conformer), ``False`` = the raw block output (ESPnet's E-Branchformer).
    stock_interctc_normalize: Optional[bool] = None

    def _setup_units(self) -> None:
        """Set ``unit_names`` from the built layers (subclasses whose units vary)."""

    def _init_prunable(
        self,
        num_layers: int,
        interctc_layer_idx: Union[Sequence[int], str],
        stochastic_depth_rate: Union[float, Sequence[float]],
        stochastic_depth_schedule: str,
        layer_drop_rate: float,
        stochastic_depth_granularity: str = "block",
        prune_layers: Optional[Sequence[int]] = None,
        prune_units: Optional[Sequence[int]] = None,
        interctc_normalize: Optional[bool] = None,
        stochastic_depth_mode: str = "batch",
    ) -> None:
        if stochastic_depth_mode not in MODES:
            raise ConfigError(f"stochastic_depth_mode must be one of {MODES}, got {stochastic_depth_mode!r}")
        self.stochastic_depth_mode = stochastic_depth_mode
        if interctc_normalize and not self.normalize_before:
            raise ConfigError("interctc_normalize: true needs normalize_before: true (the final LayerNorm "
                              "after_norm exists only then)")
        stock = self.normalize_before if self.stock_interctc_normalize is None else self.stock_interctc_normalize
        self.interctc_normalize = stock if interctc_normalize is None else interctc_normalize
        if prune_units is not None and prune_layers is not None:
            raise ConfigError("give either prune_units or prune_layers, not both")
        if layer_drop_rate and (
            not isinstance(stochastic_depth_rate, (int, float)) or stochastic_depth_rate
        ):
            raise ConfigError(
                "set either stochastic_depth_rate (skip + rescale by 1/(1-p)) or "
                "layer_drop_rate (skip, no rescaling), not both"
            )
        if stochastic_depth_granularity not in GRANULARITIES:
            raise ConfigError(
                f"stochastic_depth_granularity must be one of {GRANULARITIES}, "
                f"got {stochastic_depth_granularity!r}"
            )
        self.num_layers = num_layers
        self.units_per_layer = len(self.unit_names)
        self.interctc_layer_idx = expand_interctc_layer_idx(interctc_layer_idx, num_layers)
        self._interctc_blocks = frozenset(i - 1 for i in self.interctc_layer_idx)
        if layer_drop_rate:
            probs = drop_probabilities(layer_drop_rate, num_layers, "constant", "layer_drop_rate")
            self._rescale = False
        else:
            probs = drop_probabilities(
                stochastic_depth_rate, num_layers, stochastic_depth_schedule
            )
            self._rescale = True
        # A block's probability applies to each of its units; with "block"
        # granularity they share one draw (the whole block is skipped).
        self.stochastic_depth_granularity = stochastic_depth_granularity
        self.unit_drop_probs = tuple(p for p in probs for _ in range(self.units_per_layer))
        # A fixed set from the config (exported or statically pruned models), else all.
        if prune_layers is not None:
            self.keep_layers(prune_layers)
        else:
            self.keep_units(prune_units)

    # ------------------------------------------------------------------ which units run
    @property
    def num_units(self) -> int:
        return self.num_layers * self.units_per_layer

    @property
    def skips_in_training(self) -> bool:
        """Whether stochastic depth or LayerDrop skips units in training."""
        return any(p > 0.0 for p in self.unit_drop_probs)

    def unit_labels(self) -> List[str]:
        """Human-readable unit names, e.g. ``["L1.ffn1", "L1.mhsa", ...]``."""
        return [f"L{i + 1}.{n}" for i in range(self.num_layers) for n in self.unit_names]

    def plan(
        self,
        units: Optional[Sequence[int]] = None,
        gates: Optional[UnitGates] = None,
        drop_probs: Optional[Sequence[float]] = None,
        drop_granularity: str = "unit",
        early_exit: Optional[ExitRule] = None,
        drop_mode: str = "batch",
    ) -> RunPlan:
        """A run plan of this encoder (see :class:`~espnet_layerprune.encoders.run_plan.RunPlan`).

        Args:
            units: 1-based units that may run (default: all).
            gates: Gates multiplying the units' branches.
            drop_probs: Training skip probability per unit (default: the encoder's stochastic
                depth / LayerDrop schedule, drawn with its ``stochastic_depth_granularity``).
            drop_granularity: How ``drop_probs`` are drawn: ``unit`` (each unit on its own) or
                ``block`` (a block's units share one draw).
            early_exit: Candidate networks tried in order, and when to stop (eval only).
            drop_mode: How ``drop_probs`` are drawn: ``batch`` (once per mini-batch) or ``row``
                (once per sequence).

        Raises:
            ConfigError: Units out of range or repeated.
        """
        U, L = self.units_per_layer, self.num_layers
        if units is None:
            units = tuple(range(1, L * U + 1))
        else:
            units = check_layers(sorted(units), L * U, option="kept units")
        kept = set(units)
        in_pass = kept if gates is None or gates.open is None else {u for u in kept if gates.open[u - 1]}
        present = tuple(any(i * U + k + 1 in in_pass for k in range(U)) for i in range(L))
        blocks = tuple(i for i in range(L) if present[i])
        if drop_mode not in MODES:
            raise ConfigError(f"drop_mode must be one of {MODES}, got {drop_mode!r}")
        return RunPlan(
            units, gates, None if drop_probs is None else tuple(drop_probs), drop_granularity,
            drop_mode=drop_mode, early_exit=early_exit, scales=tuple(1.0 if j + 1 in kept else None for j in range(L * U)), present=present,
            blocks=blocks, top=blocks[-1] if blocks else -1, end=(units[-1] - 1) // U + 1,
        )

    def active_plan(self) -> RunPlan:
        """The plan a forward pass runs now: this context's (``pruned()``, ``exiting()``), else the
        encoder's own (``keep_units``)."""
        return active_plan(self) or self._plan

    @property
    def kept_units(self) -> Tuple[int, ...]:
        """1-based units that run (all of them when unpruned); inside :meth:`pruned`,
        this context's units."""
        return self.active_plan().units

    @property
    def kept_layers(self) -> Tuple[int, ...]:
        """1-based blocks with at least one unit that runs."""
        return layers_of_units(self.kept_units, self.units_per_layer)

    def keep_layers(self, layers: Optional[Sequence[int]]) -> None:
        """Run only these 1-based blocks (in their order); ``None`` runs all."""
        if layers is None:
            self.keep_units(None)
            return
        layers = check_layers(layers, self.num_layers, option="kept layers")
        self.keep_units(units_of_layers(layers, self.units_per_layer))

    def keep_units(self, units: Optional[Sequence[int]]) -> None:
        """Run only these 1-based units; ``None`` runs all."""
        self._plan = self.plan(units)

    def pruned(self, layers: Optional[Sequence[int]] = None, units=None):
        """Keep only ``layers`` (or ``units``) inside the ``with`` block, in this context
        only: e.g. one decode at its own depth while other threads decode at theirs.
        No weight is copied; the encoder's own kept units are unchanged afterwards."""
        if units is None and layers is not None:
            units = units_of_layers(check_layers(layers, self.num_layers, option="kept layers"),
                                    self.units_per_layer)
        return running(self, self.plan(units))

    def depth_plans(
        self, networks: Optional[Mapping[int, Sequence[int]]] = None, depths: Optional[Iterable[int]] = None
    ) -> Tuple[Tuple[int, RunPlan], ...]:
        """``(depth, plan)`` of the networks early exit tries, in order.

        Args:
            networks: ``{depth: kept units}``, what ``--prune_depth depth`` keeps. Default: the
                first ``depth`` blocks, for every depth.
            depths: The depths to try (default: every depth ``networks`` has); the full depth is
                always tried, last.
        """
        L = self.num_layers
        if networks is None:
            networks = {d: units_of_layers(range(1, d + 1), self.units_per_layer) for d in range(1, L + 1)}
        chosen = sorted((set(networks) if depths is None else set(depths) & set(networks)) | {L})
        return tuple((d, self.plan(networks[d])) for d in chosen)

    def exiting(self, stop: Callable[[int, torch.Tensor], bool], candidates=None):
        """Inside the ``with`` block (this context only, eval mode), :meth:`forward` tries the
        networks of increasing depth (``candidates`` from :meth:`depth_plans`; default: the first
        ``N`` blocks for N = 1..L) and returns the output of the first depth ``N`` for which
        ``stop(N, output)`` is true (the full depth if none): confidence-based early exit."""
        rule = ExitRule(self.depth_plans() if candidates is None else tuple(candidates), stop)
        return running(self, self.plan(early_exit=rule))

    # ------------------------------------------------------------------ the front end
    def embed_input(
        self, xs_pad: torch.Tensor, ilens: torch.Tensor, masks: Optional[torch.Tensor] = None
    ) -> Embedded:
        """The front end: subsampling and positional encoding.

        Args:
            xs_pad: ``(B, T, D)`` features.
            ilens: ``(B,)`` lengths.
            masks: Optional padding mask (``True`` = pad), as in ESPnet.
        """
        with precision.autocast(self.compute_dtype, xs_pad.device.type):
            return self._embed_input(xs_pad, ilens, masks)

    def _embed_input(self, xs_pad, ilens, masks) -> Embedded:
        if masks is None:
            masks = (~make_pad_mask(ilens)[:, None, :]).to(xs_pad.device)
        else:
            masks = ~masks[:, None, :]
        if self.embed is None:
            xs = xs_pad
        elif isinstance(self.embed, _SUBSAMPLING):
            short, limit = check_short_utt(self.embed, xs_pad.size(1))
            if short:
                raise TooShortUttError(
                    f"has {xs_pad.size(1)} frames and is too short for subsampling "
                    f"(it needs more than {limit} frames), return empty results",
                    xs_pad.size(1),
                    limit,
                )
            xs, masks = self.embed(xs_pad, masks)
        else:
            xs = self.embed(xs_pad)
        pos_emb = None
        if isinstance(xs, tuple):
            xs, pos_emb = xs
        return Embedded(xs, pos_emb, masks)

    # ------------------------------------------------------------------ the blocks
    def unit_scales(self, plan: Optional[RunPlan] = None, batch_size: int = 1) -> List:
        """One pass's scale per unit: ``None`` (skipped), a float or a tensor: the plan's units
        (default: :meth:`active_plan`), with training-time skips drawn (per sequence of the
        ``batch_size`` in ``row`` mode) and gates applied."""
        plan = self.active_plan() if plan is None else plan
        scales: List = list(plan.scales)
        if plan.drop_probs is None:
            probs, granularity = self.unit_drop_probs, self.stochastic_depth_granularity
            mode = self.stochastic_depth_mode
        else:
            probs, granularity, mode = plan.drop_probs, plan.drop_granularity, plan.drop_mode
        if self.training and any(p > 0.0 for p in probs):
            group = self.units_per_layer if granularity == "block" else 1
            if mode == "row":
                drawn = sample_row_scales(probs, self._rescale, batch_size, group_size=group)
            else:
                drawn = sample_scales(probs, self._rescale, group_size=group)
            scales = [None if s is None or (isinstance(d, float) and d == 0.0) else d
                      for s, d in zip(scales, drawn)]
        if plan.gates is not None:
            scales = [None if s is None else plan.gates.values[j] * s for j, s in enumerate(scales)]
        return scales

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: torch.Tensor = None,
        masks: torch.Tensor = None,
        ctc=None,
        return_all_hs: bool = False,
    ):
        """ESPnet's encoder interface: :meth:`embed_input`, then the blocks of :meth:`active_plan`
        (with its early exit, in eval mode).

        Args:
            xs_pad: ``(B, T, D)`` features.
            ilens: ``(B,)`` lengths.
            prev_states: Unused (ESPnet interface).
            masks: Optional padding mask (``True`` = pad), as in ESPnet.
            ctc: CTC module, needed for ``interctc_use_conditioning``.
            return_all_hs: Also return every running block's raw output.
        """
        embedded = self.embed_input(xs_pad, ilens, masks)
        plan = self.active_plan()
        if plan.early_exit is not None and not self.training:
            return self._run_exits(embedded, plan.early_exit, ctc), embedded.lengths, None
        return self._run(embedded, plan, ctc, return_all_hs)

    def run_units(
        self,
        embedded: Embedded,
        units: Optional[Sequence[int]] = None,
        gates: Optional[UnitGates] = None,
        drop_probs: Optional[Sequence[float]] = None,
        drop_granularity: str = "unit",
        ctc=None,
        return_all_hs: bool = False,
        drop_mode: str = "batch",
    ):
        """Run the blocks on an embedded input: of :meth:`active_plan`, or of the plan these
        arguments make (see :meth:`plan`; ``units`` default to the kept ones).

        ``drop_mode`` (``batch`` or ``row``) says how ``drop_probs`` are drawn.

        Returns:
            ``((xs, intermediates), olens, None)`` when intermediate outputs exist,
            else ``(xs, olens, None)``, exactly like ESPnet's encoders.
            Intermediates are ``(layer, normed_output)`` pairs for the running
            layers of ``interctc_layer_idx`` (the top running layer excluded), or
            the raw outputs of all running blocks with ``return_all_hs``.
        """
        if units is None and gates is None and drop_probs is None:
            plan = self.active_plan()
        else:
            plan = self.plan(self.kept_units if units is None else units, gates, drop_probs, drop_granularity,
                             drop_mode=drop_mode)
        return self._run(embedded, plan, ctc, return_all_hs)

    def depth_outputs(self, embedded: Embedded, ctc=None, candidates=None) -> List[torch.Tensor]:
        """The output of every network early exit tries (``candidates`` from :meth:`depth_plans`;
        default: the first N blocks, N = 1..L), in order: the early-exit pass with a stop rule that
        records and never stops. What decoding at ``--prune_depth N`` reads, for every N at once."""
        outputs: List[torch.Tensor] = []

        def record(depth: int, out: torch.Tensor) -> bool:
            outputs.append(out)
            return False

        self._run_exits(embedded, ExitRule(self.depth_plans() if candidates is None else tuple(candidates),
                                           record), ctc)
        return outputs

    def _run(self, embedded: Embedded, plan: RunPlan, ctc, return_all_hs: bool):
        """One pass of ``plan``: this pass's scales, the blocks, ESPnet's return format."""
        scales = self.unit_scales(plan, batch_size=embedded.xs.size(0))
        xs, intermediate_outs = self._blocks(embedded.xs, embedded, plan, scales, ctc, return_all_hs)
        if self.compute_dtype is not None:  # CTC heads and losses read float32
            xs = xs.float()
            intermediate_outs = [
                (o[0], o[1].float()) if isinstance(o, tuple) else o.float() for o in intermediate_outs
            ]
        olens = embedded.lengths
        if intermediate_outs:
            return (xs, intermediate_outs), olens, None
        return xs, olens, None

    def _run_exits(self, embedded: Embedded, rule: ExitRule, ctc) -> torch.Tensor:
        """Early exit: each candidate network in turn, each continuing from the longest run of
        blocks an earlier one computed; the output of the first the stop rule accepts (of the
        last candidate otherwise)."""
        # What ran so far (the scales of the units up to a block) -> (the hidden state the next
        # block reads, the output whose self-conditioning is still to add, for a former top).
        reads = {(): (embedded.xs, None)}
        for n, (depth, plan) in enumerate(rule.candidates, start=1):
            blocks = plan.blocks
            k = len(blocks) - 1
            while k and self._ran(plan, k) not in reads:
                k -= 1
            xs, pending = reads[self._ran(plan, k)]
            out, states = self._blocks(xs, embedded, plan, plan.scales, ctc, True, blocks[k], pending)
            for j, state in enumerate(states[:-1], start=k + 1):
                reads[self._ran(plan, j)] = (state, None)
            if self.compute_dtype is not None:
                out = out.float()
            if rule.stop(depth, out) or n == len(rule.candidates):
                return out
            conditioned = plan.top in self._interctc_blocks and self.interctc_use_conditioning
            reads[self._ran(plan, len(blocks))] = (states[-1], out if conditioned else None)

    def _ran(self, plan: RunPlan, k: int) -> tuple:
        """What the first ``k`` blocks of ``plan``'s network ran: the scales of the units up to the
        k-th (a key shared by every network that starts the same way)."""
        return plan.scales[: (plan.blocks[k - 1] + 1) * self.units_per_layer] if k else ()

    def _blocks(self, xs, embedded: Embedded, plan: RunPlan, scales: Sequence, ctc,
                return_all_hs: bool = False, start: int = 0, pending=None):
        """The one block loop: from hidden state ``xs`` (what block ``start`` reads), run the
        blocks of ``plan`` with one scale per unit (``None``: skipped), under the encoder's
        compute dtype.

        Returns:
            The output (through the final LayerNorm), and the intermediate outputs (see
            :meth:`run_units`) or, with ``return_all_hs``, what the next block sees after each
            block of the network (self-conditioning included). ``pending``: the output of the
            block before ``start`` whose self-conditioning ``xs`` still lacks (early exit
            continuing past a shorter network's top).
        """
        U = self.units_per_layer
        intermediate_outs = []
        with precision.autocast(self.compute_dtype, xs.device.type):
            if pending is not None:
                xs = self._self_condition(xs, pending, ctc)
            for i, layer in enumerate(islice(self.encoders, start, plan.end), start):
                block_scales = scales[i * U : (i + 1) * U]
                if any(s is not None for s in block_scales):
                    # A block of closed gates runs for their gradient only: its branches
                    # are multiplied by 0 and its final LayerNorm is left out.
                    xs = self._run_block(layer, xs, embedded.pos_emb, embedded.masks, block_scales,
                                         plan.present[i])
                if not plan.present[i]:
                    continue
                if i in self._interctc_blocks and i != plan.top:
                    returned = self.return_intermediate and not return_all_hs
                    if returned or self.interctc_use_conditioning:
                        out = self.ctc_input(xs, i)
                        if returned:
                            intermediate_outs.append((i + 1, out))
                        if self.interctc_use_conditioning:
                            xs = self._self_condition(xs, out, ctc)
                if return_all_hs:  # what the next block sees (after self-conditioning)
                    intermediate_outs.append(xs)
            xs = self.ctc_input(xs, plan.top)
        return xs, intermediate_outs

    def ctc_input(self, xs: torch.Tensor, block: int) -> torch.Tensor:
        """What a CTC head reads from the output ``xs`` of 0-based ``block``: through the final
        LayerNorm (``after_norm``, pre-LN encoders), except at a layer of ``interctc_layer_idx``
        when ``interctc_normalize`` is false (stock E-Branchformer: intermediate CTC reads the raw
        block output, so a network pruned to that layer does too)."""
        if self.normalize_before and (block not in self._interctc_blocks or self.interctc_normalize):
            return self.after_norm(xs)
        return xs

    def _self_condition(self, xs, out, ctc):
        """Self-conditioned CTC: the next block reads ``xs`` plus the (shared) CTC head's
        posteriors of ``out``."""
        return xs + self.conditioning_layer(ctc.softmax(out))

    def kept_parameter_count(self, units: Optional[Sequence[int]] = None) -> Tuple[int, int]:
        """(parameters that run with ``units`` (default: the kept ones), all parameters)."""
        kept = set(self.kept_units if units is None else units)
        total = sum(p.numel() for p in self.parameters())
        dropped = 0
        U = self.units_per_layer
        for i, layer in enumerate(self.encoders):
            flags = [i * U + k + 1 in kept for k in range(U)]
            if not any(flags):
                dropped += sum(p.numel() for p in layer.parameters())
                continue
            for name, k in zip(self.unit_names, flags):
                for attr in () if k else self.unit_modules[name] or ():
                    module = getattr(layer, attr, None)
                    if module is not None:
                        dropped += sum(p.numel() for p in module.parameters())
        return total - dropped, total

    def _run_block(self, layer, x, pos_emb, mask, scales, final_norm: bool):  # pragma: no cover
        raise NotImplementedError

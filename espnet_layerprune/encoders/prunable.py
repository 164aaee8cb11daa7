"""What prunable encoders share: the loop that runs the units a pass selects.

An encoder has ``num_layers`` blocks of ``units_per_layer`` prunable units each
(1 for transformer blocks, 2 for MHSA/FFN halves, up to 4 for conformer
sub-modules). Its forward pass has two public halves:

* :meth:`PrunableEncoderMixin.embed_input`: the front end (subsampling, positional
  encoding), which no pruning touches. A supernet update runs it once and
  feeds the result to every subnet pass; dev-set evaluation caches it;
* :meth:`PrunableEncoderMixin.run_units`: the blocks. Three things decide
  whether, and how strongly, each unit runs in one call:

  1. the kept units: the encoder's static mask (:meth:`keep_layers`,
     :meth:`keep_units`, what decoding sets) or the ``units`` of this call;
  2. training-time skipping (stochastic depth, LayerDrop): only in ``train()``;
  3. optional gates (:class:`UnitGates`) multiplying the units' branches.

A unit's scale is ``None`` when it is skipped (nothing is computed), else a
float or a tensor multiplying its residual branch. A block with no open unit is
skipped entirely (its final LayerNorm too), so a gated subnet in training and
the same subnet pruned for decoding are the same network.
"""

import contextlib
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

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

from espnet_layerprune.encoders import precision
from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.encoders.layer_drop import (
    GRANULARITIES,
    drop_probabilities,
    sample_scales,
)
from espnet_layerprune.core.units import check_layers, layers_of_units, units_of_layers

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


@dataclass(frozen=True)
class UnitGates:
    """Per-unit multipliers of the residual branches for one pass.

    Attributes:
        values: ``(num_units,)`` tensor; gradients flow through it to the scores.
        open: Which units are open in the forward pass, when the gate values are
            exactly 0 or 1 (straight-through top-k); ``None`` when every unit
            contributes (soft or sigmoid gates). A block whose units are all
            closed is skipped entirely, as decoding skips it.
    """

    values: torch.Tensor
    open: Optional[Tuple[bool, ...]] = None


#: Per-thread kept units of :meth:`PrunableEncoderMixin.pruned` (keyed by encoder id), so
#: that threads decoding with one model at different depths do not see each other's.
_THREAD_UNITS = threading.local()


@contextlib.contextmanager
def _overriding(table: dict, key, value):
    """Set ``table[key]`` inside the ``with`` block, then restore what was there (nesting-safe)."""
    saved = table.get(key)
    table[key] = value
    try:
        yield
    finally:
        if saved is None:
            table.pop(key, None)
        else:
            table[key] = saved


def _thread_exits() -> dict:
    """Per-thread early-exit rule of :meth:`PrunableEncoderMixin.exiting` (by encoder id)."""
    if not hasattr(_THREAD_UNITS, "exits"):
        _THREAD_UNITS.exits = {}
    return _THREAD_UNITS.exits


def _thread_units() -> dict:
    if not hasattr(_THREAD_UNITS, "by_encoder"):
        _THREAD_UNITS.by_encoder = {}
    return _THREAD_UNITS.by_encoder


class PrunableEncoderMixin:
    """Run-time pruning, stochastic depth and unit gates for ESPnet encoders.

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
    ) -> None:
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

    # ------------------------------------------------------------------ public API
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

    @property
    def kept_units(self) -> Tuple[int, ...]:
        """1-based units that run (all of them when unpruned); inside :meth:`pruned`,
        this thread's units."""
        override = _thread_units().get(id(self))
        return self._kept_units if override is None else override

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
        if units is None:
            self._kept_units = tuple(range(1, self.num_units + 1))
        else:
            self._kept_units = check_layers(sorted(units), self.num_units, option="kept units")

    @contextlib.contextmanager
    def pruned(self, layers: Optional[Sequence[int]] = None, units=None):
        """Keep only ``layers`` (or ``units``) inside the ``with`` block, in this thread
        only: e.g. one decode at its own depth while other threads decode at theirs.
        No weight is copied; the encoder's own kept units are unchanged afterwards."""
        if units is not None:
            chosen = check_layers(sorted(units), self.num_units, option="kept units")
        elif layers is not None:
            chosen = units_of_layers(check_layers(layers, self.num_layers, option="kept layers"),
                                     self.units_per_layer)
        else:
            chosen = tuple(range(1, self.num_units + 1))
        with _overriding(_thread_units(), id(self), tuple(chosen)):
            yield self

    # ------------------------------------------------------------------ forward
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

    def unit_scales(
        self,
        units: Optional[Sequence[int]] = None,
        gates: Optional[UnitGates] = None,
        drop_probs: Optional[Sequence[float]] = None,
        drop_granularity: str = "unit",
    ) -> List:
        """One pass's scale per unit: ``None`` (skipped), a float or a tensor.

        Args:
            units: 1-based units that may run; default: the kept units.
            gates: Gates multiplying the branches.
            drop_probs: Training skip probability per unit; default: the
                encoder's stochastic depth / LayerDrop schedule (drawn with its
                ``stochastic_depth_granularity``).
            drop_granularity: How ``drop_probs`` are drawn: ``unit`` (each unit
                on its own) or ``block`` (a block's units share one draw).
        """
        kept = set(self.kept_units if units is None else units)
        scales: List = [1.0 if j + 1 in kept else None for j in range(self.num_units)]
        if drop_probs is None:
            probs, granularity = self.unit_drop_probs, self.stochastic_depth_granularity
        else:
            probs, granularity = drop_probs, drop_granularity
        if self.training and any(p > 0.0 for p in probs):
            group = self.units_per_layer if granularity == "block" else 1
            drawn = sample_scales(probs, self._rescale, group_size=group)
            scales = [None if s is None or d == 0.0 else d for s, d in zip(scales, drawn)]
        if gates is not None:
            scales = [None if s is None else gates.values[j] * s for j, s in enumerate(scales)]
        return scales

    def run_units(
        self,
        embedded: Embedded,
        units: Optional[Sequence[int]] = None,
        gates: Optional[UnitGates] = None,
        drop_probs: Optional[Sequence[float]] = None,
        drop_granularity: str = "unit",
        ctc=None,
        return_all_hs: bool = False,
    ):
        """Run the blocks on an embedded input (see :meth:`unit_scales` for the options).

        Returns:
            ``((xs, intermediates), olens, None)`` when intermediate outputs exist,
            else ``(xs, olens, None)``, exactly like ESPnet's encoders.
            Intermediates are ``(layer, normed_output)`` pairs for the running
            layers of ``interctc_layer_idx`` (the top running layer excluded), or
            the raw outputs of all running blocks with ``return_all_hs``.
        """
        kept = self.kept_units if units is None else units
        scales = self.unit_scales(kept, gates, drop_probs, drop_granularity)
        in_pass = set(kept)
        if gates is not None and gates.open is not None:
            in_pass = {u for u in in_pass if gates.open[u - 1]}
        U = self.units_per_layer
        # Blocks of this pass's network, whether or not training skips them now
        # (an intermediate CTC output of a skipped block is its input, as in ESPnet).
        present = [any(j + 1 in in_pass for j in range(i * U, (i + 1) * U)) for i in range(self.num_layers)]
        top = max((i for i, p in enumerate(present) if p), default=-1)
        xs, pos_emb, masks = embedded.xs, embedded.pos_emb, embedded.masks
        with precision.autocast(self.compute_dtype, xs.device.type):
            xs, intermediate_outs = self._run_blocks(
                xs, pos_emb, masks, scales, present, top, ctc, return_all_hs
            )
        if self.compute_dtype is not None:  # CTC heads and losses read float32
            xs = xs.float()
            intermediate_outs = [
                (o[0], o[1].float()) if isinstance(o, tuple) else o.float() for o in intermediate_outs
            ]
        olens = embedded.lengths
        if intermediate_outs:
            return (xs, intermediate_outs), olens, None
        return xs, olens, None

    def _run_blocks(self, xs, pos_emb, masks, scales, present, top, ctc, return_all_hs):
        U = self.units_per_layer
        intermediate_outs = []
        for i, layer in enumerate(self.encoders):
            block_scales = scales[i * U : (i + 1) * U]
            if any(s is not None for s in block_scales):
                # A block of closed gates runs for their gradient only: its branches
                # are multiplied by 0 and its final LayerNorm is left out.
                xs = self._run_block(layer, xs, pos_emb, masks, block_scales, present[i])
            if not present[i]:
                continue
            if i in self._interctc_blocks and i != top:
                out = self.after_norm(xs) if self.normalize_before else xs
                if not return_all_hs:
                    intermediate_outs.append((i + 1, out))
                if self.interctc_use_conditioning:
                    xs = xs + self.conditioning_layer(ctc.softmax(out))
            if return_all_hs:  # what the next block sees (after self-conditioning)
                intermediate_outs.append(xs)
        if self.normalize_before:
            xs = self.after_norm(xs)
        return xs, intermediate_outs

    def iter_depths(self, embedded: Embedded, ctc=None) -> Iterator[Tuple[int, torch.Tensor]]:
        """``(N, output of the first-N-layers network)`` for N = 1..L, computed lazily in
        one pass (eval mode): what decoding at ``--prune_depth N`` (first N layers) reads.
        Stop iterating and the remaining layers never run (early exit).

        Each output is the running state after block ``N`` through the final LayerNorm;
        self-conditioning is applied only before the next block, as in a pruned model
        (whose top layer is never conditioned).
        """
        xs = embedded.xs
        full = [1.0] * self.units_per_layer
        cast = precision.autocast
        for i, layer in enumerate(self.encoders):
            with cast(self.compute_dtype, xs.device.type):
                xs = self._run_block(layer, xs, embedded.pos_emb, embedded.masks, full, True)
                out = self.after_norm(xs) if self.normalize_before else xs
            yield i + 1, out.float()
            if i in self._interctc_blocks and self.interctc_use_conditioning:
                with cast(self.compute_dtype, xs.device.type):
                    xs = xs + self.conditioning_layer(ctc.softmax(out))

    def depth_outputs(self, embedded: Embedded, ctc=None) -> List[torch.Tensor]:
        """Every output of :meth:`iter_depths`, in order."""
        return [out for _, out in self.iter_depths(embedded, ctc)]

    @contextlib.contextmanager
    def exiting(self, stop: Callable[[int, torch.Tensor], bool]):
        """Inside the ``with`` block (this thread only, eval mode), :meth:`forward` runs the
        layers in order and returns the output of the first layer ``N`` for which
        ``stop(N, output)`` is true (the top layer if none): confidence-based early exit."""
        with _overriding(_thread_exits(), id(self), stop):
            yield self

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: torch.Tensor = None,
        masks: torch.Tensor = None,
        ctc=None,
        return_all_hs: bool = False,
    ):
        """ESPnet's encoder interface: :meth:`embed_input`, then :meth:`run_units` with the
        kept units and the training-time skipping of this encoder.

        Args:
            xs_pad: ``(B, T, D)`` features.
            ilens: ``(B,)`` lengths.
            prev_states: Unused (ESPnet interface).
            masks: Optional padding mask (``True`` = pad), as in ESPnet.
            ctc: CTC module, needed for ``interctc_use_conditioning``.
            return_all_hs: Also return every running block's raw output.
        """
        embedded = self.embed_input(xs_pad, ilens, masks)
        stop = _thread_exits().get(id(self))
        if stop is not None and not self.training:
            for depth, out in self.iter_depths(embedded, ctc):
                if stop(depth, out) or depth == self.num_layers:  # the top always exits
                    return out, embedded.lengths, None
        return self.run_units(embedded, ctc=ctc, return_all_hs=return_all_hs)

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

"""What prunable encoders share: the loop that decides which units run.

An encoder has ``num_layers`` blocks of ``units_per_layer`` prunable units each
(1 for transformer blocks, 2 for MHSA/FFN halves, 4 for conformer sub-modules).
Three things decide whether, and how strongly, a unit runs in one forward pass:

1. the static pruning mask (``keep_layers`` / ``keep_units``): pruned units never
   run, in training or eval; this is run-time pruning, no weights are copied;
2. training-time skipping (stochastic depth or LayerDrop, per-unit
   probabilities): only in ``train()`` mode;
3. optional per-unit gates (a tensor), set by a data-driven supernet model for
   one forward pass through :meth:`PrunableEncoderMixin.unit_control`.

All three are combined in :meth:`PrunableEncoderMixin._unit_scales`, once per
forward pass; the block functions in :mod:`.blocks` only apply the result.
"""

import contextlib
from typing import List, Optional, Sequence, Tuple, Union

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

from espnet_layerprune.layer_drop import drop_probabilities, sample_scales
from espnet_layerprune.pruning import check_layers, units_of_layers

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
    """
    if isinstance(value, str):
        if value == "all":
            return list(range(1, num_layers))
        if value.startswith("every_") and value[6:].isdigit() and int(value[6:]) > 0:
            step = int(value[6:])
            return list(range(step, num_layers, step))
        raise ValueError(
            "interctc_layer_idx must be a list of layers, 'all' or 'every_K' "
            f"(K >= 1), got {value!r}"
        )
    layers = sorted(set(int(v) for v in value))
    bad = [v for v in layers if not 0 < v < num_layers]
    if bad:
        raise ValueError(
            f"interctc_layer_idx entries must be in [1, {num_layers - 1}] "
            f"(the last layer is the final CTC), got {bad}"
        )
    return layers


class PrunableEncoderMixin:
    """Run-time pruning, stochastic depth and unit gates for ESPnet encoders.

    Subclasses build the stock encoder, then call :meth:`_init_prunable`, and
    implement :meth:`_run_block`.
    """

    unit_names: Tuple[str, ...] = ("block",)
    #: Sub-modules of a block that belong to each unit (``None``: the whole block),
    #: for parameter counts of pruned models.
    unit_modules: dict = {"block": None}

    def _setup_units(self) -> None:
        """Set ``unit_names`` from the built layers (subclasses whose units vary)."""

    def _init_prunable(
        self,
        num_layers: int,
        interctc_layer_idx: Union[Sequence[int], str],
        stochastic_depth_rate: Union[float, Sequence[float]],
        stochastic_depth_schedule: str,
        layer_drop_rate: float,
    ) -> None:
        if layer_drop_rate and (
            not isinstance(stochastic_depth_rate, (int, float)) or stochastic_depth_rate
        ):
            raise ValueError(
                "set either stochastic_depth_rate (skip + rescale by 1/(1-p)) or "
                "layer_drop_rate (skip, no rescaling), not both"
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
        # A block's probability applies to each of its units.
        self.set_unit_drop_probs([p for p in probs for _ in range(self.units_per_layer)])
        self._gates: Optional[torch.Tensor] = None
        self.keep_units(None)

    # ------------------------------------------------------------------ public API
    @property
    def num_units(self) -> int:
        return self.num_layers * self.units_per_layer

    def unit_labels(self) -> List[str]:
        """Human-readable unit names, e.g. ``["L1.ffn1", "L1.mhsa", ...]``."""
        return [f"L{i + 1}.{n}" for i in range(self.num_layers) for n in self.unit_names]

    @property
    def kept_units(self) -> Tuple[int, ...]:
        """1-based units that run (all of them when unpruned)."""
        return tuple(j + 1 for j, k in enumerate(self._kept) if k)

    @property
    def kept_layers(self) -> Tuple[int, ...]:
        """1-based blocks with at least one unit that runs."""
        return tuple(i + 1 for i, k in enumerate(self._block_kept) if k)

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
            kept = [True] * self.num_units
        else:
            units = check_layers(sorted(units), self.num_units, option="kept units")
            kept = [False] * self.num_units
            for u in units:
                kept[u - 1] = True
        self._kept = kept
        U = self.units_per_layer
        self._block_kept = [any(kept[i * U : (i + 1) * U]) for i in range(self.num_layers)]
        self._last_kept_block = max(
            (i for i, k in enumerate(self._block_kept) if k), default=-1
        )
        self._static_scales = [1.0 if k else 0.0 for k in kept]

    @contextlib.contextmanager
    def pruned(self, layers: Optional[Sequence[int]] = None, units=None):
        """Temporarily keep only ``layers`` (or ``units``), e.g. for one decode."""
        saved = self.kept_units
        if units is not None:
            self.keep_units(units)
        else:
            self.keep_layers(layers)
        try:
            yield self
        finally:
            self.keep_units(saved)

    def set_unit_drop_probs(self, probs: Sequence[float]) -> None:
        """Training-time skip probability of every unit (length ``num_units``)."""
        probs = [float(p) for p in probs]
        if len(probs) != self.num_units:
            raise ValueError(f"need {self.num_units} unit drop probabilities, got {len(probs)}")
        if any(not 0.0 <= p < 1.0 for p in probs):
            raise ValueError(f"unit drop probabilities must be in [0, 1), got {probs}")
        self._unit_drop_probs = probs
        self._any_drop = any(p > 0.0 for p in probs)

    @contextlib.contextmanager
    def unit_control(
        self,
        units: Optional[Sequence[int]] = None,
        gates: Optional[torch.Tensor] = None,
        drop_probs: Optional[Sequence[float]] = None,
    ):
        """Per-call settings for supernet training: kept units, gates, drop rates.

        Args:
            units: 1-based units that run (hard mask); ``None`` keeps the current.
            gates: ``(num_units,)`` tensor multiplying each unit's residual branch.
            drop_probs: Training-time skip probability per unit.
        """
        saved = (self.kept_units, self._gates, self._unit_drop_probs)
        try:
            if units is not None:
                self.keep_units(units)
            if drop_probs is not None:
                self.set_unit_drop_probs(drop_probs)
            self._gates = gates
            yield self
        finally:
            self.keep_units(saved[0])
            self._gates = saved[1]
            self.set_unit_drop_probs(saved[2])

    # ------------------------------------------------------------------ forward
    def _unit_scales(self) -> list:
        """Scales for this forward pass, one per unit (``0.0`` = skip)."""
        if self.training and self._any_drop:
            drawn = sample_scales(self._unit_drop_probs, self._rescale)
            scales = [d if k else 0.0 for d, k in zip(drawn, self._kept)]
        else:
            scales = self._static_scales
        if self._gates is not None:
            g = self._gates
            scales = [0.0 if s == 0.0 else g[j] * s for j, s in enumerate(scales)]
        self.last_unit_scales = scales
        return scales

    @contextlib.contextmanager
    def shared_input_embedding(self):
        """Within this context, forward passes over the same input tensor reuse one
        front-end (``embed``) output.

        A supernet update runs 2-3 passes over the same features, and the
        subsampling front end, which no mask prunes, is a large share of the cost
        (on CPU the biggest). Sharing it computes it once per update; gradients
        from every pass still reach it. Its dropout is then drawn once per update.
        """
        self._embed_cache = {}
        try:
            yield self
        finally:
            self._embed_cache = None

    def _embed_input(self, xs_pad, masks):
        cache = getattr(self, "_embed_cache", None)
        if cache is not None and cache.get("input") is xs_pad:
            return cache["output"]
        out = self._embed_uncached(xs_pad, masks)
        if cache is not None:
            cache.update(input=xs_pad, output=out)
        return out

    def _embed_uncached(self, xs_pad, masks):
        if self.embed is None:
            return xs_pad, masks
        if isinstance(self.embed, _SUBSAMPLING):
            short, limit = check_short_utt(self.embed, xs_pad.size(1))
            if short:
                raise TooShortUttError(
                    f"has {xs_pad.size(1)} frames and is too short for subsampling "
                    f"(it needs more than {limit} frames), return empty results",
                    xs_pad.size(1),
                    limit,
                )
            return self.embed(xs_pad, masks)
        return self.embed(xs_pad), masks

    def forward(
        self,
        xs_pad: torch.Tensor,
        ilens: torch.Tensor,
        prev_states: torch.Tensor = None,
        masks: torch.Tensor = None,
        ctc=None,
        return_all_hs: bool = False,
    ):
        """Encode, running only the units this pass selects.

        Args:
            xs_pad: ``(B, T, D)`` features.
            ilens: ``(B,)`` lengths.
            prev_states: Unused (ESPnet interface).
            masks: Optional padding mask (True = pad), as in ESPnet.
            ctc: CTC module, needed for ``interctc_use_conditioning``.
            return_all_hs: Also return every kept block's raw output.

        Returns:
            ``((xs, intermediates), olens, None)`` when intermediate outputs exist,
            else ``(xs, olens, None)``, exactly like ESPnet's encoders.
            Intermediates are ``(layer, normed_output)`` pairs for the kept layers
            of ``interctc_layer_idx`` (the top kept layer excluded), or the raw
            outputs of all kept blocks with ``return_all_hs``.
        """
        if masks is None:
            masks = (~make_pad_mask(ilens)[:, None, :]).to(xs_pad.device)
        else:
            masks = ~masks[:, None, :]
        xs_pad, masks = self._embed_input(xs_pad, masks)
        pos_emb = None
        if isinstance(xs_pad, tuple):
            xs_pad, pos_emb = xs_pad

        flat = self._unit_scales()
        U = self.units_per_layer
        intermediate_outs = []
        for i, layer in enumerate(self.encoders):
            if not self._block_kept[i]:
                continue
            scales = flat[i * U : (i + 1) * U]
            if any(not (isinstance(s, float) and s == 0.0) for s in scales):
                xs_pad = self._run_block(layer, xs_pad, pos_emb, masks, scales)
            if return_all_hs:
                intermediate_outs.append(xs_pad)
            elif i in self._interctc_blocks and i != self._last_kept_block:
                out = self.after_norm(xs_pad) if self.normalize_before else xs_pad
                intermediate_outs.append((i + 1, out))
                if self.interctc_use_conditioning:
                    xs_pad = xs_pad + self.conditioning_layer(ctc.softmax(out))

        if self.normalize_before:
            xs_pad = self.after_norm(xs_pad)
        olens = masks.squeeze(1).sum(1)
        if intermediate_outs:
            return (xs_pad, intermediate_outs), olens, None
        return xs_pad, olens, None

    def kept_parameter_count(self) -> Tuple[int, int]:
        """(parameters that run in the pruned encoder, all parameters)."""
        total = sum(p.numel() for p in self.parameters())
        dropped = 0
        U = self.units_per_layer
        for i, layer in enumerate(self.encoders):
            kept = self._kept[i * U : (i + 1) * U]
            if not any(kept):
                dropped += sum(p.numel() for p in layer.parameters())
                continue
            for name, k in zip(self.unit_names, kept):
                for attr in () if k else self.unit_modules[name] or ():
                    module = getattr(layer, attr, None)
                    if module is not None:
                        dropped += sum(p.numel() for p in module.parameters())
        return total - dropped, total

    def _run_block(self, layer, x, pos_emb, mask, scales):  # pragma: no cover
        raise NotImplementedError

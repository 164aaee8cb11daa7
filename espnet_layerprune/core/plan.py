"""Prune plans: which layers (or units) to keep for each depth (or size).

A plan is a small YAML file stored next to a model, ``prune_plan.yaml``::

    num_layers: 12
    units_per_layer: 1
    strategy: greedy
    model_file: valid.loss.ave.pth        # the checkpoint it was selected for
    model_sha256: 3f5c...
    depths:
      6: {layers: [1, 2, 3, 5, 8, 12], dev_cer: 4.1, dev_wer: 9.8}
    sizes:                      # optional, unit-level (data-driven supernets)
      24: {units: [1, 2, 5, ...]}

``--prune_depth N`` at decoding time uses ``depths[N]`` when such a file exists
and was made for the checkpoint being decoded (:meth:`PrunePlan.find_for`): a plan
selected on one checkpoint says nothing about another one in the same directory.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

from espnet_layerprune.core.files import file_sha256, plain, save_yaml

PLAN_FILENAME = "prune_plan.yaml"


@dataclass
class PrunePlan:
    """Kept layers per depth (and kept units per size) for one model.

    Attributes:
        num_layers: Depth of the model the plan was made for.
        depths: ``{depth: {"layers": [...], <metrics>...}}`` with 1-based layers.
        sizes: ``{size: {"units": [...], ...}}`` with 1-based units.
        units_per_layer: Prunable units per block (1, 2 or 4).
        strategy: How the plan was made (free text, e.g. ``greedy``).
        model_file: Name of the checkpoint the plan was selected for.
        model_sha256: That checkpoint's SHA-256.
        source: Where it was loaded from (for logs).
    """

    num_layers: int
    depths: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    sizes: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    units_per_layer: int = 1
    strategy: str = "unknown"
    model_file: Optional[str] = None
    model_sha256: Optional[str] = None
    source: str = "<memory>"

    def layers_for_depth(self, depth: int, num_layers: int) -> Tuple[int, ...]:
        """Kept layers for ``depth``, checked against the model's depth."""
        self._check_model(num_layers)
        if depth == num_layers and depth not in self.depths:
            return tuple(range(1, num_layers + 1))
        if depth not in self.depths:
            raise ValueError(
                f"--prune_depth {depth} is not in the prune plan {self.source} "
                f"(it has depths {sorted(self.depths)}); add it with "
                "espnet_layerprune.bin.select_layers --depths, or decode without the plan "
                "(--use_prune_plan false)"
            )
        layers = tuple(int(x) for x in self.depths[depth]["layers"])
        if len(layers) != depth:
            raise ValueError(
                f"prune plan {self.source}: depth {depth} lists {len(layers)} layers"
            )
        return layers

    def units_for_size(self, size: int, num_layers: int) -> Tuple[int, ...]:
        """Kept units for ``size`` (unit-level plans of data-driven supernets)."""
        self._check_model(num_layers)
        if size not in self.sizes:
            raise ValueError(
                f"--prune_size {size} is not in the prune plan {self.source} "
                f"(it has sizes {sorted(self.sizes)})"
            )
        return tuple(int(x) for x in self.sizes[size]["units"])

    def _check_model(self, num_layers: int) -> None:
        if self.num_layers != num_layers:
            raise ValueError(
                f"prune plan {self.source} was made for a {self.num_layers}-layer "
                f"encoder but this model has {num_layers} layers"
            )

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "num_layers": self.num_layers,
            "units_per_layer": self.units_per_layer,
            "strategy": self.strategy,
            "model_file": self.model_file,
            "model_sha256": self.model_sha256,
            "depths": {int(k): plain(v) for k, v in sorted(self.depths.items())},
        }
        if self.sizes:
            out["sizes"] = {int(k): plain(v) for k, v in sorted(self.sizes.items())}
        return out

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the plan; refuses to replace an existing file unless asked."""
        return save_yaml(path, self.to_dict(), overwrite)

    @classmethod
    def load(cls, path) -> "PrunePlan":
        with open(path) as f:
            raw = yaml.safe_load(f) or {}
        if "num_layers" not in raw:
            raise ValueError(f"{path} is not a prune plan (no num_layers)")
        return cls(
            num_layers=int(raw["num_layers"]),
            depths={int(k): v for k, v in (raw.get("depths") or {}).items()},
            sizes={int(k): v for k, v in (raw.get("sizes") or {}).items()},
            units_per_layer=int(raw.get("units_per_layer", 1)),
            strategy=str(raw.get("strategy", "unknown")),
            model_file=raw.get("model_file"),
            model_sha256=raw.get("model_sha256"),
            source=str(path),
        )

    def for_model(self, model_file) -> "PrunePlan":
        """Record the checkpoint the plan is made for (name and SHA-256)."""
        self.model_file = Path(model_file).name
        self.model_sha256 = file_sha256(model_file)
        return self

    @classmethod
    def find_for(cls, model_file: Optional[str]) -> Optional["PrunePlan"]:
        """The plan in the model file's directory, if it was made for this checkpoint.

        Raises:
            ValueError: The plan was made for another checkpoint (decode with
                ``--use_prune_plan false``, or select layers again).
        """
        if not model_file:
            return None
        path = Path(model_file).parent / PLAN_FILENAME
        if not path.is_file():
            return None
        plan = cls.load(path)
        if plan.model_sha256 is None:
            logging.warning(
                "prune plan %s does not record which checkpoint it was made for; using it "
                "for %s (make a new one with select_layers to have it checked)", path, model_file,
            )
        elif plan.model_sha256 != file_sha256(model_file):
            raise ValueError(
                f"prune plan {path} was made for {plan.model_file} (sha256 "
                f"{plan.model_sha256[:12]}...), not for {model_file}; run select_layers for "
                "this checkpoint, or decode without the plan (--use_prune_plan false)"
            )
        return plan

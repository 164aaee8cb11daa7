"""Prune plans: which layers (or units) to keep for each depth (or size).

A plan is a small YAML file stored next to a model, ``prune_plan.yaml``::

    num_layers: 12
    units_per_layer: 1
    strategy: greedy
    depths:
      6: {layers: [1, 2, 3, 5, 8, 12], dev_cer: 4.1, dev_wer: 9.8}
    sizes:                      # optional, unit-level (data-driven supernets)
      24: {units: [1, 2, 5, ...]}

``--prune_depth N`` at decoding time uses ``depths[N]`` when such a file exists.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import yaml

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
        source: Where it was loaded from (for logs).
    """

    num_layers: int
    depths: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    sizes: Dict[int, Dict[str, Any]] = field(default_factory=dict)
    units_per_layer: int = 1
    strategy: str = "unknown"
    source: str = "<memory>"

    def layers_for_depth(self, depth: int, num_layers: int) -> Tuple[int, ...]:
        """Kept layers for ``depth``, checked against the model's depth."""
        self._check_model(num_layers)
        if depth == num_layers and depth not in self.depths:
            return tuple(range(1, num_layers + 1))
        if depth not in self.depths:
            raise ValueError(
                f"--prune_depth {depth} is not in the prune plan {self.source} "
                f"(it has depths {sorted(self.depths)}); make one with "
                "espnet_layerprune.bin.select_layers or remove the plan"
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
            "depths": {int(k): _plain(v) for k, v in sorted(self.depths.items())},
        }
        if self.sizes:
            out["sizes"] = {int(k): _plain(v) for k, v in sorted(self.sizes.items())}
        return out

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the plan; refuses to replace an existing file unless asked."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(
                f"{path} exists; pass --overwrite true to replace it"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            yaml.safe_dump(self.to_dict(), f, sort_keys=False, default_flow_style=None)
        os.replace(tmp, path)  # atomic: a crash never leaves half a plan
        return path

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
            source=str(path),
        )

    @classmethod
    def find_next_to(cls, model_file: Optional[str]) -> Optional["PrunePlan"]:
        """The plan stored in the model file's directory, if any."""
        if not model_file:
            return None
        path = Path(model_file).parent / PLAN_FILENAME
        return cls.load(path) if path.is_file() else None


def _plain(value: Any) -> Any:
    """Make numpy/torch scalars and tuples YAML-safe."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


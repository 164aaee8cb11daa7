"""Decoding within a budget: ``--prune_budget params=2.0M`` (or ``flops=``, ``rtf=``).

A calibration table (``calibration.yaml``, written next to the model by
``python -m espnet_layerprune.bin.calibrate``) lists, for every depth (and size,
for data-driven supernets), the dev error and the measured cost of the network
that ``--prune_depth N`` / ``--prune_size K`` decodes::

    model_file: valid.loss.ave.pth
    model_sha256: 3f5c...
    data: data/dev
    plans:
    - {request: {prune_depth: 6}, kept_layers: [...], dev_wer: 9.8, dev_cer: 4.1,
       params: 4420000, flops: 1.2e9, rtf: 0.011}

A budget picks the plan with the lowest dev WER among those within every limit
(ties: fewer parameters). Costs: ``params`` counts the parameters that run (kept
encoder units, the CTC head, front end and any decoder); ``flops`` is the
measured floating-point operations per second of audio; ``rtf`` the measured
real-time factor (decode seconds / audio seconds) of greedy CTC decoding, one
thread, on the machine that calibrated.

Examples:
    >>> parse_budget("params=2.5M,rtf=0.02")
    {'params': 2500000.0, 'rtf': 0.02}
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from espnet_layerprune.core.errors import ConfigError, did_you_mean, one_of
from espnet_layerprune.core.files import file_sha256, plain, save_yaml
from espnet_layerprune.core.units import PRUNE_OPTIONS

CALIBRATION_FILENAME = "calibration.yaml"
BUDGET_KEYS = ("params", "flops", "rtf")
_SUFFIX = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


def parse_budget(text: str) -> Dict[str, float]:
    """``"params=2.0M,flops=1.5G"`` -> ``{"params": 2e6, "flops": 1.5e9}``.

    Raises:
        ConfigError: Unknown key, a value that is not a positive number, a repeated key.
    """
    if not text or not text.strip():
        raise ConfigError(f"--prune_budget must be KEY=VALUE[,KEY=VALUE] with keys {', '.join(BUDGET_KEYS)}")
    out: Dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError(f"--prune_budget entries are KEY=VALUE, got {part.strip()!r}")
        if key not in BUDGET_KEYS:
            raise ConfigError(f"--prune_budget keys must be {', '.join(BUDGET_KEYS)}, "
                              f"got {key!r}{did_you_mean(key, BUDGET_KEYS)}")
        if key in out:
            raise ConfigError(f"--prune_budget gives {key} twice")
        value = value.strip()
        scale = _SUFFIX.get(value[-1:].lower(), 1.0) if key != "rtf" else 1.0
        number = value[:-1] if scale != 1.0 else value
        try:
            limit = float(number) * scale
        except ValueError:
            limit = float("nan")
        if not limit > 0 or limit == float("inf"):
            raise ConfigError(f"--prune_budget {key} must be a positive number"
                              f"{' (suffix K, M or G allowed)' if key != 'rtf' else ''}, got {value!r}")
        out[key] = limit
    return out


def format_budget(budget: Dict[str, float]) -> str:
    return ",".join(f"{k}={_value(k, v)}" for k, v in budget.items())


def _value(key: str, x: float) -> str:
    return f"{x:.4g}" if key == "rtf" else _human(x)


def _human(x: float) -> str:
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:g}"


@dataclass
class Calibration:
    """Measured dev error and cost of every plan of one model (see the module doc)."""

    plans: List[Dict[str, Any]]
    model_file: Optional[str] = None
    model_sha256: Optional[str] = None
    data: Optional[str] = None
    machine: Optional[str] = None
    source: str = "<memory>"
    extra: Dict[str, Any] = field(default_factory=dict)

    def save(self, path, overwrite: bool = False) -> Path:
        body = {"model_file": self.model_file, "model_sha256": self.model_sha256, "data": self.data,
                "machine": self.machine, **self.extra, "plans": plain(self.plans)}
        return save_yaml(path, body, overwrite)

    @classmethod
    def load(cls, path) -> "Calibration":
        with open(path) as f:
            raw = yaml.safe_load(f) or {}
        if not isinstance(raw.get("plans"), list):
            raise ConfigError(f"{path} is not a calibration table (no plans); make it with "
                              "python -m espnet_layerprune.bin.calibrate")
        known = ("model_file", "model_sha256", "data", "machine", "plans")
        return cls(raw["plans"], raw.get("model_file"), raw.get("model_sha256"), raw.get("data"),
                   raw.get("machine"), str(path), {k: v for k, v in raw.items() if k not in known})

    @classmethod
    def find_for(cls, model_file) -> "Calibration":
        """The table next to ``model_file``, made for that checkpoint, or a clear error."""
        path = Path(model_file).parent / CALIBRATION_FILENAME
        if not path.is_file():
            raise ConfigError(
                f"--prune_budget needs {path}: measure the model's plans first with "
                f"python -m espnet_layerprune.bin.calibrate --asr_train_config ... --asr_model_file {model_file} "
                "--data <dev dir>"
            )
        table = cls.load(path)
        if table.model_sha256 and table.model_sha256 != file_sha256(model_file):
            raise ConfigError(f"{path} was calibrated for {table.model_file}, not for {model_file}; "
                              "run bin.calibrate for this checkpoint")
        return table

    def choose(self, budget: Dict[str, float]) -> Dict[str, Any]:
        """The most accurate plan within ``budget``; a clear error when none fits."""
        fits = [p for p in self.plans if all(p[k] <= limit for k, limit in budget.items())]
        if not fits:
            cheapest = {k: min(p[k] for p in self.plans) for k in budget}
            raise ConfigError(
                f"no calibrated plan fits --prune_budget {format_budget(budget)}: the smallest "
                f"{', '.join(f'{k} is {_value(k, v)}' for k, v in cheapest.items())} "
                f"({self.source})"
            )
        best = min(fits, key=lambda p: (p["dev_wer"], p["params"]))
        logging.info("--prune_budget %s: chose %s (dev WER %.2f%%, params %s, flops/s %s, RTF %.4f) "
                     "from %d of %d calibrated plans", format_budget(budget), describe(best), best["dev_wer"],
                     _human(best["params"]), _human(best["flops"]), best["rtf"], len(fits), len(self.plans))
        return best


def choose_for(budget: Optional[str], model_file, depth=None, layers=None, size=None) -> Optional[Dict[str, Any]]:
    """The calibrated plan ``--prune_budget`` picks for ``model_file`` (``None`` without a
    budget), or a clear error (also for a budget given with another request)."""
    if budget is None:
        return None
    requested = [f"--{o}" for o, v in zip(PRUNE_OPTIONS, (depth, layers, size)) if v is not None]
    if requested:
        raise ConfigError(one_of(["--prune_budget", *requested]))
    if model_file is None:
        raise ConfigError("--prune_budget needs the model file (its calibration.yaml lies next to it)")
    return Calibration.find_for(model_file).choose(parse_budget(budget))


def describe(plan: Dict[str, Any]) -> str:
    return " ".join(f"--{k} {v}" for k, v in plan["request"].items())

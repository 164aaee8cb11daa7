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

A budget keeps the plans within every limit and, among them, treats as tied every
plan whose dev WER is within :data:`WER_MARGIN` (0.2) points of the best one: a
difference that small is within the noise of a dev set, so the cheapest tied plan
wins (fewest parameters, then FLOPs, then RTF). The decode log says, in one INFO
line, which plan was chosen, its kept layers, and which plan it was tied with.
Costs: ``params`` counts the parameters that run (kept encoder units, the CTC
head, front end; the attention decoder only when the calibrated decoding runs
it, which greedy CTC does not: the table's ``params_counted`` says); ``flops``
is the measured floating-point operations per second of audio (at the front
end's sampling rate, on a length-balanced dev sample); ``rtf`` the measured
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
WER_MARGIN = 0.2
"""Dev WER points (absolute) within which plans count as equally accurate; the cheapest wins."""


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

    def fitting(self, budget: Dict[str, float]) -> List[Dict[str, Any]]:
        """The plans within every limit of ``budget``."""
        return [p for p in self.plans if all(p[k] <= limit for k, limit in budget.items())]

    def tied(self, budget: Dict[str, float], margin: float = WER_MARGIN) -> List[Dict[str, Any]]:
        """The plans within ``budget`` whose dev WER is within ``margin`` points of the best of them."""
        fits = self.fitting(budget)
        best = min((p["dev_wer"] for p in fits), default=0.0)
        return [p for p in fits if p["dev_wer"] <= best + margin + 1e-9]  # 1e-9: rounded WERs

    def choose(self, budget: Dict[str, float], margin: float = WER_MARGIN, log: bool = True) -> Dict[str, Any]:
        """The cheapest plan within ``budget`` whose dev WER is within ``margin`` points of the
        best plan within it (see the module doc), logged in one INFO line (``log``); a clear error
        when none fits.

        Raises:
            ConfigError: No plan fits the budget, or a negative ``margin``.
        """
        if not margin >= 0:
            raise ConfigError(f"the dev WER margin of a budget's choice must be >= 0 points, got {margin}")
        fits = self.fitting(budget)
        if not fits:
            cheapest = {k: min(p[k] for p in self.plans) for k in budget}
            raise ConfigError(
                f"no calibrated plan fits --prune_budget {format_budget(budget)}: the smallest "
                f"{', '.join(f'{k} is {_value(k, v)}' for k, v in cheapest.items())} "
                f"({self.source})"
            )
        tied = self.tied(budget, margin)
        chosen = min(tied, key=lambda p: (p["params"], p["flops"], p["rtf"], p["dev_wer"]))
        others = [p for p in tied if p is not chosen]
        why = "the most accurate"
        if not log:
            return chosen
        if others:
            also = ", ".join("%s at %.2f%%" % (describe(p), p["dev_wer"]) for p in others)
            why = (f"the cheapest of {len(tied)} plans within {margin:g} WER points of the best dev WER, "
                   f"{min(p['dev_wer'] for p in tied):.2f}% (tied: {also})")
        logging.info("--prune_budget %s: chose %s, kept layers %s (dev WER %.2f%%, params %s, flops/s %s, "
                     "RTF %.4f): %s; %d of %d calibrated plans fit", format_budget(budget),
                     describe(chosen), _layers(chosen), chosen["dev_wer"], _human(chosen["params"]),
                     _human(chosen["flops"]), chosen["rtf"], why, len(fits), len(self.plans))
        return chosen


def choose_for(budget: Optional[str], model_file, depth=None, layers=None, size=None,
               log: bool = True) -> Optional[Dict[str, Any]]:
    """The calibrated plan ``--prune_budget`` picks for ``model_file`` (``None`` without a
    budget), logged unless ``log`` is false, or a clear error (also for a budget given with
    another request)."""
    if budget is None:
        return None
    requested = [f"--{o}" for o, v in zip(PRUNE_OPTIONS, (depth, layers, size)) if v is not None]
    if requested:
        raise ConfigError(one_of(["--prune_budget", *requested]))
    if model_file is None:
        raise ConfigError("--prune_budget needs the model file (its calibration.yaml lies next to it)")
    return Calibration.find_for(model_file).choose(parse_budget(budget), log=log)


def describe(plan: Dict[str, Any]) -> str:
    return " ".join(f"--{k} {v}" for k, v in plan["request"].items())


def _layers(plan: Dict[str, Any]) -> str:
    return ",".join(map(str, plan.get("kept_layers") or [])) or "?"

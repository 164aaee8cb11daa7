"""Files this package writes next to a model: YAML written atomically, and the checksum that ties
a file (prune plan, calibration table, exit gate) to the checkpoint it was made for."""

import hashlib
import os
from pathlib import Path
from typing import Any

import yaml


def save_yaml(path, body, overwrite: bool = False) -> Path:
    """Write ``body`` as YAML, atomically (a crash never leaves half a file); refuses to
    replace an existing file unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite true to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        yaml.safe_dump(body, f, sort_keys=False, default_flow_style=None)
    os.replace(tmp, path)
    return path


def file_sha256(path) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plain(value: Any) -> Any:
    """Make numpy/torch scalars and tuples YAML-safe."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value

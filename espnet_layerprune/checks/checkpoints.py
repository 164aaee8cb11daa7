"""Checkpoint files: complete, intact, and holding exactly the model's tensors."""

import zipfile
import zlib
from pathlib import Path
from typing import Union

from espnet_layerprune.core.errors import InputError, examples


def check_checkpoint(path: Union[str, Path]) -> None:
    """Fail on a missing, empty, truncated or corrupted ``torch.save`` file.

    Verifies the zip archive ``torch.save`` writes, CRCs included (reads the
    file once; torch itself skips the CRCs). Files in torch's legacy
    (pre-1.6, non-zip) format are not checked.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise InputError(
            f"model file {path} is empty (0 bytes): it was never written completely; "
            "copy it again or use another checkpoint of the run (e.g. N epoch.pth)"
        )
    with open(path, "rb") as f:
        if f.read(2) == b"\x80\x02":  # legacy pickle format: nothing to verify
            return
    remedy = (
        "copy it again or use another checkpoint of the run (e.g. N epoch.pth); "
        "this is not a trust issue, ESPNET_ALLOW_UNSAFE_TORCH_LOAD will not help"
    )
    if not zipfile.is_zipfile(path):
        raise InputError(
            f"model file {path} ({size:,} bytes) is truncated or corrupted: it is not "
            f"a complete archive as written by torch.save; {remedy}"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
        raise InputError(f"model file {path} is corrupted ({e}); {remedy}") from None
    if bad is not None:
        raise InputError(
            f"model file {path} is corrupted: its entry {bad} fails the CRC check "
            f"(bytes changed after saving); {remedy}"
        )


def checkpoint_state(path: Union[str, Path]) -> dict:
    """The model state of a model file or of a ``checkpoint.pth`` (memory-mapped)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if isinstance(state.get("model"), dict) and "optimizers" in state:
        state = state["model"]  # ESPnet's checkpoint.pth
    return state


def check_checkpoint_matches(model, path: Union[str, Path]) -> None:
    """Fail unless the model file holds exactly the model's tensors.

    ESPnet loads model files with ``strict=False``; a tensor the file lacks
    would silently keep its random initialisation.
    """
    expected = set(model.state_dict())
    found = set(checkpoint_state(path))
    missing = sorted(expected - found)
    unexpected = sorted(found - expected)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(
                f"it lacks {len(missing)} of the model's {len(expected)} tensors "
                f"({examples(missing)}), which would stay randomly initialised"
            )
        if unexpected:
            parts.append(f"it has {len(unexpected)} tensors the model does not ({examples(unexpected)})")
        raise InputError(
            f"model file {path} does not match the model built from its config: "
            + "; ".join(parts)
            + ". Use the config.yaml written by the training that produced this file."
        )

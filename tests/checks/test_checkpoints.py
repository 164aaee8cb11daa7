"""Checkpoint checks on real files: missing, empty and truncated model files are named."""

import pytest
import torch

from espnet_layerprune.checks.checkpoints import check_checkpoint
from espnet_layerprune.core.errors import InputError


def test_checkpoint_missing_empty_and_truncated_files_are_named(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.arange(1000.0)}, good)
    check_checkpoint(good)  # a complete file passes
    with pytest.raises(InputError, match="does not exist"):
        check_checkpoint(tmp_path / "missing.pth")
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        check_checkpoint(tmp_path / "empty.pth")
    (tmp_path / "cut.pth").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.pth"):
        check_checkpoint(tmp_path / "cut.pth")

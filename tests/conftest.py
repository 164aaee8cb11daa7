"""Shared fixtures: one tiny corpus and one tiny supernet, trained for real through ESPnet.

The recipe ``egs2/synth_en/asr1/run.sh`` is run once per test session (stages 1-7)
at a tiny size; tests that need a trained model or decodes reuse its outputs. Under
pytest-xdist (``-n 2``) the workers share it: the first to ask builds it under a file
lock, the other waits and reads the same directory (see :func:`shared_once`).
"""

import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tiny_recipe import TINY_CONFIG, run_recipe


def shared_once(tmp_path_factory, name: str, build) -> Path:
    """``build(directory)`` once per test session, whichever xdist worker asks first.

    The directory sits in the session's temporary root (shared by all workers); a marker
    file written after a successful build tells the others it is complete, so a build that
    failed in one worker is redone, not reused half-made.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # popen-gwN/.. is common to the session's workers
    directory, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            build(directory)
            done.touch()
    return directory


def _build_tiny_recipe(work: Path):
    proc = run_recipe(work)
    (work / "recipe.log").write_text(proc.stdout)


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory):
    """Work directory of a finished tiny recipe run (corpus, model, decodes, RESULTS.md)."""
    work = shared_once(tmp_path_factory, "synth_en", _build_tiny_recipe)
    exp = work / "exp" / f"asr_{TINY_CONFIG.stem}_char"
    return {"work": work, "exp": exp, "data": work / "data", "log": (work / "recipe.log").read_text(),
            "decode": exp / "decode_decode_ctc_valid.loss.best" / "test"}

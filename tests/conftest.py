"""Shared fixtures: one tiny corpus and one tiny supernet, trained for real through ESPnet.

The recipe ``egs2/synth_en/asr1/run.sh`` is run once per test session (stages 1-7)
at a tiny size; tests that need a trained model or decodes reuse its outputs.
"""

import pytest

from tiny_recipe import TINY_CONFIG, run_recipe


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory):
    """Work directory of a finished tiny recipe run (corpus, model, decodes, RESULTS.md)."""
    work = tmp_path_factory.mktemp("synth_en")
    proc = run_recipe(work)
    exp = work / "exp" / f"asr_{TINY_CONFIG.stem}_char"
    return {"work": work, "exp": exp, "data": work / "data", "log": proc.stdout,
            "decode": exp / "decode_decode_ctc_valid.loss.best" / "test"}

"""``import espnet_layerprune`` registers into ESPnet's ASR task in either import order,
and the tools that never build a model do not load ESPnet's tasks (fresh interpreters)."""

import subprocess
import sys

import pytest

CHECK = (
    "from espnet2.tasks.asr import ASRTask, encoder_choices, model_choices;"
    "assert {'prunable_transformer', 'prunable_conformer', 'prunable_e_branchformer'} <= set(encoder_choices.classes);"
    "assert 'layerprune' in model_choices.classes;"
    "assert 'prunable_transformer' in str(ASRTask.get_parser().format_help())"
)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("first", ["espnet_layerprune", "espnet2.tasks.asr"])
def test_registered_whichever_is_imported_first(first):
    second = "espnet2.tasks.asr" if first == "espnet_layerprune" else "espnet_layerprune"
    proc = _python(f"import {first}; import {second}; {CHECK}")
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_report_and_ngram_tools_start_without_espnet_tasks_or_torch():
    proc = _python(
        "import sys, espnet_layerprune.bin.report, espnet_layerprune.bin.train_ngram;"
        "loaded = [m for m in ('espnet2.tasks.asr', 'torch') if m in sys.modules];"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]

"""The corpus is recipe data: importing it loads neither torch nor ESPnet."""

import subprocess
import sys


def test_importing_the_corpus_does_not_load_torch_or_register_into_espnet():
    code = (
        "import sys, synth_corpus.make, synth_corpus.sentences;"
        "bad = [m for m in ('torch', 'espnet2', 'espnet_layerprune') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

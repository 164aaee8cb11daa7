"""A Python launcher for ESPnet's ``asr.sh``: ``--python "python -m espnet_layerprune.launch"``.

``asr.sh`` runs every Python step as ``${python} -m espnet2.bin.X ...`` or
``${python} script.py ...``. This launcher replaces the process with the same
interpreter running the same arguments, except that the training and decoding
modules are mapped to this package's versions (which register the prunable
encoders and accept ``--prune_depth``)::

    ./asr.sh --python "python -m espnet_layerprune.launch" \\
        --asr_config conf/train_supernet.yaml --inference_args "--prune_depth 6"

Because the mapped modules import the package, ESPnet's "spawn" workers (which
re-import the main module) see the registered classes too.
"""

import os
import sys
from typing import List

MODULE_MAP = {
    "espnet2.bin.asr_train": "espnet_layerprune.bin.asr_train",
    "espnet2.bin.asr_inference": "espnet_layerprune.bin.asr_inference",
}


def rewrite(argv: List[str]) -> List[str]:
    """Map ``-m espnet2.bin.asr_train``/``asr_inference``; leave the rest unchanged."""
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == "-m":
            out[i + 1] = MODULE_MAP.get(out[i + 1], out[i + 1])
            break
        if not arg.startswith("-"):
            break  # a script path: everything after it belongs to the script
    return out


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = [sys.executable] + rewrite(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How long this package's command-line tools take to start, with registration on demand and eagerly.

``import espnet_layerprune`` registers into ESPnet's ASR task when ``espnet2.tasks.asr`` loads, not at once
(espnet_layerprune/registry.py). Each row imports one module in a fresh interpreter, as its command would,
in two ways, interleaved: as it is, and with ``espnet2.tasks.asr`` imported first (what registering on
package import cost every tool). Medians of wall times; time it with nothing else running::

    python benchmarks/startup_time.py --out docs/results/startup.md
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from provenance import REPO, header

MODULES = [
    ("espnet_layerprune.launch", "asr.sh's --python: every Python step of asr.sh starts with it"),
    ("espnet_layerprune.bin.report", "run.sh stage 7, asr.sh's RESULTS_by_depth.md"),
    ("espnet_layerprune.bin.train_ngram", "run.sh stage 2"),
    ("espnet_layerprune.bin.asr_inference", "decoding: needs ESPnet's task either way"),
]
EAGER = "import espnet2.tasks.asr; "


def wall_s(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def loads_task(module: str) -> bool:
    code = f"import sys, {module}; print('espnet2.tasks.asr' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip() == "True"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modules", nargs="+", default=[m for m, _ in MODULES], help="modules to import")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "startup.md")
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1, got {args.repeats}")
    notes = dict(MODULES)
    wall_s("import torch")  # warm the page cache once, for both ways alike
    times = {m: {"as is": [], "eager": []} for m in args.modules}
    for r in range(args.repeats):
        for m in args.modules:
            times[m]["as is"].append(wall_s(f"import {m}"))
            times[m]["eager"].append(wall_s(EAGER + f"import {m}"))
        print(f"repeat {r + 1}/{args.repeats} done", file=sys.stderr)
    lines = ["# Start-up time of the command-line tools", "", *header("1 process at a time, no GPU"),
             f"- each cell: median wall time of `python -c \"import MODULE\"` over {args.repeats} fresh interpreters; "
             "*eager*: with `espnet2.tasks.asr` imported first (registration on package import, as until "
             "2026-12-07); the two ways interleaved", "",
             "| module | what runs it | loads espnet2.tasks.asr | as is, s | eager, s | ratio |",
             "|---|---|---|---:|---:|---:|"]
    for m in args.modules:
        lazy, eager = (statistics.median(times[m][k]) for k in ("as is", "eager"))
        lines.append(f"| `{m}` | {notes.get(m, '')} | {'yes' if loads_task(m) else 'no'} | {lazy:.2f} | "
                     f"{eager:.2f} | {lazy / eager:.2f} |")
    lines += ["", "A module that loads `espnet2.tasks.asr` either way imports the same modules both ways: its "
              "ratio shows the noise of this measurement. In a run of ESPnet's asr.sh every Python step goes "
              "through the launcher (tokenizing, scoring, collecting statistics, training, decoding), and each "
              "used to pay the eager import once more before `execv`."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

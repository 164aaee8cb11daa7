#!/usr/bin/env python3
"""Dev WER against training wall time for the main job's presets (fast and full), one plot.

    python benchmarks/presets_curve.py \\
        --run fast=egs2/synth_en/asr1/exp/asr_train_supernet_bpe256/train.log \\
        --run full=egs2/synth_en/asr1/exp_full/asr_train_supernet_ep30_bpe256/train.log \\
        --out docs/results/synth_en_presets.png

Reads ESPnet's per-epoch validation results (``wer_ctc``, ``cer_ctc`` of the final
layer, greedy CTC, ``model: layerprune``) from each training log and prints a
Markdown table of the same numbers.
"""

import argparse
from pathlib import Path

import matplotlib

from espnet_layerprune.analysis.report import learning_curve

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=path/to/train.log (repeat)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    lines = ["| preset | epoch | training minutes | dev WER (%) | dev CER (%) |", "|---|---:|---:|---:|---:|"]
    for spec in args.run:
        label, _, path = spec.partition("=")
        if not Path(path).is_file():
            raise SystemExit(f"error: --run {spec}: {path} does not exist")
        rows = learning_curve(Path(path))
        if not rows:
            raise SystemExit(f"error: --run {spec}: no epoch results in {path}")
        minutes = [r["seconds"] / 60 for r in rows]
        wer = [100 * r.get("wer_ctc", float("nan")) for r in rows]
        ax.plot(minutes, wer, "o-", label=f"{label} (WER)")
        ax.plot(minutes, [100 * r.get("cer_ctc", float("nan")) for r in rows], ".--", label=f"{label} (CER)")
        lines += [f"| {label} | {r['epoch']} | {m:.1f} | {w:.1f} | {100 * r.get('cer_ctc', float('nan')):.1f} |"
                  for r, m, w in zip(rows, minutes, wer)]
    ax.set_xlabel("training wall time (min, 2 CPU cores)")
    ax.set_ylabel("dev error (%), final layer, greedy CTC")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("synth_en: dev error against training time")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

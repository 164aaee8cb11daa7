#!/usr/bin/env python3
"""The calibration table of a model (``bin.calibrate``) and what a few budgets choose, as markdown.

    cd egs2/synth_en/asr1
    python -m espnet_layerprune.bin.calibrate --asr_train_config exp_full/.../config.yaml \\
        --asr_model_file exp_full/.../valid.loss.ave.pth --data full/data/dev
    python ../../../benchmarks/budget_table.py --calibration exp_full/.../calibration.yaml \\
        --budgets params=3M params=5M rtf=0.01 flops=0.3G,params=4M --out ../../../docs/results/budget.md
"""

import argparse
from pathlib import Path

from espnet_layerprune.inference.budget import Calibration, describe, parse_budget
from espnet_layerprune.core.errors import ConfigError
from provenance import header


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calibration", required=True)
    p.add_argument("--budgets", nargs="+", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    table = Calibration.load(args.calibration)
    machine = (table.machine or "unknown").split(" CPU, ", 1)[-1]  # header() names the platform itself
    lines = ["# Decoding within a budget (`--prune_budget`)", "", *header(machine),
             f"- calibration: `{args.calibration}` (model `{table.model_file}`, dev data `{table.data}`, "
             f"{table.extra.get('utterances')} utterances; RTF and FLOPs on {table.extra.get('timing_utts')} of them, "
             "greedy CTC)", "",
             "| plan | kept layers | dev WER % | dev CER % | params (M) | GFLOPs per s of audio | RTF |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for plan in table.plans:
        lines.append(f"| `{describe(plan)}` | {','.join(map(str, plan['kept_layers']))} | {plan['dev_wer']:.2f} | "
                     f"{plan['dev_cer']:.2f} | {plan['params'] / 1e6:.2f} | {plan['flops'] / 1e9:.3f} | "
                     f"{plan['rtf']:.4f} |")
    lines += ["", "What `--prune_budget` picks (lowest dev WER within every limit):", "",
              "| budget | chosen | dev WER % | params (M) | RTF |", "|---|---|---:|---:|---:|"]
    for text in args.budgets:
        try:
            plan = table.choose(parse_budget(text))
            lines.append(f"| `{text}` | `{describe(plan)}` | {plan['dev_wer']:.2f} | {plan['params'] / 1e6:.2f} | "
                         f"{plan['rtf']:.4f} |")
        except ConfigError as e:
            lines.append(f"| `{text}` | refused: {e} | | | |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

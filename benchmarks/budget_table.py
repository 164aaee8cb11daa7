#!/usr/bin/env python3
"""The calibration table of a model (``bin.calibrate``) and what a few budgets choose, as markdown.

    cd egs2/synth_en/asr1
    python -m espnet_layerprune.bin.calibrate --asr_train_config exp_full/.../config.yaml \\
        --asr_model_file exp_full/.../valid.loss.ave.pth --data full/data/dev
    python ../../../benchmarks/budget_table.py --calibration exp_full/.../calibration.yaml \\
        --budgets params=3M params=5M rtf=0.01 flops=0.3G,params=4M --out ../../../docs/results/budget.md

Everything below a ``<!-- notes -->`` line of an existing ``--out`` is kept (hand-written notes).
``--timing_note`` marks the RTF column (e.g. "provisional: measured on a shared CPU; re-timed later").
"""

import argparse
from pathlib import Path

from espnet_layerprune.core.errors import ConfigError
from espnet_layerprune.inference.budget import WER_MARGIN, Calibration, describe, parse_budget
from provenance import header

NOTES = "<!-- notes -->"


def _layers(plan) -> str:
    return ",".join(map(str, plan["kept_layers"]))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calibration", required=True)
    p.add_argument("--budgets", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--timing_note", default=None, help="Said of the RTF column (e.g. that it is provisional).")
    args = p.parse_args()
    table = Calibration.load(args.calibration)
    x = table.extra
    machine = (table.machine or "unknown").split(" CPU, ", 1)[-1]  # header() names the platform itself
    rtf = "RTF (provisional)" if args.timing_note else "RTF"
    first = f"the first {x.get('timing_utts')} utterances"  # tables from before length-balanced samples
    lines = ["# Decoding within a budget (`--prune_budget`)", "", *header(machine),
             f"- calibration: `{args.calibration}` (model `{table.model_file}`, dev data `{table.data}`, "
             f"{x.get('utterances')} utterances, {x.get('decoding', 'greedy CTC')})",
             f"- FLOPs and RTF per second of audio at {x.get('sample_rate', '16000 (assumed)')} Hz, on "
             f"{x.get('timing_sample') or first}",
             f"- params: {x.get('params_counted', 'everything that runs, the decoder included')}",
             *([f"- **{args.timing_note}** (RTF); WER, CER, params and FLOPs do not depend on load"]
               if args.timing_note else []), "",
             f"| plan | kept layers | dev WER % | dev CER % | params (M) | GFLOPs per s of audio | {rtf} |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for plan in table.plans:
        lines.append(f"| `{describe(plan)}` | {_layers(plan)} | {plan['dev_wer']:.2f} | "
                     f"{plan['dev_cer']:.2f} | {plan['params'] / 1e6:.2f} | {plan['flops'] / 1e9:.3f} | "
                     f"{plan['rtf']:.4f} |")
    lines += ["", f"What `--prune_budget` picks: among the plans within every limit, those within {WER_MARGIN} "
              "dev WER points of the most accurate are tied, and the cheapest of them (fewest parameters, then "
              "FLOPs, then RTF) wins:", "",
              f"| budget | chosen | kept layers | dev WER % | params (M) | tied within {WER_MARGIN} points "
              "(dev WER %) |",
              "|---|---|---|---:|---:|---|"]
    for text in args.budgets:
        try:
            budget = parse_budget(text)
            plan = table.choose(budget)
            tied = ", ".join(f"`{describe(q)}` ({q['dev_wer']:.2f})" for q in table.tied(budget))
            lines.append(f"| `{text}` | `{describe(plan)}` | {_layers(plan)} | {plan['dev_wer']:.2f} | "
                         f"{plan['params'] / 1e6:.2f} | {tied} |")
        except ConfigError as e:
            lines.append(f"| `{text}` | refused: {e} | | | | |")
    out = Path(args.out)
    old = out.read_text() if out.is_file() else ""
    notes = old[old.index(NOTES):] if NOTES in old else ""
    out.write_text("\n".join(lines) + "\n" + ("\n" + notes if notes else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time to accuracy of several trainings of the main job: dev WER against training time, one table, one plot.

Each ``--run LABEL=EXP_DIR[@SECONDS_PER_EPOCH]`` is a finished training directory (``train.log``,
``config.yaml``, ``valid.loss.ave.pth``). Per epoch the curve reads ESPnet's validation of that
epoch's checkpoint (greedy CTC, ``model: layerprune`` reports every depth); the end point is the
dev WER of the averaged model (``valid.loss.ave.pth``, what the recipe decodes), computed here with
:class:`~espnet_layerprune.analysis.dev_eval.DevEvaluator` at every depth in one pass.

The x axis is training time. Trainings that shared the machine have unreliable logged times, so a
run may give its seconds per epoch as measured alone (e.g. from ``benchmarks/train_step_cost.py``
plus validation): then epoch ``e`` sits at ``e x SECONDS_PER_EPOCH`` and the table says so::

    python benchmarks/time_to_accuracy.py --data egs2/synth_en/asr1/full/data/dev \\
        --run "fp32 today=exp/asr_train_supernet_bpe256" --run "bf16 + conv2d8=exp/asr_x@41.6" \\
        --out docs/results/synth_en/time_to_accuracy.md --plot docs/results/synth_en/time_to_accuracy.png
"""

import argparse
from pathlib import Path

import matplotlib

from espnet_layerprune.analysis.report import learning_curve
from espnet_layerprune.analysis.dev_eval import DevEvaluator
from provenance import header
from train_step_cost import logged_updates

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

def parse_run(spec: str):
    label, sep, rest = spec.partition("=")
    if not sep or not label:
        raise SystemExit(f"error: --run must be LABEL=EXP_DIR[@SECONDS_PER_EPOCH], got {spec!r}")
    path, _, per_epoch = rest.partition("@")
    exp = Path(path)
    for name in ("train.log", "config.yaml", "valid.loss.ave.pth"):
        if not (exp / name).is_file():
            raise SystemExit(f"error: --run {spec}: {exp / name} does not exist (is the training finished?)")
    return label, exp, float(per_epoch) if per_epoch else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, help="LABEL=EXP_DIR[@SECONDS_PER_EPOCH] (repeat)")
    parser.add_argument("--data", type=Path, required=True, help="dev set (Kaldi dir with wav.scp and text)")
    parser.add_argument("--out", type=Path, required=True, help="markdown table to write")
    parser.add_argument("--plot", type=Path, required=True, help="PNG to write")
    parser.add_argument("--depths", type=int, nargs="+", default=[12, 9, 6, 3],
                        help="depths at which the averaged model is scored (the largest is plotted)")
    args = parser.parse_args()
    depths = sorted(set(args.depths), reverse=True)
    runs = [parse_run(s) for s in args.run]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rows = []
    for i, (label, exp, per_epoch) in enumerate(runs):
        curve = learning_curve(exp / "train.log")
        if not curve:
            raise SystemExit(f"error: no epoch results in {exp / 'train.log'}")
        minutes = [(r["epoch"] * per_epoch if per_epoch else r["seconds"]) / 60 for r in curve]
        ax.plot(minutes, [100 * r.get("wer_ctc", float("nan")) for r in curve], "o-", ms=3, color=f"C{i}", label=label)
        scores = DevEvaluator.from_files(exp / "config.yaml", exp / "valid.loss.ave.pth", args.data).evaluate_prefixes()
        final = {d: scores[d].wer for d in depths if d in scores}
        if not final:
            raise SystemExit(f"error: --depths {args.depths}: {exp} has {max(scores)} layers")
        ax.plot([minutes[-1]], [final[max(final)]], "*", ms=12, color=f"C{i}")
        updates = logged_updates(exp / "train.log")
        rows.append((label, exp, updates, minutes[-1], "alone, estimated" if per_epoch else "logged",
                     100 * curve[-1].get("wer_ctc", float("nan")), final))
    ax.set_xlabel("training time (min, 2 CPU cores)")
    ax.set_ylabel("dev WER (%), final layer, greedy CTC")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("synth_en: dev WER against training time (lines: each epoch's checkpoint; *: averaged model)",
                 fontsize=9)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    lines = ["# Time to accuracy of the main job's trainings", "", *header("2 threads, no GPU"),
             f"- dev set: {args.data}; greedy CTC; last epoch = ESPnet's validation of the last checkpoint; averaged "
             f"= valid.loss.ave.pth (what the recipe decodes), at {'/'.join(map(str, depths))} layers", "",
             "| run | updates | training min | time | dev WER last epoch, final layer | dev WER averaged model: "
             + " / ".join(str(d) for d in depths) + " layers | exp dir |",
             "|---|---:|---:|---|---:|---|---|"]
    for label, exp, updates, minutes, how, last, final in rows:
        last = "-" if last != last else f"{last:.1f}"  # NaN: the model reports no WER per epoch
        lines.append(f"| {label} | {updates} | {minutes:.1f} | {how} | {last} | "
                     + " / ".join(f"{final[d]:.2f}" if d in final else "-" for d in depths) + f" | {exp.name} |")
    lines.append(f"\n![dev WER against training time]({args.plot.name})\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

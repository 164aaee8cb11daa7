#!/usr/bin/env python3
"""Collect benchmarks/accuracy_by_depth.sh (models x seeds) into docs/results/accuracy.md and a plot.

Reads ``<exp_dir>/asr_train_<model>[_seed<N>]_<tokens>/decode_decode_ctc_*/test/{depth,size}*/score.json``
(greedy CTC, scored with jiwer by the recipe) and each training's log for its cost. Every cell is the
mean over the seeds that finished, with the seeds' spread (max - min); a gap between a supernet and the
individually trained model counts as real only when it is larger than the spreads of both::

    python benchmarks/collect_accuracy.py --exp_dir egs2/synth_en/asr1/exp --out docs/results/accuracy.md
"""

import argparse
import json
import os
import re
import statistics
from pathlib import Path

import matplotlib
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from provenance import header  # noqa: E402

LABELS = {
    "baseline": "plain model, pruned at run time",
    "supernet": "supernet: interCTC + stochastic depth",
    "simple_top_k": "supernet: Simple-Top-k",
    "iterative_zero_out": "supernet: Iterative-Zero-Out",
    "simple_top_k_per_size_ctc": "supernet: Simple-Top-k, per-size CTC heads",
}
NAME = re.compile(r"^asr_train_(baseline|individual\d+|supernet|simple_top_k_per_size_ctc|simple_top_k|"
                  r"iterative_zero_out)(?:_seed(\d+))?_(?:bpe\d+|char)$")


def _seconds(text: str) -> float:
    """ESPnet's "1 minute and 19.18 seconds" -> 79.18."""
    return sum(float(v) * {"hour": 3600, "minute": 60, "second": 1}[u]
               for v, u in re.findall(r"([\d.]+) (hour|minute|second)", text))


def training_cost(train_log: Path):
    """(median epoch time x epochs, updates) from ESPnet's log (a redone epoch overwrites)."""
    epochs, updates = {}, 0
    for line in train_log.read_text(errors="replace").splitlines():
        m = re.search(r"INFO: (\d+)epoch results: \[train\].*?time=([^,]+), total_count=(\d+)", line)
        if m:
            epochs[int(m.group(1))] = _seconds(m.group(2))
            updates = int(m.group(3))
    return (statistics.median(epochs.values()) * len(epochs), updates) if epochs else (float("nan"), 0)


def collect(exp_dir: Path):
    """{model: {seed: {"depth": {d: score}, "size": {k: score}, "cost": (s, updates)}}}."""
    runs = {}
    for asr_dir in sorted(exp_dir.glob("asr_train_*")):
        m = NAME.match(asr_dir.name)
        if not m:
            continue
        model, seed = m.group(1), int(m.group(2) or 0)
        scores = {"depth": {}, "size": {}}
        for score in asr_dir.glob("decode_decode_ctc_valid*/test/*/score.json"):
            kind = "depth" if score.parent.name.startswith("depth") else "size"
            result = json.loads(score.read_text())
            pruning = score.parent / "pruning.yaml"
            if pruning.exists():
                info = yaml.safe_load(pruning.read_text())
                result["params"] = info.get("encoder_params_kept")
            scores[kind][int(score.parent.name[len(kind):])] = result
        if scores["depth"] and (asr_dir / "train.log").exists():
            runs.setdefault(model, {})[seed] = {**scores, "cost": training_cost(asr_dir / "train.log")}
    return runs


def stat(values):
    """(mean, spread = max - min, n)."""
    return statistics.fmean(values), (max(values) - min(values)) if len(values) > 1 else float("nan"), len(values)


def cell(values) -> str:
    mean, spread, n = stat(values)
    return f"{mean:.2f}" + (f" ± {spread / 2:.2f} (n={n})" if n > 1 else " (n=1)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--command", default="benchmarks/accuracy_by_depth.sh", help="recorded in the report")
    args = p.parse_args()
    runs = collect(args.exp_dir)
    individual = {}  # depth -> [score dicts over seeds]
    for model, seeds in runs.items():
        if model.startswith("individual"):
            d = int(model[len("individual"):])
            individual.setdefault(d, []).extend(s["depth"][d] for s in seeds.values() if d in s["depth"])
    if "baseline" in runs:  # the plain full-depth model IS the individually trained model of depth L
        full = max(next(iter(runs["baseline"].values()))["depth"])
        individual.setdefault(full, []).extend(s["depth"][full] for s in runs["baseline"].values())
    if not individual:
        raise SystemExit(f"error: no individually trained model has scores under {args.exp_dir}")
    L = max(individual)
    decoded = {d for seeds in runs.values() for r in seeds.values() for d in r["depth"]}
    depths = sorted(set(individual) | decoded, reverse=True)

    def values(model, kind, key, metric="wer"):
        return [s[kind][key][metric] for s in runs[model].values() if key in s[kind]]

    def ind(d, metric="wer"):
        return [s[metric] for s in individual.get(d, [])]

    rows = [m for m in LABELS if m in runs]
    lines = ["# Accuracy at every depth: supernets against individually trained models, with seeds", "",
             *header(f"{os.cpu_count()} cores, no GPU; every model: the main job's corpus, BPE-256 tokens, "
                     "encoder and 6 x 150 updates", args.command, from_dir="."),
             "- decoding: greedy CTC on the 300 test utterances of held-out voices (the networks are compared, "
             "not the LM); cells: mean WER % ± half the spread between seeds (n = seeds finished)", "",
             "## Test WER (%) by depth", "",
             "| model | " + " | ".join(f"depth {d}" for d in depths) + " |", "|---|" + "---:|" * len(depths),
             "| individually trained (one model per depth) | " + " | ".join(cell(ind(d)) if ind(d) else "-" for d in depths) + " |"]
    for m in rows:
        lines.append(f"| {LABELS[m]} | " + " | ".join(
            cell(values(m, "depth", d)) if values(m, "depth", d) else "-" for d in depths) + " |")
    lines += ["", "## Test CER (%) by depth", "", "| model | " + " | ".join(f"depth {d}" for d in depths) + " |",
              "|---|" + "---:|" * len(depths),
              "| individually trained | " + " | ".join(cell(ind(d, "cer")) if ind(d) else "-" for d in depths) + " |"]
    for m in rows:
        lines.append(f"| {LABELS[m]} | " + " | ".join(
            cell(values(m, "depth", d, "cer")) if values(m, "depth", d, "cer") else "-" for d in depths) + " |")

    lines += ["", "## Gaps to the individually trained model (WER, absolute)", "",
              "Goal (issue 13): within 0.5 absolute or 5% relative at depths 12, 9 and 6; the full supernet at "
              "least as good as the individual full model. *real*: the gap is larger than the seed spread of "
              "both sides (needs two seeds on each).", "",
              "| model | depth | gap (mean) | seed spreads (model / individual) | within goal | real |",
              "|---|---:|---:|---:|---|---|"]
    verdicts = []
    for m in [m for m in rows if m != "baseline"] + (["baseline"] if "baseline" in rows else []):
        for d in depths:
            a, b = values(m, "depth", d), ind(d)
            if not a or not b or (m == "baseline" and d == L):
                continue
            ma, sa, _ = stat(a)
            mb, sb, _ = stat(b)
            gap = ma - mb
            ok = gap <= max(0.5, 0.05 * mb) if d != L else gap <= 0
            real = "yes" if len(a) > 1 and len(b) > 1 and abs(gap) > max(sa, sb) else (
                "no" if len(a) > 1 and len(b) > 1 else "one seed")
            lines.append(f"| {LABELS[m]} | {d} | {gap:+.2f} | {sa:.2f} / {sb:.2f} | {'yes' if ok else 'NO'} | {real} |")
            verdicts.append((m, d, gap, ok, real))

    sized = [m for m in rows if any(s["size"] for s in runs[m].values())]
    if sized:
        lines += ["", "## Data-driven supernets at their sizes (learned unit masks)", "",
                  "| model | size (units) | encoder params | WER % | CER % |", "|---|---:|---:|---:|---:|"]
        for m in sized:
            sizes = sorted({k for s in runs[m].values() for k in s["size"]}, reverse=True)
            for k in sizes:
                params = next(s["size"][k].get("params") for s in runs[m].values() if k in s["size"])
                lines.append(f"| {LABELS[m]} | {k} | {params or 0:,} | {cell(values(m, 'size', k))} | "
                             f"{cell(values(m, 'size', k, 'cer'))} |")

    lines += ["", "## Training cost (from the training logs)", "",
              "Median epoch time x epochs of each training, seed 0 (other jobs shared the 2 cores at times, so "
              "ratios are rough; every model makes the same 900 updates).", "",
              "| model | seconds | vs individual full model | vs all individual models |", "|---|---:|---:|---:|"]
    cost = {}
    for d in depths:
        key = "baseline" if d == L and "baseline" in runs else f"individual{d}"
        if key in runs and 0 in runs[key]:
            cost[f"individual depth {d}"] = runs[key][0]["cost"][0]
    total = sum(cost.values())
    full = cost.get(f"individual depth {L}", float("nan"))
    for m in [m for m in rows if m != "baseline" and 0 in runs[m]]:
        cost[LABELS[m]] = runs[m][0]["cost"][0]
    for name, s in cost.items():
        lines.append(f"| {name} | {s:.0f} | {s / full:.2f} | {s / total:.2f} |")
    trained = [d for d in depths if f"individual depth {d}" in cost]
    lines += ["", f"(all individual models together: {total:.0f} s for depths {', '.join(map(str, trained))}; "
              "goal: a supernet at most 1.5x one full model and under 0.5x all individual models)", ""]

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for ax, metric in zip(axes, ("wer", "cer")):
        ds = [d for d in depths if ind(d, metric)]
        ax.errorbar(ds, [stat(ind(d, metric))[0] for d in ds],
                    yerr=[0 if len(ind(d, metric)) < 2 else stat(ind(d, metric))[1] / 2 for d in ds],
                    fmt="ko-", lw=2, capsize=4, label="individually trained")
        for m in rows:
            ds = [d for d in depths if values(m, "depth", d, metric)]
            st = [stat(values(m, "depth", d, metric)) for d in ds]
            ax.errorbar(ds, [s[0] for s in st], yerr=[0 if s[2] < 2 else s[1] / 2 for s in st], fmt="o--",
                        capsize=4, label=LABELS[m])
        ax.set_xlabel("encoder depth")
        ax.set_ylabel(f"test {metric.upper()} (%), greedy CTC")
        ax.set_xticks(depths)
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout(rect=(0, 0.18, 1, 1))
    png = args.out.with_suffix(".png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    lines += [f"![WER and CER against depth, error bars: half the seed spread]({png.name})", ""]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

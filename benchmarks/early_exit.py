#!/usr/bin/env python3
"""Early exit against fixed depths at equal *counted* compute, threshold chosen by cross-fitting.

One encoder pass per utterance gives, at every depth N, the CTC log-posteriors and greedy hypothesis
of the network ``--prune_depth N`` decodes. An early-exit decode is then fully determined by the
decoder's own :class:`~espnet_layerprune.inference.early_exit.ExitTracker` (which layers it reads,
where it stops), so a threshold sweep reads these tables instead of re-decoding; the real decoder
(``Speech2Text(prune_depth="auto")``) is checked on ``--verify_utts`` test utterances to exit at the
same layers with the same text, the same frames, reads and executed blocks.

Compute is counted, not timed (:mod:`espnet_layerprune.inference.exit_cost`): front end + executed
layers + per layer read a CTC projection and log-softmax (+ greedy decode with patience, + the gate's
features) + the output head, frame-weighted over the corpus, in layer-equivalents (corpus FLOPs /
corpus FLOPs of one encoder layer). Fixed depth N costs front end + N layers + one head on the same
utterances, so the comparison is at equal counted compute: the fixed-depth WER is interpolated
linearly at the early-exit point's counted cost.

Pre-registered policy (fixed before this model's numbers were seen): the learned gate, patience 0,
min depth 1, ``exit_every`` 1. Its threshold is chosen by 2-fold cross-fitting on dev: dev is split
by utterance index parity; the gate fitted on one half decides the other half, for every threshold
of ``GATE_THRESHOLDS``; the two held-out halves are pooled, and the threshold with the lowest
out-of-fold Δ (WER minus the fixed-depth WER at the same counted compute, on dev) whose counted cost
is below the full model's is chosen (ties: the cheaper). The gate used on test is then fitted on the
whole dev set; test is only reported. The other variants are shown for context (thresholds swept,
nothing chosen from test).

Writes ``--out`` (markdown) and a plot next to it (same name, .png)::

    cd egs2/synth_en/asr1
    PYTHONPATH=/path/to/espnet_layerprune python /path/to/benchmarks/early_exit.py \\
        --exp_dir exp_full/asr_train_supernet_ep55_bpe256 --dev full/data/dev --test full/data/test \\
        --out /path/to/docs/results/early_exit.md
"""

import argparse
import logging
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import espnet_layerprune  # noqa: E402,F401
from espnet_layerprune.core.ctc import word_errors  # noqa: E402
from espnet_layerprune.core.data import load_utterances  # noqa: E402
from espnet_layerprune.inference.early_exit import EarlyExit, ExitTracker, candidate_layers  # noqa: E402
from espnet_layerprune.inference.exit_cost import (  # noqa: E402
    GATE_PER_READ,
    GATE_PER_TOKEN,
    ExitCost,
    blocks_run,
    counted_compute,
)
from espnet_layerprune.inference.exit_gate import ExitGate, gate_dataset  # noqa: E402
from espnet_layerprune.inference.speech2text import Speech2Text  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from provenance import header  # noqa: E402

GATE_THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05 ... 0.95
CONFIDENCE_THRESHOLDS = (0.5, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995)
PREREGISTERED = ("learned", 0, 1)  # measure, patience, exit_every
CONTEXT = [("learned", 0, 2), ("max_posterior", 0, 1), ("max_posterior", 1, 1), ("entropy", 1, 1)]


class Split:
    """One data split's per-depth tables: errors, words, frames, log-posteriors and texts."""

    @torch.no_grad()
    def __init__(self, s2t: Speech2Text, utts, L: int):
        self.utts, self.logps, self.texts = utts, [], []
        for n, utt in enumerate(utts, 1):
            layers = s2t.depth_posteriors(utt.speech)
            self.logps.append({d: layers[d] for d in range(1, L + 1)})
            self.texts.append({d: s2t.greedy_text(lp) for d, lp in layers.items()})
            if n % 50 == 0:
                logging.warning("%d/%d utterances", n, len(utts))
        self.errors = np.array([[word_errors(u.text, t[d])[0] for d in range(1, L + 1)]
                                for u, t in zip(utts, self.texts)], float)
        self.words = np.array([len(u.text.split()) for u in utts], float)
        self.frames = np.array([lp[1].size(0) for lp in self.logps])

    def subset(self, rows):
        out = object.__new__(Split)
        out.utts = [self.utts[i] for i in rows]
        out.logps = [self.logps[i] for i in rows]
        out.texts = [self.texts[i] for i in rows]
        out.errors, out.words, out.frames = self.errors[rows], self.words[rows], self.frames[rows]
        return out


def simulate(split: Split, policy: EarlyExit, exits, networks, rows=None):
    """Per utterance the decoder's record (exit layer, frames, reads, executed blocks), via ExitTracker."""
    records = []
    for i in range(len(split.utts)) if rows is None else rows:
        tracker = ExitTracker(policy, exits)
        tried = []
        for d in sorted(tracker.reads):
            tried.append(networks[d])
            if tracker.update(d, split.logps[i][d]):
                break
        records.append({"layer": tracker.layer, "frames": int(split.frames[i]), "reads": tracker.read_count,
                        "executed_layers": blocks_run(tried)})
    return records


def fixed_costs(cost: ExitCost, split: Split, L: int):
    recs = [{"layer": 1, "frames": int(f), "reads": 0, "executed_layers": 0} for f in split.frames]
    return np.array([counted_compute(cost, recs, depths=range(1, L + 1))["fixed_depth_cost"][d]
                     for d in range(1, L + 1)])


def fixed_wer(split: Split) -> np.ndarray:
    return 100 * split.errors.sum(0) / split.words.sum()


def point(cost, split: Split, records, policy: EarlyExit, fixed_x, draws: int = 2000, seed: int = 0):
    """Counted cost, WER, Δ to the fixed-depth curve at that cost, and Δ's 95% paired bootstrap interval."""
    tally = counted_compute(cost, records, policy.patience, policy.measure == "learned")
    layers = np.array([r["layer"] for r in records])
    rows = np.arange(len(records))
    wer = 100 * split.errors[rows, layers - 1].sum() / split.words.sum()
    x = tally["counted_cost"]
    # fixed_x[d - 1] = c0 + d: interpolation weights between depths lo and lo + 1
    depth = float(np.clip(x - (fixed_x[0] - 1), 1, len(fixed_x)))
    lo = int(min(np.floor(depth), len(fixed_x) - 1))
    w = depth - lo
    ref = (1 - w) * split.errors[:, lo - 1] + w * split.errors[:, min(lo, len(fixed_x) - 1)]
    diff = split.errors[rows, layers - 1] - ref
    delta = 100 * diff.sum() / split.words.sum()
    pick = np.random.default_rng(seed).integers(0, len(diff), size=(draws, len(diff)))
    ci = np.percentile(100 * diff[pick].sum(1) / split.words[pick].sum(1), [2.5, 97.5])
    return {"threshold": policy.threshold, "cost": x, "decision": tally["decision_cost"],
            "exit_layer_fw": tally["frame_weighted_exit_layer"], "exit_layer_mean": tally["mean_exit_layer"],
            "reads_fw": tally["frame_weighted_reads"], "wer": float(wer), "delta": float(delta),
            "ci": (float(ci[0]), float(ci[1]))}


def fit_gate(split: Split, layers, rows=None) -> ExitGate:
    rows = range(len(split.utts)) if rows is None else rows
    logps = [[split.logps[i][d] for d in layers] for i in rows]
    errors = [[split.errors[i, d - 1] for d in layers] for i in rows]
    return ExitGate.fit(*gate_dataset(logps, errors, 0, layers), layers=tuple(layers))


def cross_fit(cost, dev: Split, exits, networks, L, every: int, fixed_x):
    """2-fold cross-fitting on dev: out-of-fold points per threshold, and the chosen threshold."""
    layers = candidate_layers(L, exits, every)
    folds = [np.arange(len(dev.utts))[k::2] for k in (0, 1)]
    gates = [fit_gate(dev, layers, folds[1 - k]) for k in (0, 1)]  # gate k decides fold k
    order = np.concatenate(folds)
    pooled = dev.subset(order)
    points = []
    for t in GATE_THRESHOLDS:
        records = []
        for k in (0, 1):
            records += simulate(dev, EarlyExit(t, "learned", gate=gates[k], exit_every=every), exits, networks,
                                folds[k])
        points.append(point(cost, pooled, records, EarlyExit(t, "learned", gate=gates[0], exit_every=every),
                            fixed_x))
    below_full = [p for p in points if p["cost"] < fixed_x[-1]] or points
    chosen = min(below_full, key=lambda p: (round(p["delta"], 6), p["cost"]))
    return points, chosen


def verify(args, split: Split, exits, networks, policy: EarlyExit, n: int):
    """The real decoder exits where the tables say, with the same text and the same cost record."""
    s2t = Speech2Text(args.asr_train_config, args.asr_model_file, prune_depth="auto",
                      exit_threshold=policy.threshold, exit_measure=policy.measure, exit_min_depth=policy.min_depth,
                      exit_patience=policy.patience, exit_gate=policy.gate, exit_every=policy.exit_every,
                      ctc_greedy=True, beam_size=1, ctc_weight=1.0, nbest=1)
    expected = simulate(split, policy, exits, networks, range(min(n, len(split.utts))))
    for i, want in enumerate(expected):
        result = s2t(split.utts[i].speech)
        text = (result[0] if isinstance(result, tuple) else result)[0][0]
        got = {k: s2t.last_exit[k] for k in want}
        if got != want or text != split.texts[i][want["layer"]]:
            raise SystemExit(f"verification failed on {split.utts[i].key}: decoder {got} {text!r}, "
                             f"tables {want} {split.texts[i][want['layer']]!r}")
    logging.warning("verified %d utterances (%s)", len(expected), policy)


def name(variant) -> str:
    measure, patience, every = variant
    return f"{measure}, patience {patience}" + (f", every {every} layers" if every > 1 else "")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True, help="Model dir with config.yaml and the model file.")
    p.add_argument("--model_file", default="valid.loss.ave.pth")
    p.add_argument("--dev", required=True, help="Kaldi dir: gates are fitted and thresholds chosen here.")
    p.add_argument("--test", required=True, help="Kaldi dir: reported only.")
    p.add_argument("--verify_utts", type=int, default=30)
    p.add_argument("--max_utts", type=int, default=None, help="First N utterances of each split (smoke tests).")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(1)
    args.asr_train_config = f"{args.exp_dir}/config.yaml"
    args.asr_model_file = f"{args.exp_dir}/{args.model_file}"
    s2t = Speech2Text(args.asr_train_config, args.asr_model_file, ctc_greedy=True, beam_size=1, ctc_weight=1.0,
                      nbest=1)
    logging.getLogger().setLevel(logging.WARNING)  # the decoder logs every hypothesis
    L = s2t.asr_model.encoder.num_layers
    exits = sorted(s2t.exit_depths)
    networks = {d: k.layers for d, k in s2t.depth_networks.items()}
    cost = ExitCost.measure(s2t.asr_model)
    data = {split: Split(s2t, load_utterances(getattr(args, split), args.max_utts), L) for split in ("dev", "test")}
    fixed_x = {s: fixed_costs(cost, d, L) for s, d in data.items()}

    # the pre-registered policy, and the learned gate at exit_every 2 by the same protocol
    crossfit = {}
    for variant in (PREREGISTERED, CONTEXT[0]):
        every = variant[2]
        oof, chosen = cross_fit(cost, data["dev"], exits, networks, L, every, fixed_x["dev"])
        gate = fit_gate(data["dev"], candidate_layers(L, exits, every))
        crossfit[variant] = {"oof": oof, "chosen": chosen, "gate": gate}
    rows = {v: {} for v in [PREREGISTERED] + CONTEXT}
    for v in rows:
        measure, patience, every = v
        gate = crossfit[v]["gate"] if measure == "learned" else None
        grid = GATE_THRESHOLDS if measure == "learned" else CONFIDENCE_THRESHOLDS
        for split, d in data.items():
            rows[v][split] = [point(cost, d, simulate(d, pol, exits, networks), pol, fixed_x[split])
                              for pol in (EarlyExit(t, measure, 1, patience, gate, every) for t in grid)]
    final = {}
    for v, cf in crossfit.items():
        pol = EarlyExit(cf["chosen"]["threshold"], "learned", gate=cf["gate"], exit_every=v[2])
        verify(args, data["test"], exits, networks, pol, args.verify_utts)
        final[v] = point(cost, data["test"], simulate(data["test"], pol, exits, networks), pol, fixed_x["test"])
    write_report(args, cost, data, fixed_x, rows, crossfit, final, exits, L)


def write_report(args, cost, data, fixed_x, rows, crossfit, final, exits, L):
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, split in zip(axes, ("dev", "test")):
        ax.plot(fixed_x[split], fixed_wer(data[split]), "k-o", label="fixed depth 1..12")
        for k, (v, by_split) in enumerate(rows.items()):
            pts = sorted(by_split[split], key=lambda r: r["cost"])
            ax.plot([r["cost"] for r in pts], [r["wer"] for r in pts], f"C{k}-" + "s^vDx"[k % 5], ms=3, lw=1,
                    alpha=0.8, label=f"{name(v)} (threshold sweep)")
        if split == "dev":
            oof = crossfit[PREREGISTERED]["oof"]
            ax.plot([r["cost"] for r in oof], [r["wer"] for r in oof], "C0:", lw=1, label="learned, out-of-fold")
            c = crossfit[PREREGISTERED]["chosen"]
            ax.plot([c["cost"]], [c["wer"]], "r*", ms=14, label=f"chosen by cross-fitting ({c['threshold']:g})")
        else:
            f = final[PREREGISTERED]
            ax.plot([f["cost"]], [f["wer"]], "r*", ms=14, label=f"pre-registered policy ({f['threshold']:g})")
        ax.set_xlabel("counted compute, layer-equivalents (frame-weighted, exit decisions included)", fontsize=8)
        ax.set_ylabel("WER % (greedy CTC)")
        ax.set_title(f"{split} ({len(data[split].utts)} utterances)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)

    f, c = final[PREREGISTERED], crossfit[PREREGISTERED]["chosen"]
    lines = ["# Early exit at equal counted compute", ""] + header("1 thread; counted compute, no timing")
    lines += [
        f"- model: `{args.exp_dir}/{args.model_file}` ({L} layers), greedy CTC; CTC outputs at layers {exits}",
        f"- dev `{args.dev}` ({len(data['dev'].utts)} utt.), test `{args.test}` ({len(data['test'].utts)} utt.)",
        f"- the real decoder (`--prune_depth auto`) was checked on the first {args.verify_utts} test utterances "
        "to exit at the tables' layers with the same text, frames, layers read and blocks run (both learned "
        "policies, at their cross-fitted thresholds)",
        "- compute is counted ([exit_cost.py](../../espnet_layerprune/inference/exit_cost.py)): front end + "
        "executed layers + per layer read a CTC projection and log-softmax (+ greedy decode with patience, + "
        "gate features) + the output head, summed over the corpus and divided by the corpus FLOPs of one "
        "encoder layer (layer-equivalents, frame-weighted). Fixed depth N = front end + N layers + one head. "
        "Nothing here is timed (the CPU was shared).",
        f"- cost model of this model (FLOPs, T = encoder frames): front end {cost.frontend_per_frame:.0f} T + "
        f"{cost.frontend_fixed:.0f}, one layer {cost.layer_per_frame:.0f} T + {cost.layer_per_frame_sq:.0f} T², "
        f"CTC head + log-softmax {cost.head(1):.0f} T (D = {cost.dim}, V = {cost.vocab}), gate features "
        f"{GATE_PER_TOKEN * cost.vocab} T + {GATE_PER_READ} per read. The front end (the conv2d8 subsampling) alone "
        f"costs {fixed_x['test'][0] - 1:.2f} layer-equivalents with the output head on test, so the whole "
        "12-layer model is about 19.5 and early exit can save at most the 12 layers of it.",
        "",
        f"![WER vs counted compute]({out.with_suffix('.png').name})",
        "",
        "## Result (pre-registered: learned gate, patience 0, every layer; threshold by 2-fold cross-fitting)",
        "",
        f"Threshold chosen on dev by cross-fitting: **{c['threshold']:g}** (out-of-fold dev: counted cost "
        f"{c['cost']:.2f}, WER {c['wer']:.2f}%, Δ {c['delta']:+.2f} [{c['ci'][0]:+.2f}, {c['ci'][1]:+.2f}]).",
        "",
        "| test | counted cost (layer-eq.) | of which exit decisions | frame-weighted exit layer | mean exit layer "
        "(per utt.) | WER % | fixed depth at equal cost, WER % | Δ [95% CI] |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v, fv in final.items():
        ref = fv["wer"] - fv["delta"]
        lines.append(f"| {name(v)}, threshold {fv['threshold']:g} | {fv['cost']:.2f} | {fv['decision']:.2f} | "
                     f"{fv['exit_layer_fw']:.2f} | {fv['exit_layer_mean']:.2f} | {fv['wer']:.2f} | {ref:.2f} | "
                     f"{fv['delta']:+.2f} [{fv['ci'][0]:+.2f}, {fv['ci'][1]:+.2f}] |")
    verdict = ("below" if f["ci"][1] < 0 else "not significantly different from" if f["ci"][0] <= 0
               else "above")
    lines += ["", f"On test the pre-registered policy is **{verdict}** the fixed-depth curve at equal counted "
              f"compute (Δ {f['delta']:+.2f} WER points, 95% paired bootstrap interval over utterances "
              f"[{f['ci'][0]:+.2f}, {f['ci'][1]:+.2f}]; negative = better than fixed depth).", ""]
    lines += ["## Fixed depth", "", "| depth | dev cost | dev WER % | test cost | test WER % |",
              "|---:|---:|---:|---:|---:|"]
    for d in range(1, L + 1):
        lines.append(f"| {d} | {fixed_x['dev'][d - 1]:.2f} | {fixed_wer(data['dev'])[d - 1]:.2f} | "
                     f"{fixed_x['test'][d - 1]:.2f} | {fixed_wer(data['test'])[d - 1]:.2f} |")
    lines += ["", "## Cross-fitting on dev (out-of-fold, learned gate)", ""]
    for v, cf in crossfit.items():
        lines += [f"### {name(v)}", "", "| threshold | cost | WER % | Δ [95% CI] |", "|---:|---:|---:|---:|"]
        for r in cf["oof"]:
            mark = " **(chosen)**" if r["threshold"] == cf["chosen"]["threshold"] else ""
            lines.append(f"| {r['threshold']:g}{mark} | {r['cost']:.2f} | {r['wer']:.2f} | {r['delta']:+.2f} "
                         f"[{r['ci'][0]:+.2f}, {r['ci'][1]:+.2f}] |")
        lines.append("")
    lines += ["## Threshold sweeps (context; nothing here was chosen on test)", "",
              "Learned gates: fitted on the whole dev set (dev rows in-sample). Cost: counted layer-equivalents; "
              "reads: frame-weighted layers read; Δ: WER minus the fixed-depth WER at the same counted cost.", ""]
    for v, by_split in rows.items():
        lines += [f"### {name(v)}", "",
                  "| threshold | dev cost | dev reads | dev WER % | dev Δ | test cost | test exit layer (fw) | test "
                  "reads | test WER % | test Δ [95% CI] |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for a, b in zip(by_split["dev"], by_split["test"]):
            lines.append(f"| {a['threshold']:g} | {a['cost']:.2f} | {a['reads_fw']:.2f} | {a['wer']:.2f} | "
                         f"{a['delta']:+.2f} | {b['cost']:.2f} | {b['exit_layer_fw']:.2f} | {b['reads_fw']:.2f} | "
                         f"{b['wer']:.2f} | {b['delta']:+.2f} [{b['ci'][0]:+.2f}, {b['ci'][1]:+.2f}] |")
        below = sum(b["delta"] < 0 for b in by_split["test"])
        lines += ["", f"Test points below the fixed-depth curve: {below}/{len(by_split['test'])}.", ""]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Confidence-based early exit against fixed depths: WER vs mean executed layers.

One encoder pass per utterance gives, at every layer N, the greedy CTC hypothesis of the
first-N-layers network and the confidences of the early-exit measures
(:mod:`espnet_layerprune.inference.early_exit`). An early-exit decode at threshold T is then fully
determined: it stops at the first candidate layer (>= min_depth) whose confidence is >= T,
and outputs that layer's hypothesis. The sweep over T reads these tables instead of
re-decoding; the script checks on ``--verify_utts`` utterances that the real decoder
(``Speech2Text(prune_depth="auto")``) exits at the same layers with the same text.

Compute is the *frame-weighted* mean of executed layers (sum over utterances of layers x
frames / frames): an encoder layer costs in proportion to the frames it runs on, so a
policy that stops short utterances early must not look cheaper than it is. The plain
per-utterance mean is reported next to it. The learned gate (``--exit_measure learned``)
is fitted here on the dev tables, as ``bin.calibrate`` fits it; its dev rows are therefore
in-sample, its test rows are not.

Writes ``--out`` (markdown) and a plot next to it (same name, .png)::

    cd egs2/synth_en/asr1
    python ../../../benchmarks/early_exit.py --exp_dir exp_full/asr_train_supernet_ep30_bpe256 \\
        --dev full/data/dev --test full/data/test --out ../../../docs/results/early_exit.md
"""

import argparse
import logging
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import espnet_layerprune  # noqa: E402,F401
from espnet_layerprune.inference.speech2text import Speech2Text  # noqa: E402
from espnet_layerprune.core.ctc import error_rates  # noqa: E402
from espnet_layerprune.models.pruning import head_for  # noqa: E402
from espnet_layerprune.core.data import load_utterances  # noqa: E402
from espnet_layerprune.core.ctc import word_errors  # noqa: E402
from espnet_layerprune.inference.early_exit import CONFIDENCE, EarlyExit, ExitTracker  # noqa: E402
from espnet_layerprune.inference.exit_gate import ExitGate, gate_dataset  # noqa: E402
from provenance import header  # noqa: E402

THRESHOLDS = (0.5, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995)
GATE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)  # probabilities of the learned gate
CONFIDENCES = ("max_posterior", "entropy")


@torch.no_grad()
def layer_tables(s2t: Speech2Text, utts):
    """Per utterance: greedy text and CTC log-posteriors at every depth (one encoder pass)."""
    texts, logps = [], []
    for n, utt in enumerate(utts, 1):
        layers = s2t.depth_posteriors(utt.speech)
        texts.append({d: s2t.greedy_text(lp) for d, lp in layers.items()})
        logps.append([layers[d] for d in sorted(layers)])
        if n % 50 == 0:
            logging.info("%d/%d utterances", n, len(utts))
    return texts, logps


def exit_layers(logps, policy: EarlyExit, exits, blank: int) -> np.ndarray:
    """Exit layer (1-based) per utterance, decided by the decoder's own :class:`ExitTracker`."""
    out = []
    for layers in logps:
        tracker = ExitTracker(policy, exits, blank)
        out.append(next((n for n, lp in enumerate(layers, 1) if tracker.update(n, lp)), len(layers)))
    return np.array(out)


def wer_of(utts, texts, layers) -> float:
    return 100 * error_rates([u.text for u in utts], [t[int(d)] for t, d in zip(texts, layers)])[0]


def delta_interval(errors, words, depth: float, layers, draws: int = 2000, seed: int = 0):
    """95% paired-bootstrap interval (over utterances) of early-exit WER minus the fixed-depth WER
    interpolated at ``depth``; ``errors``: word errors (utterances x depths 1..L), ``layers``: exit layers."""
    lo = int(np.clip(np.floor(depth), 1, errors.shape[1]))
    hi = min(lo + 1, errors.shape[1])
    w = depth - lo
    rows = np.arange(len(errors))
    diff = errors[rows, np.asarray(layers) - 1] - ((1 - w) * errors[:, lo - 1] + w * errors[:, hi - 1])
    pick = np.random.default_rng(seed).integers(0, len(diff), size=(draws, len(diff)))
    deltas = 100 * diff[pick].sum(1) / words[pick].sum(1)
    return tuple(float(x) for x in np.percentile(deltas, [2.5, 97.5]))


def mean_depths(logps, layers):
    """(frame-weighted, per-utterance) mean executed layers."""
    frames = np.array([lp[0].size(0) for lp in logps], float)
    layers = np.asarray(layers, float)
    return float((layers * frames).sum() / frames.sum()), float(layers.mean())


def fit_gate_on(utts, texts, logps, blank) -> ExitGate:
    """The learned gate from the dev tables (what bin.calibrate fits)."""
    errors = [[word_errors(u.text, t[d])[0] for d in sorted(t)] for u, t in zip(utts, texts)]
    return ExitGate.fit(*gate_dataset(logps, errors, blank))


def verify(args, utts, texts, logps, exits, blank, policy: EarlyExit):
    """The real decoder exits where the tables say, with the same text."""
    s2t = Speech2Text(args.asr_train_config, args.asr_model_file, prune_depth="auto",
                      exit_threshold=policy.threshold, exit_measure=policy.measure, exit_min_depth=policy.min_depth,
                      exit_patience=policy.patience, exit_gate=policy.gate, ctc_greedy=True, beam_size=1,
                      ctc_weight=1.0, nbest=1)
    n = min(args.verify_utts, len(utts))
    expected = exit_layers(logps[:n], policy, exits, blank)
    for i, utt in enumerate(utts[:n]):
        text = s2t(utt.speech)[0][0]
        got = s2t.last_exit["layer"]
        if got != expected[i] or text != texts[i][got]:
            raise SystemExit(f"verification failed on {utt.key}: decoder exits at {got} ({text!r}), "
                             f"tables say {expected[i]} ({texts[i][expected[i]]!r})")
    logging.info("verified %d utterances (%s)", n, policy)


def time_side_by_side(args, utts, depth: int, policies: dict, repeats: int = 3):
    """Median decode time per utterance: early-exit policies vs fixed depth vs full, interleaved, 1 thread."""
    common = dict(ctc_greedy=True, beam_size=1, ctc_weight=1.0, nbest=1)
    decoders = {name: Speech2Text(args.asr_train_config, args.asr_model_file, prune_depth="auto",
                                  exit_threshold=p.threshold, exit_measure=p.measure, exit_min_depth=p.min_depth,
                                  exit_patience=p.patience, exit_gate=p.gate, **common)
                for name, p in policies.items()}
    decoders[f"depth {depth}"] = Speech2Text(args.asr_train_config, args.asr_model_file, prune_depth=depth, **common)
    decoders["full"] = Speech2Text(args.asr_train_config, args.asr_model_file, **common)
    totals = {name: [] for name in decoders}
    for _ in range(repeats):
        for name, s2t in decoders.items():
            start = time.perf_counter()
            for utt in utts:
                s2t(utt.speech)
            totals[name].append(time.perf_counter() - start)
    audio = sum(len(u.speech) for u in utts) / 16000
    return {name: float(np.median(v)) / audio for name, v in totals.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True, help="Model dir with config.yaml and the model file.")
    p.add_argument("--model_file", default="valid.loss.ave.pth")
    p.add_argument("--dev", required=True, help="Kaldi dir: thresholds are chosen here.")
    p.add_argument("--test", required=True, help="Kaldi dir: reported.")
    p.add_argument("--min_depth", type=int, default=1)
    p.add_argument("--patience", type=int, nargs="+", default=[0, 1])
    p.add_argument("--thresholds", default="fixed",
                   help="'fixed' (0.5 ... 0.995), 'quantiles' (13 quantiles of each measure's confidences over "
                   "all layers of the dev set: for models whose confidences sit low), or a list like 0.8,0.9")
    p.add_argument("--verify_utts", type=int, default=30)
    p.add_argument("--timing_utts", type=int, default=60)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s: %(message)s")
    logging.getLogger().setLevel(logging.INFO)
    torch.set_num_threads(1)
    args.asr_train_config = f"{args.exp_dir}/config.yaml"
    args.asr_model_file = f"{args.exp_dir}/{args.model_file}"
    s2t = Speech2Text(args.asr_train_config, args.asr_model_file, ctc_greedy=True, beam_size=1,
                      ctc_weight=1.0, nbest=1)
    logging.getLogger().setLevel(logging.WARNING)  # the decoder logs every hypothesis
    encoder, blank = s2t.asr_model.encoder, s2t.asr_model.blank_id
    L = encoder.num_layers
    exits = sorted(s2t.exit_depths)  # the depths with a CTC output: interctc_layer_idx and the top
    data = {}
    for split in ("dev", "test"):
        utts = load_utterances(getattr(args, split))
        data[split] = (utts, *layer_tables(s2t, utts))
    variants = [(m, pat) for pat in args.patience for m in CONFIDENCES] + [("learned", 0)]
    gate = fit_gate_on(*data["dev"], blank)
    logging.warning("learned gate fitted on dev: %s", gate.weights)

    def policy_of(t, m, pat):
        return EarlyExit(t, m, args.min_depth, pat, gate if m == "learned" else None)

    for m, pat in variants:
        verify(args, *data["test"], exits, blank, policy_of(0.95 if m != "learned" else 0.5, m, pat))

    grids = threshold_grids(args.thresholds, data["dev"][2], blank)
    rows = {split: {"fixed": [], **{v: [] for v in variants}} for split in data}
    for split, (utts, texts, logps) in data.items():
        errors = np.array([[word_errors(u.text, t[d])[0] for d in range(1, L + 1)] for u, t in zip(utts, texts)])
        words = np.array([len(u.text.split()) for u in utts])
        for d in range(1, L + 1):
            rows[split]["fixed"].append((None, float(d), wer_of(utts, texts, [d] * len(utts)), float(d), (0.0, 0.0)))
        for m, pat in variants:
            for t in grids[m]:
                layers = exit_layers(logps, policy_of(t, m, pat), exits, blank)
                depth, per_utt = mean_depths(logps, layers)
                rows[split][(m, pat)].append((t, depth, wer_of(utts, texts, layers), per_utt,
                                              delta_interval(errors, words, depth, layers)))

    def fixed_at(split, depth):  # fixed-depth WER linearly interpolated at a fractional mean depth
        fx = rows[split]["fixed"]
        return float(np.interp(depth, [r[1] for r in fx], [r[2] for r in fx]))

    # On dev, per variant: the threshold with the fewest layers whose WER is within 0.5 absolute of the
    # full model; the recommended variant is the one whose choice runs the fewest layers. Test reports.
    full_dev = rows["dev"]["fixed"][-1][2]
    chosen = {}
    for v in variants:
        ok = [r for r in rows["dev"][v] if r[2] <= full_dev + 0.5] or [rows["dev"][v][-1]]
        chosen[v] = min(ok, key=lambda r: r[1])
    best = min(variants, key=lambda v: chosen[v][1])
    policy = policy_of(chosen[best][0], *best)
    timing_depth = int(round(mean_depths(data["test"][2], exit_layers(data["test"][2], policy, exits, blank))[0]))
    timed = {f"early exit ({_name(best)} {policy.threshold:g})": policy}
    if best != ("learned", 0):
        timed[f"early exit (learned {chosen[('learned', 0)][0]:g})"] = policy_of(chosen[("learned", 0)][0], "learned", 0)
    rtf = time_side_by_side(args, data["test"][0][: args.timing_utts], timing_depth, timed)
    write_report(args, rows, fixed_at, chosen, best, policy, exits, L, rtf, {k: len(v[0]) for k, v in data.items()})


def threshold_grids(spec: str, dev_logps, blank: int) -> dict:
    """Thresholds per measure: a fixed grid, a list, or quantiles of the dev confidences."""
    grids = {"learned": list(GATE_THRESHOLDS)}
    if spec == "fixed":
        return {**grids, **{m: list(THRESHOLDS) for m in CONFIDENCES}}
    if spec != "quantiles":
        return {**grids, **{m: [float(t) for t in spec.split(",")] for m in CONFIDENCES}}
    for m in CONFIDENCES:
        conf = [CONFIDENCE[m](lp, blank) for layers in dev_logps for lp in layers]
        grids[m] = sorted({round(float(q), 4) for q in np.quantile(conf, np.linspace(0.05, 0.97, 13))})
    return grids


def _name(variant):
    measure, patience = variant
    return f"{measure}, patience {patience}"


def write_report(args, rows, fixed_at, chosen, best, policy, exits, L, rtf, sizes):
    out = Path(args.out)
    variants = list(chosen)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, split in zip(axes, ("dev", "test")):
        fx = rows[split]["fixed"]
        ax.plot([r[1] for r in fx], [r[2] for r in fx], "k-o", label="fixed depth (first N layers)")
        for k, v in enumerate(variants):
            ee = sorted(rows[split][v], key=lambda r: r[1])
            ax.plot([r[1] for r in ee], [r[2] for r in ee], f"C{k}-" + "s^vD"[k % 4], ms=4,
                    label=f"early exit, {_name(v)}")
        ax.set_xlabel("mean executed encoder layers, frame-weighted (compute)")
        ax.set_ylabel("WER % (greedy CTC)")
        ax.set_title(f"{split} ({sizes[split]} utterances)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)

    lines = ["# Early exit: WER against mean executed layers", ""]
    lines += header("1 thread")
    lines += [
        f"- model: `{args.exp_dir}/{args.model_file}` ({L} layers), greedy CTC; exits at layers {exits}, "
        f"min depth {args.min_depth}",
        f"- dev `{args.dev}` ({sizes['dev']} utt.), test `{args.test}` ({sizes['test']} utt.)",
        "- the exit layers and hypotheses of the real decoder (`--prune_depth auto`) were checked equal to the "
        f"tables on the first {args.verify_utts} test utterances for every variant (threshold 0.95)",
        "",
        f"![WER vs mean layers]({out.with_suffix('.png').name})",
        "",
        "## Fixed depth",
        "",
        "| depth | dev WER % | test WER % |",
        "|---:|---:|---:|",
    ]
    for (_, d, wd, *_), (_, _, wt, *_) in zip(rows["dev"]["fixed"], rows["test"]["fixed"]):
        lines.append(f"| {int(d)} | {wd:.2f} | {wt:.2f} |")
    summary = []
    for v in variants:
        lines += ["", f"## Early exit, {_name(v)}", "",
                  "| threshold | dev layers | (per utt.) | dev WER % | dev Δ | test layers | (per utt.) | test WER % "
                  "| test Δ |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for (t, dd, wd, du, ci_d), (_, dt, wt, tu, ci_t) in zip(rows["dev"][v], rows["test"][v]):
            mark = " (chosen on dev)" if t == chosen[v][0] else ""
            lines.append(f"| {t:g}{mark} | {dd:.2f} | {du:.2f} | {wd:.2f} | {wd - fixed_at('dev', dd):+.2f} "
                         f"[{ci_d[0]:+.2f}, {ci_d[1]:+.2f}] | {dt:.2f} | {tu:.2f} | {wt:.2f} | "
                         f"{wt - fixed_at('test', dt):+.2f} [{ci_t[0]:+.2f}, {ci_t[1]:+.2f}] |")
        for split in ("dev", "test"):
            pts = [r for r in rows[split][v] if r[1] < L - 1e-9]
            below = [r for r in pts if r[2] < fixed_at(split, r[1])]
            sure = [r for r in pts if r[4][1] < 0]
            span = f"mean depths {min(r[1] for r in pts):.1f}-{max(r[1] for r in pts):.1f}" if pts else "-"
            summary.append(f"| {_name(v)} | {split} | {len(below)}/{len(pts)} | {len(sure)}/{len(pts)} | {span} | "
                           f"{min((r[1] for r in pts if r[2] >= fixed_at(split, r[1])), default=float('nan')):.2f} |")
    lines += ["", "Layers: mean executed encoder layers weighted by frames (the compute); per utt.: the plain "
              "mean over utterances. Δ: early-exit WER minus the fixed-depth WER interpolated at the same "
              "frame-weighted depth (negative: early exit is better at equal compute), with its 95% paired "
              "bootstrap interval over utterances (2000 draws).", "",
              "## Summary", "",
              "| variant | split | points below the fixed-depth curve | of which the 95% interval is below 0 | over "
              "| lowest mean depth of a point not below |",
              "|---|---|---:|---:|---|---:|", *summary, "",
              f"Chosen on dev (fewest layers within 0.5 WER of the full model): **{_name(best)}, threshold "
              f"{policy.threshold:g}**.",
              "", "## Decode time (side by side, 1 thread, medians of 3 interleaved passes)", "",
              f"That policy (and the learned gate at its dev choice), the fixed depth nearest the chosen policy's "
              "mean test depth, and the full model, on the first "
              f"{args.timing_utts} test utterances (RTF = decode seconds / audio seconds; the exit decision "
              "costs a CTC projection per layer read):", "",
              "| decoder | RTF | vs full |", "|---|---:|---:|"]
    for name, value in rtf.items():
        lines.append(f"| {name} | {value:.4f} | {value / rtf['full']:.2f} |")
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

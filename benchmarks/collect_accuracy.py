#!/usr/bin/env python3
"""Collect benchmarks/accuracy_by_depth.sh (models x seeds) into docs/results/accuracy.md and plots.

Reads, for every ``<exp_dir>/asr_train_<model>[_seed<N>][_ep<E>]_<tokens>``, the greedy decodes of ONE
checkpoint (``decode_decode_ctc_<inference_model>/<test set>/{depth,size}*/1best_recog/text``: never a mix of
checkpoints), scores every test utterance against ``<data>/text`` and compares models with a paired bootstrap
over utterances and seeds: each draw resamples the test utterances, and each side's seeds, with replacement;
the interval is the 2.5-97.5 percentiles of the WER difference. The learning curves (validation CER of the
final layer per epoch, from ``train.log``) show whether each model has reached its plateau::

    python benchmarks/collect_accuracy.py --exp_dir egs2/synth_en/asr1/exp_full \\
        --data egs2/synth_en/asr1/full/data/test_study --out docs/results/accuracy.md
"""

import argparse
import re
import statistics
from pathlib import Path

import matplotlib
import numpy as np
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from provenance import header  # noqa: E402

from espnet_layerprune.core.ctc import word_errors  # noqa: E402

LABELS = {
    "baseline": "plain 12-layer model, pruned at run time",
    "supernet": "supernet: interCTC + stochastic depth",
    "supernet_matched": "supernet, compute-matched (4x updates)",
    "supernet_distill": "supernet + in-place distillation",
    "simple_top_k": "supernet: Simple-Top-k",
    "iterative_zero_out": "supernet: Iterative-Zero-Out",
    "simple_top_k_per_size_ctc": "supernet: Simple-Top-k, per-size CTC heads",
}
NAME = re.compile(r"^asr_train_(baseline|individual\d+_ictc|individual\d+|supernet_matched|supernet_distill|supernet|"
                  r"simple_top_k_per_size_ctc|simple_top_k|iterative_zero_out)(?:_seed(\d+))?(?:_ep\d+)?_(?:bpe\d+|char)$")
GOAL = 0.5  # WER points: "about as good as a model trained at that size"
NOTES = "<!-- notes: kept by collect_accuracy.py -->"


def _seconds(text: str) -> float:
    """ESPnet's "1 minute and 19.18 seconds" -> 79.18."""
    return sum(float(v) * {"hour": 3600, "minute": 60, "second": 1}[u]
               for v, u in re.findall(r"([\d.]+) (hour|minute|second)", text))


def training_log(train_log: Path):
    """(median epoch seconds x epochs, updates, [(epoch, valid CER % of the final layer)]) from ESPnet's log
    a redone epoch overwrites."""
    epochs, curve, updates = {}, {}, 0
    for line in train_log.read_text(errors="replace").splitlines():
        m = re.search(r"INFO: (\d+)epoch results: \[train\].*?time=([^,]+), total_count=(\d+)", line)
        if m:
            epochs[int(m.group(1))] = _seconds(m.group(2))
            updates = int(m.group(3))
            v = re.search(r"\[valid\].*?\bcer_ctc=([\d.]+)", line)
            if v:
                curve[int(m.group(1))] = 100 * float(v.group(1))
    cost = statistics.median(epochs.values()) * len(epochs) if epochs else float("nan")
    return cost, updates, sorted(curve.items())


def read_text(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        key, _, text = line.partition(" ")
        out[key] = text.strip()
    return out


def utterance_errors(hyp_file: Path, refs: dict) -> np.ndarray:
    """Word errors of every reference utterance, in ``refs`` order (a missing hypothesis is empty)."""
    hyps = read_text(hyp_file)
    return np.array([word_errors(r, hyps.get(k, ""))[0] for k, r in refs.items()], dtype=float)


def collect(exp_dir: Path, refs: dict, inference_model: str, test_set: str):
    """{model: {seed: {"depth": {d: errors}, "size": {k: (errors, params)}, "cost", "updates", "curve"}}}."""
    runs = {}
    for asr_dir in sorted(exp_dir.glob("asr_train_*")):
        m = NAME.match(asr_dir.name)
        if not m or not (asr_dir / "train.log").exists():
            continue
        model, seed = m.group(1), int(m.group(2) or 0)
        run = {"depth": {}, "size": {}, "params": {}, "dir": asr_dir.name}
        run["cost"], run["updates"], run["curve"] = training_log(asr_dir / "train.log")
        for hyp in sorted(asr_dir.glob(f"decode_decode_ctc_{inference_model}/{test_set}/*/1best_recog/text")):
            name = hyp.parent.parent.name
            kind = "depth" if name.startswith("depth") else "size"
            errors = utterance_errors(hyp, refs)
            if kind == "size":
                info = yaml.safe_load((hyp.parent.parent / "pruning.yaml").read_text()) or {}
                run["size"][int(name[4:])] = (errors, info.get("encoder_params_kept"))
            else:
                run["depth"][int(name[5:])] = errors
                info = yaml.safe_load((hyp.parent.parent / "pruning.yaml").read_text()) or {}
                run["params"][int(name[5:])] = info.get("encoder_params_kept")
        runs.setdefault(model, {})[seed] = run
    return runs


def paired_bootstrap(a, b, words, draws=4000, seed=0):
    """WER difference a - b (points) over the mean of each side's seeds, and its 95% interval: every draw
    resamples the utterances (paired) and each side's seeds."""
    return matched_bootstrap(a, [{0: 1.0}] * len(a), {0: b}.get, words, draws, seed)  # b: one "depth"


def wer_interval(errors_list, words, draws=2000, seed=0):
    """95% bootstrap interval of a model's WER (points), resampling test utterances and its seeds."""
    E = np.stack(errors_list)
    rng = np.random.default_rng(seed)
    values = np.empty(draws)
    for i in range(draws):
        u, s = rng.integers(len(words), size=len(words)), rng.integers(len(E), size=len(E))
        values[i] = 100 * E[s][:, u].mean(0).sum() / words[u].sum()
    return tuple(np.percentile(values, [2.5, 97.5]))


def matched_weights(params: int, individual_params: dict, individual) -> tuple:
    """How the individually trained models meet ``params`` encoder parameters: ({depth: weight}, description).

    Per utterance, their errors are interpolated linearly between the two individual models whose parameter
    counts bracket ``params``; outside their range, the nearest model stands alone.
    """
    below = [d for d in individual_params if individual_params[d] <= params and individual(d)]
    above = [d for d in individual_params if individual_params[d] >= params and individual(d)]
    if not below or not above:
        d = min((d for d in individual_params if individual(d)), key=lambda x: abs(individual_params[x] - params))
        return {d: 1.0}, f"nearest: {d} layers ({individual_params[d]:,}, {params / individual_params[d]:.2f}x)"
    lo, hi = max(below, key=individual_params.get), min(above, key=individual_params.get)
    if lo == hi:
        return {lo: 1.0}, f"{lo} layers ({individual_params[lo]:,}, equal)"
    w = (individual_params[hi] - params) / (individual_params[hi] - individual_params[lo])
    return {lo: w, hi: 1 - w}, f"{w:.2f} x {lo} layers + {1 - w:.2f} x {hi} layers"


def matched_bootstrap(a, weights, individual, words, draws=4000, seed=0):
    """WER difference a - b (points) and its 95% interval, b: the individual models interpolated per seed of a.

    A data-driven supernet's seeds may keep different parameter counts at one size, so each seed of ``a``
    has its own ``weights`` ({depth: weight}, from :func:`matched_weights`). Every draw resamples the
    utterances, ``a``'s seeds and each individual model's seeds (once, shared by all of ``a``'s seeds).
    """
    A = np.stack(a)
    depths = sorted({d for w in weights for d in w})
    W = np.array([[w.get(d, 0.0) for d in depths] for w in weights])  # (seeds of a, depths)
    I = [np.stack(individual(d)) for d in depths]
    rng = np.random.default_rng(seed)
    n = len(words)

    def diff(u, sa, seeds_of):
        b = W[sa].mean(0) @ np.stack([I[j][seeds_of[j]][:, u].mean(0) for j in range(len(depths))])
        return 100 * (A[sa][:, u].mean(0).sum() - b.sum()) / words[u].sum()
    point = diff(np.arange(n), np.arange(len(A)), [np.arange(len(x)) for x in I])
    diffs = [diff(rng.integers(n, size=n), rng.integers(len(A), size=len(A)),
                  [rng.integers(len(x), size=len(x)) for x in I]) for _ in range(draws)]
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return point, lo, hi


def wer(errors_list, words) -> str:
    values = [100 * e.sum() / words.sum() for e in errors_list]
    spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
    return f"{statistics.fmean(values):.2f}{spread} n={len(values)}"


def verdict(lo: float, hi: float, better: bool = False) -> str:
    """Within the goal (the interval inside +GOAL), beyond it, or undecided; ``better``: the claim is
    that a is better than b (the interval below 0)."""
    if better:
        return "holds" if hi < 0 else ("fails" if lo > 0 else "undecided")
    return "holds" if hi <= GOAL else ("fails" if lo > GOAL else "undecided")


SUPERNETS = ("supernet", "supernet_distill", "supernet_matched")  # the plain one, then its variants
# Trained at unit sizes, not depths: a block depth below the full one is a network no training pass ran
# (issue 22, item 2), so only their full depth enters the depth comparisons; their sizes have a table.
DATA_DRIVEN = ("simple_top_k", "iterative_zero_out", "simple_top_k_per_size_ctc")


def compared_at_depth(model: str, depth: int, full: int) -> bool:
    """Whether ``model`` cut to ``depth`` is a network it was trained to be (data-driven: full depth only)."""
    return model not in DATA_DRIVEN or depth == full


def trained_sizes(model_runs: dict) -> list:
    """A data-driven supernet's sizes, largest first: (units, encoder parameters per seed, errors per seed).

    The parameter counts are per seed: each seed's learned scores may keep different units at one size.
    """
    sizes = sorted({k for r in model_runs.values() for k in r["size"]}, reverse=True)
    seeds = {k: [r["size"][k] for r in model_runs.values() if k in r["size"]] for k in sizes}  # (errors, params)
    return [(k, [params or 0 for _, params in seeds[k]], [errs for errs, _ in seeds[k]]) for k in sizes]


def compared_with_supernet(rows, full: int) -> list:
    """The models of the supernet-variant table: its variants, and the full-depth model with interCTC.

    That model is the supernet's own config without stochastic depth, so its row, at every depth, is what
    stochastic depth adds to run-time pruning beyond deep supervision.
    """
    return [m for m in rows if m in SUPERNETS[1:] or m == f"individual{full}_ictc"]


def individual_errors(errors, depth: int, full: int) -> list:
    """The individually trained model at ``depth``: at full depth the plain model ("baseline") is it."""
    return errors("baseline", depth) if depth == full else errors(f"individual{depth}", depth)


def claims_to_test(errors, rows, depths, label) -> list:
    """Every paired comparison of the page: (claim, a label, b label, depth, a errors, b errors, better).

    ``errors(model, depth)`` lists one per-utterance error array per seed; ``rows`` the models present;
    ``depths`` from the full depth down (the plain full-depth model IS the individual model there).
    """
    full = depths[0] if depths else 0
    out = []
    for d in depths:
        b = individual_errors(errors, d, full)
        if not b:
            continue
        for m in rows:
            if m.startswith("individual") or (m == "baseline" and d == full) or not compared_at_depth(m, d, full):
                continue
            a = errors(m, d)
            if a:
                claim = "paper 2: full supernet slightly better" if d == full and m != "baseline" else \
                    "paper 1: pruned = individual" if m != "baseline" else "plain model pruned"
                out.append((claim, label.get(m, m), f"individual {d}", d, a, b, d == full and m != "baseline"))
        for m in [k for k in rows if k.endswith("_ictc")]:
            if errors(m, d):
                claim = ("deep supervision alone" if m == f"individual{d}_ictc"
                         else "interCTC without stochastic depth, pruned")
                out.append((claim, label[m], f"individual {d}", d, errors(m, d), b, False))
        # The same depth trained alone WITH interCTC: what sharing the weights costs, deep supervision aside.
        alone = errors(f"individual{d}_ictc", d)
        for m in [k for k in rows if k in SUPERNETS]:
            if alone and errors(m, d):
                out.append(("shared = trained alone with interCTC", label.get(m, m), label[f"individual{d}_ictc"], d,
                            errors(m, d), alone, False))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", type=Path, required=True)
    p.add_argument("--data", type=Path, required=True, help="the test Kaldi dir (its text)")
    p.add_argument("--inference_model", default="valid.loss.ave", help="the checkpoint whose decodes are read")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    refs = read_text(args.data / "text")
    words = np.array([len(r.split()) for r in refs.values()], dtype=float)
    runs = collect(args.exp_dir, refs, args.inference_model, args.data.name)

    def errors(model, depth):
        return [r["depth"][depth] for r in runs.get(model, {}).values() if depth in r["depth"]]

    depths = sorted({d for seeds in runs.values() for r in seeds.values() for d in r["depth"]}, reverse=True)
    full = depths[0] if depths else 0  # the plain full-depth model ("baseline") IS the individual model there

    def individual(d):
        return individual_errors(errors, d, full)
    rows = [m for m in ["baseline", *sorted(k for k in runs if k.startswith("individual")), *LABELS] if m in runs]
    rows = [m for m in dict.fromkeys(rows) if any(r["depth"] or r["size"] for r in runs[m].values())]
    label = {**LABELS, **{m: f"individual {m[10:].replace('_ictc', '')} layers + interCTC" for m in runs
                          if m.endswith("_ictc")}, **{m: f"individual {m[10:]} layers" for m in runs
                                                      if re.fullmatch(r"individual\d+", m)}}
    lines = ["# The papers' claims at a converged operating point", "",
             *header("2 threads, no GPU", "benchmarks/accuracy_by_depth.sh --preset full; "
                     f"python benchmarks/collect_accuracy.py --exp_dir {args.exp_dir} --data {args.data} "
                     f"--out {args.out}", from_dir="egs2/synth_en/asr1"),
             f"- decoding: greedy CTC, checkpoint `{args.inference_model}` only, {len(refs)} test utterances "
             f"({int(words.sum())} words, `{args.data}`) of held-out voices; cells: WER % mean over seeds (range) and n seeds",
             "", "## Test WER (%) by depth", "",
             "| model | " + " | ".join(f"depth {d}" for d in depths) + " |", "|---|" + "---:|" * len(depths)]
    for m in rows:
        lines.append(f"| {label.get(m, m)} | " + " | ".join(
            wer(errors(m, d), words) if errors(m, d) else "-" for d in depths) + " |")
    if any(m in DATA_DRIVEN for m in rows):
        lines += ["", "The data-driven supernets were trained at unit sizes, not depths: their cells below the full "
                  "depth are block cuts no training pass ran (shown, not compared); their sizes are compared below."]

    comparisons = claims_to_test(errors, rows, depths, label)
    lines += ["", "## Differences to the individually trained model (WER points, a - b)", "",
              f"Paired bootstrap over test utterances and seeds (4000 draws), 95% interval. *within {GOAL}*: "
              f"the interval lies below +{GOAL} (the supernet is as good as the individual model, within the "
              "goal); *beyond*: it lies above; for the full-depth supernet the claim is *better* (interval "
              "below 0).", "",
              "| claim | a | b | depth | a - b | 95% interval | verdict |", "|---|---|---|---:|---:|---|---|"]
    for claim, la, lb, d, a, b, better in comparisons:
        point, lo, hi = paired_bootstrap(a, b, words)
        lines.append(f"| {claim} | {la} | {lb} | {d} | {point:+.2f} | [{lo:+.2f}, {hi:+.2f}] | "
                     f"{verdict(lo, hi, better)} |")

    variants = compared_with_supernet(rows, full)
    if variants and "supernet" in rows:
        lines += ["", "## Supernet variants against the supernet (WER points, a - b)", "",
                  "The same paired bootstrap; negative: the variant is better. The individual "
                  f"{full}-layer model with interCTC is the supernet's config without stochastic depth, pruned "
                  "the same way: positive there is what stochastic depth adds.", "",
                  "| a | depth | a - b | 95% interval |", "|---|---:|---:|---|"]
        for m in variants:
            for d in depths:
                if errors(m, d) and errors("supernet", d):
                    point, lo, hi = paired_bootstrap(errors(m, d), errors("supernet", d), words)
                    lines.append(f"| {label.get(m, m)} | {d} | {point:+.2f} | [{lo:+.2f}, {hi:+.2f}] |")

    sized = [m for m in rows if any(r["size"] for r in runs[m].values())]
    individual_params = {}  # depth -> encoder parameters of the individually trained model
    for d in depths:
        key = "baseline" if d == full else f"individual{d}"
        found = [r["params"].get(d) for r in runs.get(key, {}).values() if r["params"].get(d)]
        if found:
            individual_params[d] = found[0]
    if sized:
        lines += ["", "## Data-driven supernets at their trained sizes, against individual models of equal "
                  "parameter count", "",
                  "Sizes count units, and units differ in size (an FFN unit has about 6x the parameters of an "
                  "MHSA unit), so each trained size is compared with the individually trained models at its "
                  "encoder's parameter count: per test utterance, the errors interpolated linearly between the two "
                  "individual models whose parameter counts bracket it (outside their range: the nearest model). "
                  "Seeds may keep different units at one size: each seed is matched at its own count (the "
                  "bootstrap also resamples the individual models' seeds).",
                  "", "| model | size (units) | encoder params | WER % | individual models matched | a - b | "
                  "95% interval | verdict |", "|---|---:|---:|---:|---|---:|---|---|"]
        for m in sized:
            for k, params, errs in trained_sizes(runs[m]):
                match = "-"
                cells = "- | - | -"
                if all(params) and any(individual(d) for d in individual_params):
                    weights, how = zip(*(matched_weights(q, individual_params, individual) for q in params))
                    match = "; ".join(dict.fromkeys(how))  # one description per distinct parameter count
                    point, lo, hi = matched_bootstrap(errs, weights, individual, words)
                    cells = f"{point:+.2f} | [{lo:+.2f}, {hi:+.2f}] | {verdict(lo, hi)}"
                count = f"{min(params):,}" if len(set(params)) == 1 else f"{min(params):,}-{max(params):,}"
                lines.append(f"| {label.get(m, m)} | {k} | {count} | {wer(errs, words)} | {match} | {cells} |")

    lines += ["", "## Training cost and operating point (seed 0)", "",
              "Median epoch time x epochs (the 2 cores were shared with other work at times: rough), updates, and "
              "the validation CER of the final layer (ESPnet's stock CTC model logs no WER): best epoch, and the change over the last 10 epochs (median "
              "of the last 5 minus the median of the 5 before: near 0 = plateau).", "",
              "| model | minutes | updates | best valid CER % | last-10-epoch change |", "|---|---:|---:|---:|---:|"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in rows:
        run = runs[m].get(0)
        if run is None or not (run["depth"] or run["size"]):  # still training: no decodes yet
            continue
        curve = run["curve"]
        vals = [v for _, v in curve]
        change = (statistics.median(vals[-5:]) - statistics.median(vals[-10:-5])) if len(vals) >= 10 else float("nan")
        lines.append(f"| {label.get(m, m)} | {run['cost'] / 60:.1f} | {run['updates']} | "
                     f"{min(vals) if vals else float('nan'):.2f} | {change:+.2f} |")
        if curve:
            ax.plot([e for e, _ in curve], vals, label=label.get(m, m), lw=1)
    ax.set_xlabel("epoch (150 updates)")
    ax.set_ylabel("validation CER % (final layer, greedy)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    curves = args.out.with_name(args.out.stem + "_curves.png")
    fig.savefig(curves, dpi=120)

    def draw(ax, m, xs, errs, **style):
        means = [statistics.fmean(100 * e.sum() / words.sum() for e in es) for es in errs]
        bounds = [wer_interval(es, words) for es in errs]
        ax.errorbar(xs, means, yerr=[[m_ - lo for m_, (lo, _) in zip(means, bounds)],
                                     [hi - m_ for m_, (_, hi) in zip(means, bounds)]], capsize=4,
                    label="individually trained" if m == "individual" else label.get(m, m), **style)

    # Left: by depth (data-driven supernets only at full depth: their cuts were never trained). Right: by
    # encoder parameters, where a data-driven size meets the individual models it is compared with.
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    models = [m for m in rows if not m.startswith("individual") or m in variants]  # + the ablation
    color = {m: f"C{i}" for i, m in enumerate(models)}  # one colour per model in both panels
    for m in ["individual"] + models:
        ds = [d for d in depths if (individual(d) if m == "individual" else errors(m, d))
              and compared_at_depth(m, d, full)]
        if ds:
            errs = [individual(d) if m == "individual" else errors(m, d) for d in ds]
            style = dict(fmt="ko-") if m == "individual" else dict(fmt="o--" if m not in DATA_DRIVEN else "s",
                                                                     color=color[m])
            draw(ax, m, ds, errs, **style)
            # A depth-d cut runs as many encoder parameters as the d-layer individual model.
            if (m == "individual" or m in SUPERNETS) and all(d in individual_params for d in ds):
                draw(bx, m, [individual_params[d] / 1e6 for d in ds], errs, **style)
    for m in sized:
        _, params, errs = zip(*trained_sizes(runs[m]))
        draw(bx, m, [statistics.fmean(q) / 1e6 for q in params], errs, fmt="s--", color=color[m])  # seeds' mean
    ax.set_xlabel("encoder depth")
    ax.set_ylabel("test WER % (greedy CTC); bars: 95% interval")
    ax.set_yscale("log")  # 3% beside 84%: the individual and supernet curves stay apart
    ax.set_xticks(depths)
    ax.invert_xaxis()
    bx.set_xlabel("encoder parameters (millions); data-driven: trained sizes")
    bx.set_ylabel("test WER %")
    bx.invert_xaxis()
    for a in (ax, bx):
        a.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.tight_layout()
    png = args.out.with_suffix(".png")
    fig.savefig(png, dpi=120)
    lines += ["", f"![WER against depth (left) and encoder parameters (right), bars: 95% bootstrap interval over test "
              f"utterances and seeds]({png.name})", "",
              f"![validation CER against epochs]({curves.name})", ""]
    notes = ""  # a person's reading of the tables, kept across reruns
    if args.out.exists() and NOTES in args.out.read_text():
        notes = args.out.read_text()[args.out.read_text().index(NOTES):]
    args.out.write_text("\n".join(lines) + "\n" + notes)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

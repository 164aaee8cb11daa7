"""What each layer of a prunable encoder does, on a dev set (``python -m espnet_layerprune.bin.analyze``).

:func:`analyze` writes, into a directory:

* ``svcca.npy``, ``svcca.png``: SVCCA similarity between all layer outputs (L x L);
* ``layer_importance.{csv,md,png}``: dev CER/WER when each single layer is
  removed, and the SVCCA similarity of each layer's output to its input;
* ``depth_by_strategy.{csv,md,png}``: dev CER/WER at every depth for every
  selection strategy, with the kept layers.
"""

import csv
import logging
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from espnet_layerprune.analysis.plotting import pyplot
from espnet_layerprune.analysis.selection import select_layers
from espnet_layerprune.analysis.svcca import similarity_matrix, svcca

#: What :func:`analyze` writes (the command line refuses to replace them unasked).
OUTPUTS = ("svcca.npy", "svcca.png", "layer_importance.csv", "depth_by_strategy.csv")


# ---------------------------------------------------------------- tables
def _write_table(stem: Path, header: List[str], rows: List[list]) -> None:
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    fmt = [f"{v:.2f}" if isinstance(v, float) else str(v) for row in rows for v in row]
    cells = [fmt[i : i + len(header)] for i in range(0, len(fmt), len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------- plots
def plot_svcca(matrix: np.ndarray, path: Path) -> None:
    """Heatmap of the L x L SVCCA matrix, numbered layers, values in the cells."""
    plt = pyplot()
    L = matrix.shape[0]
    size = max(4.5, 0.45 * L + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    # Colour range from just below the smallest value, so that close values
    # (deep encoders are often all above 0.9) stay distinguishable.
    vmin = min(max(0.0, np.floor(matrix.min() * 20) / 20), 0.95)
    im = ax.imshow(matrix, vmin=vmin, vmax=1.0, cmap="viridis", origin="upper")
    ticks = np.arange(L)
    ax.set_xticks(ticks, [str(i + 1) for i in ticks])
    ax.set_yticks(ticks, [str(i + 1) for i in ticks])
    ax.set_xlabel("layer")
    ax.set_ylabel("layer")
    ax.set_title("SVCCA similarity of layer outputs")
    digits = 3 if vmin >= 0.9 else 2
    if L <= 16:
        for i in range(L):
            for j in range(L):
                v = matrix[i, j]
                bright = (v - vmin) / (1.0 - vmin) > 0.6
                ax.text(j, i, f"{v:.{digits}f}", ha="center", va="center", fontsize=8,
                        color="black" if bright else "white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="mean canonical correlation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_layer_importance(rows: List[list], full, path: Path) -> None:
    """Bars: dev error increase without each layer; SVCCA(input, output) per layer."""
    plt = pyplot()
    layers = np.array([r[0] for r in rows])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(9, 0.6 * len(rows) + 5), 4))
    width = 0.4
    ax1.bar(layers - width / 2, [r[4] for r in rows], width, label="WER", color="tab:blue")
    ax1.bar(layers + width / 2, [r[3] for r in rows], width, label="CER", color="tab:orange")
    ax1.axhline(0.0, color="black", linewidth=0.8)
    ax1.set_xlabel("removed layer")
    ax1.set_ylabel("dev error increase (% points)")
    ax1.set_xticks(layers)
    ax1.set_title("Error when one layer is removed\n"
                  f"(all layers: WER {full.wer:.1f}%, CER {full.cer:.1f}%)")
    ax1.legend(fontsize=8, loc="best")
    bars = ax2.bar(layers, [r[5] for r in rows], color="tab:green")
    ax2.bar_label(bars, fmt="%.3f", fontsize=8)
    ax2.set_ylim(0, 1.1)
    ax2.set_xticks(layers)
    ax2.set_xlabel("layer")
    ax2.set_ylabel("SVCCA(input, output)")
    ax2.set_title("Similarity to its input (higher = safer to prune)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_depth_by_strategy(selections: Dict[str, object], path: Path) -> None:
    """Dev WER and CER against depth, one line per strategy."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = [("o", "-"), ("s", "--"), ("^", "-."), ("D", ":"), ("v", "-")]
    for k, (name, sel) in enumerate(selections.items()):
        depths = sorted(sel.scores)
        marker, line = styles[k % len(styles)]
        for ax, metric in zip(axes, ("wer", "cer")):
            # Distinct markers and dashes: strategies that agree stay visible.
            ax.plot(depths, [sel.scores[d].get(metric) for d in depths], marker=marker,
                    linestyle=line, markersize=9 - 1.5 * (k % 4), alpha=0.85, label=name)
    L = max(sel.num_layers for sel in selections.values())
    for ax, metric in zip(axes, ("WER", "CER")):
        ax.set_xlabel("encoder depth (kept layers)")
        ax.set_ylabel(f"dev {metric} (%)")
        ax.set_title(f"Dev {metric} by depth")
        ax.set_xticks(range(1, L + 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- the analysis
def analyze(evaluator, out_dir: Path, strategies: List[str], variance: float = 0.99) -> None:
    """Write the SVCCA matrix, the layer importance and the depth-by-strategy reports."""
    L, full_layers = evaluator.num_layers, tuple(range(1, evaluator.num_layers + 1))
    start = time.perf_counter()

    acts = evaluator.layer_outputs(full_layers)  # [input, out_1, ..., out_L]
    matrix = similarity_matrix(acts[1:], variance)
    np.save(out_dir / "svcca.npy", matrix)
    plot_svcca(matrix, out_dir / "svcca.png")
    logging.info("SVCCA matrix (%d x %d) on %d frames [%.1f s]", L, L, acts[0].shape[0],
                 time.perf_counter() - start)

    full = evaluator.evaluate(full_layers)
    rows = []
    if L > 1:
        removals = evaluator.evaluate_removals(full_layers)
        for i, l in enumerate(full_layers):
            s = removals[l]
            rows.append([l, s.cer, s.wer, s.cer - full.cer, s.wer - full.wer,
                         svcca(acts[i], acts[i + 1], variance)])
    header = ["removed_layer", "dev_cer", "dev_wer", "delta_cer", "delta_wer", "svcca_in_out"]
    _write_table(out_dir / "layer_importance", header, rows)
    if rows:
        plot_layer_importance(rows, full, out_dir / "layer_importance.png")
    logging.info("layer importance: all layers CER %.2f%% WER %.2f%% [%.1f s]",
                 full.cer, full.wer, time.perf_counter() - start)

    selections = {}
    for name in strategies:
        selections[name] = select_layers(name, evaluator, svcca_variance=variance)
        logging.info("strategy %s done [%.1f s]", name, time.perf_counter() - start)
    rows = [
        [d, name, " ".join(map(str, sel.layers[d])), sel.scores[d].cer, sel.scores[d].wer]
        for name, sel in selections.items()
        for d in sorted(sel.layers, reverse=True)
    ]
    header = ["depth", "strategy", "layers", "dev_cer", "dev_wer"]
    _write_table(out_dir / "depth_by_strategy", header, rows)
    plot_depth_by_strategy(selections, out_dir / "depth_by_strategy.png")
    logging.info("wrote %s (%d kept-layer sets scored) [%.1f s]", out_dir,
                 evaluator.evaluations, time.perf_counter() - start)

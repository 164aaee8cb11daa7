"""The units each size of a supernet keeps, as a Markdown table (``bin.size_table``): how many
FFN / MHSA / conv units, which blocks, and, per unit, the smallest size that keeps it (with its
learned score)."""

import re
from pathlib import Path
from typing import Union


def _kind(unit_name: str) -> str:
    # ffn1 and ffn2 are both FFNs.
    return re.sub(r"\d+$", "", unit_name)


def size_table(model) -> str:
    """The Markdown text of :func:`write_size_table`."""
    encoder, supernet = model.encoder, model.supernet
    names = encoder.unit_names
    kinds = list(dict.fromkeys(_kind(n) for n in names))
    labels = encoder.unit_labels()
    sizes = list(supernet.sizes)
    masks = {s: model.size_units(s) for s in sizes}
    scores = supernet.ranking_scores()
    if not supernet.scored:
        source = "method stochastic_depth: a size keeps the first units (whole blocks)"
    elif supernet.is_frozen:
        source = f"method {supernet.config.method}: masks frozen at the start of stage 2"
    else:
        source = (
            f"method {supernet.config.method}: stage 2 not reached, masks from the current "
            "scores"
        )
    lines = [
        "# Units kept per size",
        "",
        f"{type(encoder).__name__}: {encoder.num_layers} blocks x "
        f"{len(names)} units ({', '.join(names)}) = {encoder.num_units} units; "
        f"{source}.",
        "",
        "| size | blocks used | " + " | ".join(kinds) + " | kept units |",
        "|---:|---:|" + "---:|" * len(kinds) + "---|",
    ]
    per = encoder.units_per_layer
    for s in sizes:
        units = masks[s]
        blocks = {(u - 1) // per for u in units}
        counts = [sum(_kind(names[(u - 1) % per]) == k for u in units) for k in kinds]
        lines.append(
            f"| {s} | {len(blocks)} | "
            + " | ".join(str(c) for c in counts)
            + f" | {', '.join(labels[u - 1] for u in units)} |"
        )
    lines += [
        "",
        "## Smallest size that keeps each unit"
        + (" (learned score in parentheses)" if scores is not None else ""),
        "",
        "| block | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for b in range(encoder.num_layers):
        cells = []
        for j in range(per):
            u = b * per + j + 1
            smallest = next((s for s in sizes if u in masks[s]), None)
            cell = "-" if smallest is None else str(smallest)
            if scores is not None:
                cell += f" ({scores[u - 1].item():.2f})"
            cells.append(cell)
        lines.append(f"| L{b + 1} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_size_table(model, path: Union[str, Path]) -> Path:
    """Write the Markdown size table of a ``model: layerprune`` model.

    Args:
        model: A :class:`~espnet_layerprune.models.layerprune.LayerPruneASRModel`.
        path: Output file (e.g. ``exp/asr/size_table.md``).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(size_table(model), encoding="utf-8")
    return path

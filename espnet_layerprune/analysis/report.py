"""The report of a supernet's decodes: WER/CER, kept layers, parameters and RTF per decode, plots,
and the learning curve from ESPnet's train.log (``python -m espnet_layerprune.bin.report``).

A decode is a directory with ``pruning.yaml`` (this package's decoder writes it; asr.sh's parallel
jobs ``logdir/output.N`` count as one decode): :func:`find_decodes` finds them, :func:`score`
scores one against the references with jiwer (and writes ``score.json`` there),
:func:`learning_curve` reads the validation stats per epoch, :func:`write_report` writes it all.
"""

import json
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Optional

import jiwer
import yaml

from espnet_layerprune.analysis.plotting import pyplot
from espnet_layerprune.core.data import scp_entries

DECODE_PLOT = "results_by_depth.png"
CURVE_PLOT = "learning_curve.png"


@dataclass
class Decode:
    """One decode directory: its request, kept units and score."""

    root: Path
    request: str
    kept_layers: List[int]
    kept_units: int
    params: int
    params_total: int
    seconds: float
    wer: float = float("nan")
    cer: float = float("nan")
    utterances: int = 0
    rtf: Optional[float] = None


def _read_text(path: Path) -> Dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if parts:
                out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def _request_name(info: dict, root: Path) -> str:
    request = info.get("request") or {}
    for key in ("prune_layers", "prune_size", "prune_depth"):
        if request.get(key) is not None:
            value = request[key]
            value = ",".join(map(str, value)) if isinstance(value, list) else value
            return f"{key[len('prune_'):]} {value}"
    m = re.search(r"(depth|size)(\d+)$", root.name) or re.search(r"prune_(depth|size)_?(\d+)", str(root))
    return f"{m.group(1)} {m.group(2)}" if m else "full"


def find_decodes(exp_dir: Path) -> List[Decode]:
    """Every decode below ``exp_dir``: one per directory with ``pruning.yaml``
    (asr.sh's parallel jobs ``logdir/output.N`` count as one decode)."""
    roots: Dict[Path, List[Path]] = {}
    for info in sorted(exp_dir.rglob("pruning.yaml")):
        job = info.parent
        root = job.parent.parent if job.parent.name == "logdir" else job
        roots.setdefault(root, []).append(job)
    decodes = []
    for root, jobs in sorted(roots.items()):
        infos = [yaml.safe_load((j / "pruning.yaml").read_text()) for j in jobs]
        first = infos[0]
        decodes.append(Decode(
            root=root, request=_request_name(first, root), kept_layers=first["kept_layers"],
            kept_units=len(first["kept_units"]), params=first["encoder_params_kept"],
            params_total=first["encoder_params_total"],
            seconds=max(i.get("decode_seconds", 0.0) for i in infos),  # jobs run in parallel
        ))
    return decodes


def hypotheses(decode: Decode) -> Dict[str, str]:
    """The 1-best text of a decode (merged over asr.sh's jobs)."""
    merged = decode.root / "text"
    if merged.is_file():
        return _read_text(merged)
    hyps: Dict[str, str] = {}
    for path in sorted(decode.root.rglob("1best_recog/text")):
        hyps.update(_read_text(path))
    if not hyps:
        raise FileNotFoundError(f"no hypotheses (text or 1best_recog/text) in {decode.root}")
    return hyps


def score(decode: Decode, refs: Dict[str, str]) -> None:
    """WER/CER with jiwer against ``refs``; writes ``score.json`` in the decode directory."""
    hyps = hypotheses(decode)
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise ValueError(f"{decode.root}: {len(missing)} utterances have no hypothesis, e.g. {missing[:3]}")
    keys = sorted(refs)
    ref, hyp = [refs[k] for k in keys], [hyps[k].strip() for k in keys]
    decode.wer, decode.cer, decode.utterances = 100 * jiwer.wer(ref, hyp), 100 * jiwer.cer(ref, hyp), len(keys)
    result = {"utterances": len(keys), "wer": decode.wer, "cer": decode.cer,
              "ref_words": sum(len(r.split()) for r in ref)}
    (decode.root / "score.json").write_text(json.dumps(result, indent=2) + "\n")


def audio_seconds(data_dir: Path, fs: Optional[int] = None) -> Optional[float]:
    """Total audio of a data dir, from ``utt2dur``, ``utt2num_samples`` (with the model's
    sampling rate ``fs``) or the wav headers."""
    if (data_dir / "utt2dur").is_file():
        return sum(float(v) for _, v in scp_entries(data_dir / "utt2dur"))
    if fs and (data_dir / "utt2num_samples").is_file():
        return sum(int(v) for _, v in scp_entries(data_dir / "utt2num_samples")) / fs
    if (data_dir / "wav.scp").is_file():
        import soundfile

        try:
            return sum(soundfile.info(p.strip()).duration for _, p in scp_entries(data_dir / "wav.scp"))
        except RuntimeError:
            return None
    return None


# ---------------------------------------------------------------- learning curve
_RESULTS = re.compile(r"^\S* ?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ .*?(\d+)epoch results: (.*)$")


def learning_curve(train_log: Path) -> List[dict]:
    """Per epoch: wall seconds since the start of training and the validation stats."""
    rows, start = [], None
    for line in train_log.read_text(errors="replace").splitlines():
        stamp = re.match(r"^\S* ?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", line)
        if stamp and start is None and "epoch started" in line:
            start = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")
        m = _RESULTS.match(line)
        if not m:
            continue
        when = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
        valid = m.group(3).split("[valid]", 1)[-1]
        stats = {k: float(v) for k, v in re.findall(r"(\w+)=([-\d.e+]+|nan)", valid) if v != "nan"}
        rows.append({"epoch": int(m.group(2)), "seconds": (when - (start or when)).total_seconds(), **stats})
    return rows


def _depth_rows(decodes: List[Decode]) -> List[Decode]:
    rows = sorted((d for d in decodes if d.request.startswith(("depth", "full"))), key=lambda d: -len(d.kept_layers))
    return rows or decodes


def plot_decodes(groups: Dict[str, List[Decode]], path: Path, title: str) -> None:
    """WER and CER against depth, one pair of lines per decoding; RTF of the first."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (label, decodes) in enumerate(groups.items()):
        rows = _depth_rows(decodes)
        depths = [len(d.kept_layers) for d in rows]
        suffix = f" ({label})" if len(groups) > 1 else ""
        ax.plot(depths, [d.wer for d in rows], "o-", color=f"C{2 * i}", label="WER" + suffix)
        ax.plot(depths, [d.cer for d in rows], "s--", color=f"C{2 * i + 1}", label="CER" + suffix)
    ax.set_xlabel("encoder depth (layers kept)")
    ax.set_ylabel("error rate (%)")
    ax.set_ylim(bottom=0)
    ax.invert_xaxis()
    rows = _depth_rows(next(iter(groups.values())))
    if all(d.rtf is not None for d in rows):
        ax2 = ax.twinx()
        ax2.plot([len(d.kept_layers) for d in rows], [d.rtf for d in rows], "^:", color="tab:red",
                 label="RTF" + (f" ({next(iter(groups))})" if len(groups) > 1 else ""))
        ax2.set_ylabel("real-time factor", color="tab:red")
        handles = [h for a in (ax, ax2) for h in a.get_legend_handles_labels()[0]]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize="small")
    else:
        ax.legend(loc="upper left", fontsize="small")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curve_columns(rows: List[dict]) -> List[str]:
    """The error columns to show: the final layer, then intermediate layers, deepest first."""
    keys = set().union(*rows) if rows else set()
    metric = "wer" if any(k.startswith("wer_ctc") for k in keys) else "cer"
    layers = sorted((int(k.rsplit("layer", 1)[1]) for k in keys if k.startswith(f"{metric}_interctc_layer")), reverse=True)
    return [f"{metric}_ctc"] + [f"{metric}_interctc_layer{n}" for n in layers]


def plot_curve(rows: List[dict], path: Path, title: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    minutes = [r["seconds"] / 60 for r in rows]
    columns = curve_columns(rows)
    shown = [columns[0]] + columns[1:][2::3]  # the top, and every third layer below it
    for col in shown:
        label = "final layer" if col.endswith("_ctc") else "layer " + col.rsplit("layer", 1)[1]
        ax.plot(minutes, [100 * r.get(col, float("nan")) for r in rows], "o-" if col == columns[0] else ".--",
                label=label)
    ax.set_xlabel("training wall time (min)")
    ax.set_ylabel(f"validation {columns[0][:3].upper()} (%, greedy CTC)")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curve_table(rows: List[dict]) -> List[str]:
    columns = curve_columns(rows)
    metric = columns[0][:3]
    cer = "cer_ctc" if metric == "wer" else None
    head = ["epoch", "minutes", "valid loss", f"{metric.upper()} final layer (%)"]
    if cer:
        head.append("CER final layer (%)")
    head += [f"{metric.upper()} layer {c.rsplit('layer', 1)[1]} (%)" for c in columns[1:][2::3]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [str(r["epoch"]), f"{r['seconds'] / 60:.1f}", f"{r.get('loss', float('nan')):.1f}",
                 f"{100 * r.get(columns[0], float('nan')):.1f}"]
        if cer:
            cells.append(f"{100 * r.get(cer, float('nan')):.1f}")
        cells += [f"{100 * r.get(c, float('nan')):.1f}" for c in columns[1:][2::3]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# ---------------------------------------------------------------- the report
def decode_table(decodes: List[Decode]) -> List[str]:
    lines = [
        "| request | kept layers | kept units | WER (%) | CER (%) | encoder params | RTF |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    order = sorted(decodes, key=lambda d: (not d.request.startswith(("depth", "full")), -d.kept_units))
    for d in order:
        rtf = f"{d.rtf:.4f}" if d.rtf is not None else "-"
        lines.append(
            f"| {d.request} | {','.join(map(str, d.kept_layers))} | {d.kept_units} | {d.wer:.2f} | "
            f"{d.cer:.2f} | {d.params / 1e6:.2f} M ({100 * d.params / d.params_total:.0f}%) | {rtf} |"
        )
    return lines


def write_report(exp_dirs, data_dir: Path, out: Path, title: Optional[str] = None,
                 train_log: Optional[Path] = None, fs: Optional[int] = None) -> str:
    """Score every decode below each of ``exp_dirs`` (one table each: e.g. greedy and
    lexicon decoding of one model) and write the Markdown report ``out``; ``fs``: the model's
    sampling rate, for a data dir that gives lengths in samples."""
    exp_dirs = [Path(exp_dirs)] if isinstance(exp_dirs, (str, Path)) else [Path(e) for e in exp_dirs]
    refs = _read_text(data_dir / "text")
    audio = audio_seconds(data_dir, fs)
    groups: Dict[str, List[Decode]] = {}
    for exp_dir in exp_dirs:
        decodes = find_decodes(exp_dir)
        if not decodes:
            raise ValueError(f"no decode directories (with pruning.yaml) below {exp_dir}")
        for d in decodes:
            score(d, refs)
            d.rtf = d.seconds / audio if audio else None
        groups[exp_dir.name if exp_dir.name not in ("test", data_dir.name) else exp_dir.parent.name] = decodes
    exp_dir = exp_dirs[0]
    title = title or exp_dir.name
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_decodes(groups, out.parent / DECODE_PLOT, f"{title}: one supernet, pruned at run time")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "unknown"
    first = next(iter(groups.values()))
    lines = [
        f"# RESULTS: {title}",
        "",
        f"- date: {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}; commit {commit}",
        f"- test set: {data_dir} ({first[0].utterances} utterances"
        + (f", {audio / 60:.1f} min of audio)" if audio else ")"),
        "",
    ]
    for label, decodes in groups.items():
        if len(groups) > 1:
            lines += [f"## {label}", ""]
        lines += [*decode_table(decodes), ""]
    lines += [f"![error and RTF against depth]({DECODE_PLOT})", ""]
    train_log = train_log or exp_dir / "train.log"
    rows = learning_curve(train_log) if train_log.is_file() else []
    if rows:
        plot_curve(rows, out.parent / CURVE_PLOT, f"{title}: learning curve")
        lines += ["## Learning curve (validation set, greedy CTC, every epoch)", "", *curve_table(rows), "",
                  f"![validation error against training time]({CURVE_PLOT})", ""]
    text = "\n".join(lines)
    out.write_text(text)
    return text

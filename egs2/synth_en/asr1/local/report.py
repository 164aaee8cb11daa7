#!/usr/bin/env python3
"""Write RESULTS.md (WER, CER, parameters, RTF per depth) and a PNG plot."""

import argparse
import json
import platform
import re
import subprocess
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import soundfile  # noqa: E402
import yaml  # noqa: E402


def audio_seconds(wav_scp: Path) -> float:
    total = 0.0
    with open(wav_scp) as f:
        for line in f:
            _, path = line.split(maxsplit=1)
            total += soundfile.info(path.strip()).duration
    return total


def collect(decode_dir: Path, audio: float) -> list:
    rows = []
    for d in sorted(decode_dir.glob("*")):
        m = re.fullmatch(r"(depth|size)(\d+)", d.name)
        if not m or not (d / "score.json").is_file():
            continue
        score = json.loads((d / "score.json").read_text())
        info = yaml.safe_load((d / "pruning.yaml").read_text())
        rows.append(
            {
                "kind": m.group(1),
                "value": int(m.group(2)),
                "depth": len(info["kept_layers"]),
                "units": len(info["kept_units"]),
                "layers": info["kept_layers"],
                "wer": score["wer"],
                "cer": score["cer"],
                "params": info["encoder_params_kept"],
                "params_total": info["encoder_params_total"],
                "rtf": info["decode_seconds"] / audio,
                "utts": score["utterances"],
            }
        )
    return sorted(rows, key=lambda r: (r["kind"], -r["value"]))


def plot(rows: list, path: Path, title: str) -> None:
    rows = [r for r in rows if r["kind"] == "depth"] or rows
    depths = [r["depth"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(depths, [r["wer"] for r in rows], "o-", color="tab:blue", label="WER")
    ax.plot(depths, [r["cer"] for r in rows], "s--", color="tab:cyan", label="CER")
    ax.set_xlabel("encoder depth (layers kept)")
    ax.set_ylabel("error rate on test (%)")
    ax.invert_xaxis()
    ax2 = ax.twinx()
    ax2.plot(depths, [r["rtf"] for r in rows], "^:", color="tab:red", label="RTF")
    ax2.set_ylabel("real-time factor (CPU)", color="tab:red")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decode_dir", type=Path, required=True)
    parser.add_argument("--wav_scp", type=Path, required=True)
    parser.add_argument("--train_config", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    audio = audio_seconds(args.wav_scp)
    rows = collect(args.decode_dir, audio)
    if not rows:
        raise SystemExit(f"error: no scored depth*/ directories in {args.decode_dir}")
    png = args.out.with_suffix(".png")
    plot(rows, png, f"{Path(args.train_config).stem}: one supernet, pruned at run time")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    lines = [
        f"# RESULTS: {Path(args.train_config).stem}",
        "",
        f"- date: {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {platform.machine()}, {platform.processor() or 'cpu'}, CPU decoding, batch size 1",
        f"- commit: {commit}",
        f"- test set: {rows[0]['utts']} utterances, {audio / 60:.1f} min of audio (held-out voices)",
        f"- decode dir: {args.decode_dir}",
        "",
        "| request | kept layers | kept units | WER (%) | CER (%) | encoder params | RTF |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        layers = ",".join(map(str, r["layers"]))
        lines.append(
            f"| {r['kind']} {r['value']} | {layers} | {r['units']} | {r['wer']:.2f} | {r['cer']:.2f} | "
            f"{r['params'] / 1e6:.2f} M ({100 * r['params'] / r['params_total']:.0f}%) | {r['rtf']:.4f} |"
        )
    lines += ["", f"![WER and RTF against depth]({png.name})", ""]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Model file size and peak decoding memory of exported depth-k models against the full one.

For each depth the supernet is exported with ``espnet_layerprune.bin.export`` (a stock ESPnet
``transformer`` model directory), then a fresh Python process loads it with ESPnet's own
``espnet2.bin.asr_inference.Speech2Text`` (this package not imported: what a device would run),
decodes ``--max_utts`` test utterances with CTC (beam 1) and reports its peak resident memory.
Every depth is decoded ``--repeats`` times, interleaved, and the median is reported.

Peak RSS includes the Python, torch and ESPnet libraries, the same for every depth; the
"RSS over baseline" column subtracts the RSS measured after those imports in the same process.

Writes ``docs/results/export_footprint.md`` and ``.png``::

    python benchmarks/export_footprint.py --data egs2/synth_en/asr1/data/test \\
        --asr_train_config egs2/synth_en/asr1/exp/asr_train_supernet_char/config.yaml \\
        --asr_model_file egs2/synth_en/asr1/exp/asr_train_supernet_char/valid.loss.ave.pth
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402
from provenance import REPO, header  # noqa: E402

# Runs in a clean process: stock ESPnet only. Prints one JSON line.
DECODE_SNIPPET = r"""
import json, resource, sys
import soundfile, torch
from espnet2.bin.asr_inference import Speech2Text
torch.set_num_threads(1)
baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
config, model_file, wav_scp, max_utts = sys.argv[1:5]
s2t = Speech2Text(asr_train_config=config, asr_model_file=model_file, device="cpu",
                  beam_size=1, ctc_weight=1.0, lm_weight=0.0, nbest=1)
params = sum(p.numel() for p in s2t.asr_model.parameters())
param_bytes = sum(p.numel() * p.element_size() for p in s2t.asr_model.parameters())
for line in open(wav_scp).read().splitlines()[: int(max_utts)]:
    wav, _ = soundfile.read(line.split(maxsplit=1)[1].strip(), dtype="float32")
    s2t(torch.from_numpy(wav))
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"params": params, "param_bytes": param_bytes,
                  "baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb / 1024}))
"""


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(map(str, cmd[:4]))} ... failed:\n{done.stderr[-3000:]}")
    return done.stdout


def export(args, depth: int, out_dir: Path) -> Path:
    run([sys.executable, "-m", "espnet_layerprune.bin.export", "--asr_train_config", args.asr_train_config,
         "--asr_model_file", args.asr_model_file, "--output_dir", str(out_dir), "--prune_depth", str(depth)])
    return out_dir


def decode_footprint(config: Path, model: Path, wav_scp: Path, max_utts: int) -> dict:
    out = run([sys.executable, "-c", DECODE_SNIPPET, str(config), str(model), str(wav_scp), str(max_utts)])
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="Kaldi dir with wav.scp")
    parser.add_argument("--asr_train_config", required=True)
    parser.add_argument("--asr_model_file", required=True)
    parser.add_argument("--depths", default=None, help="comma-separated depths (default: L, 3L/4, L/2, L/4)")
    parser.add_argument("--max_utts", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out_dir", type=Path, default=REPO / "docs" / "results")
    args = parser.parse_args()
    if args.repeats < 1 or args.max_utts < 1:
        parser.error("--repeats and --max_utts must be >= 1")

    L = int(yaml.safe_load(open(args.asr_train_config))["encoder_conf"]["num_blocks"])
    depths = [int(d) for d in args.depths.split(",")] if args.depths else sorted({L, 3 * L // 4, L // 2, max(1, L // 4)}, reverse=True)
    if any(not 1 <= d <= L for d in depths):
        parser.error(f"--depths must be in [1, {L}], got {args.depths}")

    with tempfile.TemporaryDirectory() as tmp:
        dirs = {d: export(args, d, Path(tmp) / f"depth{d}") for d in depths}
        print(f"exported depths {depths}", flush=True)
        runs = {d: [] for d in depths}
        for r in range(args.repeats):  # interleaved, so drift on a shared machine hits every depth alike
            for d in depths:
                runs[d].append(decode_footprint(dirs[d] / "config.yaml", dirs[d] / "model.pth",
                                                args.data / "wav.scp", args.max_utts))
            print(f"repeat {r + 1}/{args.repeats} done", flush=True)
        rows = []
        for d in depths:
            rows.append({
                "depth": d,
                "file_mb": (dirs[d] / "model.pth").stat().st_size / 2**20,
                "params": runs[d][0]["params"],
                "param_mb": runs[d][0]["param_bytes"] / 2**20,
                "peak_mb": statistics.median(x["peak_mb"] for x in runs[d]),
                "over_baseline_mb": statistics.median(x["peak_mb"] - x["baseline_mb"] for x in runs[d]),
            })
    write_report(args, rows)


def write_report(args, rows) -> None:
    full = rows[0]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Exported depth-k models: file size and peak decoding memory",
        "",
        *header("1 torch thread, no GPU"),
        f"- model: {args.asr_model_file} exported with `espnet_layerprune.bin.export --prune_depth k`",
        f"- decoding: stock `espnet2.bin.asr_inference.Speech2Text`, CTC beam 1, {args.max_utts} test "
        f"utterances in a fresh process; medians of {args.repeats} interleaved repeats",
        "",
        "| depth | model.pth MB | ratio | parameters | ratio | peak RSS MB | ratio | RSS over baseline MB | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['depth']} | {r['file_mb']:.2f} | {r['file_mb'] / full['file_mb']:.3f} | {r['params']:,} | "
            f"{r['params'] / full['params']:.3f} | {r['peak_mb']:.0f} | {r['peak_mb'] / full['peak_mb']:.3f} | "
            f"{r['over_baseline_mb']:.0f} | {r['over_baseline_mb'] / full['over_baseline_mb']:.3f} |"
        )
    lines += ["", "![file size and memory against depth](export_footprint.png)", ""]
    (args.out_dir / "export_footprint.md").write_text("\n".join(lines))

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    depths = [r["depth"] for r in rows]
    for key, label in [("file_mb", "model.pth"), ("over_baseline_mb", "peak RSS over baseline"),
                       ("peak_mb", "peak RSS")]:
        ax.plot(depths, [r[key] / full[key] for r in rows], marker="o", label=label)
    ax.set_xlabel("encoder depth (layers kept)")
    ax.set_ylabel("relative to full depth")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out_dir / "export_footprint.png", dpi=120)
    print(f"wrote {args.out_dir / 'export_footprint.md'}")


if __name__ == "__main__":
    main()

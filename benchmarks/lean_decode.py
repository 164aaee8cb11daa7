#!/usr/bin/env python3
"""Lean decoding as the recipe runs it: the decoding command (stage 5 of run.sh) with and without the
intermediate CTC outputs, side by side.

``--return_interctc true --matmul_ffn false`` is what every decode did before 2026-12-07: ESPnet's loop
normalises, projects and greedy-decodes every intermediate CTC layer, and writes each one's text
(``encoder_interctc_layer<N>.txt``), and ``conv1d`` computes the convolutional feed-forward; the default
computes and writes the final output only, the feed-forward as matrix products over windows. Each repeat
runs both commands once, alternating which goes first; the time is ``decode_seconds`` of ``pruning.yaml``
(decoding only: model loading excluded). Appends a section to ``--out`` (or prints it)::

    python benchmarks/lean_decode.py --exp_dir exp_full/asr_train_supernet_ep55_bpe256 --data full/data/test \\
        --depths 12 6 --out docs/results/speed.md
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from provenance import REPO, header


def git_head(path: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=path, capture_output=True,
                          text=True).stdout.strip() or "unknown"

DECODE_CONFIG = REPO / "egs2" / "synth_en" / "asr1" / "conf" / "decode_ctc.yaml"


def decode(args, depth: int, stock: bool, out: Path) -> float:
    """Seconds of one CLI decode (``decode_seconds``), checking it wrote what it should. The stock arm is
    ``--return_interctc true --matmul_ffn false``, or with ``--baseline_code`` that checkout's decoder as it
    was (no flag)."""
    cmd = [sys.executable, "-m", "espnet_layerprune.bin.asr_inference", "--config", str(args.decode_config),
           "--ngpu", "0", "--asr_train_config", str(args.exp_dir / "config.yaml"),
           "--asr_model_file", str(args.exp_dir / args.model), "--output_dir", str(out),
           "--data_path_and_name_and_type", f"{args.data}/wav.scp,speech,sound", "--prune_depth", str(depth)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    if stock and args.baseline_code:
        env["PYTHONPATH"] = str(args.baseline_code)
    else:
        cmd += ["--return_interctc", str(stock).lower(), "--matmul_ffn", str(not stock).lower()]
        env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"decode failed:\n{done.stderr[-3000:]}")
    written = list((out / "1best_recog").glob("encoder_interctc_layer*.txt"))
    if bool(written) != (stock and depth > 1):
        raise SystemExit(f"--return_interctc {stock}: {len(written)} intermediate text files in {out}")
    return yaml.safe_load((out / "pruning.yaml").read_text())["decode_seconds"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", type=Path, required=True)
    p.add_argument("--model", default="valid.loss.ave.pth")
    p.add_argument("--data", type=Path, required=True, help="Kaldi dir with wav.scp")
    p.add_argument("--decode_config", type=Path, default=DECODE_CONFIG)
    p.add_argument("--depths", type=int, nargs="+", default=[12, 6])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--baseline_code", type=Path, default=None,
                   help="a checkout of an earlier commit whose decoder is the stock arm (e.g. the commit before "
                   "lean decoding), instead of --return_interctc true --matmul_ffn false on this one")
    p.add_argument("--out", type=Path, default=None, help="markdown file to append the section to")
    args = p.parse_args()
    times = {(d, s): [] for d in args.depths for s in (True, False)}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for d in args.depths:
                for stock in ((True, False) if r % 2 == 0 else (False, True)):
                    seconds = decode(args, d, stock, Path(tmp) / f"r{r}_d{d}_{stock}")
                    times[(d, stock)].append(seconds)
                    print(f"repeat {r} depth {d} {'stock' if stock else 'lean'}: {seconds:.2f} s", flush=True)
    utts = sum(1 for _ in open(args.data / "wav.scp"))
    lines = ["", "## Lean decoding as the recipe runs it (the decoding command, side by side)", "",
             *header(f"{args.threads} thread(s), no GPU"),
             f"- {utts} utterances of `{args.data}`, `{args.decode_config.name}` (greedy CTC, batch 1), "
             f"{args.repeats} repeats alternating the order; decode seconds from `pruning.yaml` (model loading "
             "excluded); *lean* = the default; *stock* = "
             + (f"the decoder of the checkout `{args.baseline_code}` (commit {git_head(args.baseline_code)}), "
                "which decodes and writes every intermediate layer too" if args.baseline_code else
                "`--return_interctc true --matmul_ffn false` (as before 2026-12-07: every intermediate layer also "
                "decoded and written, the feed-forward by `conv1d`)"), "",
             "| depth | stock s (median) | lean s (median) | speed-up |", "|---:|---:|---:|---:|"]
    for d in args.depths:
        s, l = statistics.median(times[(d, True)]), statistics.median(times[(d, False)])
        lines.append(f"| {d} | {s:.2f} | {l:.2f} | {s / l:.2f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()

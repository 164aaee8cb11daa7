#!/usr/bin/env python3
"""onnxruntime against PyTorch: greedy CTC decoding time per depth, side by side, one thread.

For each depth, exports the model with ``bin.export --format onnx`` into ``--work_dir``, checks that
the ONNX greedy hypotheses equal PyTorch's (``Speech2Text(prune_depth=N, ctc_greedy=True)``) on every
timed utterance, then times both on the same utterances: ``--repeats`` interleaved passes, medians.
Writes ``--out`` (markdown)::

    cd egs2/synth_en/asr1
    python ../../../benchmarks/onnx_speed.py --exp_dir exp_full/asr_train_supernet_ep30_bpe256 \\
        --data full/data/test --work_dir exp_full/onnx --out ../../../docs/results/onnx.md
"""

import argparse
import logging
import statistics
import time
from pathlib import Path

import torch

import espnet_layerprune  # noqa: F401
from espnet_layerprune.bin import export
from espnet_layerprune.inference.speech2text import Speech2Text, best_text
from espnet_layerprune.core.data import load_utterances
from espnet_layerprune.export.onnx_runtime import OnnxSpeech2Text
from provenance import header


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_dir", required=True)
    p.add_argument("--model_file", default="valid.loss.ave.pth")
    p.add_argument("--data", required=True)
    p.add_argument("--depths", type=int, nargs="+", default=[12, 9, 6, 3])
    p.add_argument("--utts", type=int, default=60)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work_dir", required=True, help="Where the ONNX exports go (replaced).")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s: %(message)s")
    torch.set_num_threads(1)
    config, model = f"{args.exp_dir}/config.yaml", f"{args.exp_dir}/{args.model_file}"
    utts = load_utterances(args.data, args.utts)
    audio = sum(len(u.speech) for u in utts) / 16000
    rows = []
    for depth in args.depths:
        onnx_dir = Path(args.work_dir) / f"depth{depth}"
        export.main(["--asr_train_config", config, "--asr_model_file", model, "--format", "onnx",
                     "--prune_depth", str(depth), "--output_dir", str(onnx_dir), "--overwrite", "true",
                     "--log_level", "WARNING"])
        ort = OnnxSpeech2Text(onnx_dir, threads=1)
        pt = Speech2Text(config, model, prune_depth=depth, ctc_greedy=True, beam_size=1, ctc_weight=1.0, nbest=1)
        same = sum(ort(u.speech) == best_text(pt(u.speech)) for u in utts)
        times = {"pytorch": [], "onnxruntime": []}
        for _ in range(args.repeats):
            for name, fn in (("pytorch", lambda s: pt(s)), ("onnxruntime", ort)):
                start = time.perf_counter()
                for u in utts:
                    fn(u.speech)
                times[name].append(time.perf_counter() - start)
        rtf = {k: statistics.median(v) / audio for k, v in times.items()}
        size = (onnx_dir / "model.onnx").stat().st_size / 1e6
        rows.append((depth, rtf["pytorch"], rtf["onnxruntime"], same, size))
        print(rows[-1], flush=True)
    lines = ["# ONNX export: onnxruntime against PyTorch", ""]
    lines += header("1 thread (torch.set_num_threads(1); onnxruntime intra-op 1)")
    lines += [
        f"- model: `{model}`; {len(utts)} utterances of `{args.data}` ({audio:.1f} s of audio), greedy CTC, "
        f"batch 1, median of {args.repeats} interleaved passes; RTF = decode seconds / audio seconds",
        "- PyTorch: `Speech2Text(prune_depth=N, ctc_greedy=True)` (front end, kept layers, CTC head, best path); "
        "ONNX: `bin.export --format onnx --prune_depth N`, run by `OnnxSpeech2Text` (same steps in one graph)",
        "",
        "| depth | PyTorch RTF | onnxruntime RTF | onnxruntime / PyTorch | same hypotheses | model.onnx MB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for depth, rpt, rort, same, size in rows:
        lines.append(f"| {depth} | {rpt:.4f} | {rort:.4f} | {rort / rpt:.2f} | {same}/{len(utts)} | {size:.1f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

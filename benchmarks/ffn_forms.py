#!/usr/bin/env python3
"""The convolutional feed-forward as ``conv1d`` and as one matrix product over windows, side by side.

Backs the choice of ``inference/matmul_ffn.py`` (docs/design.md): decode-time speed of each convolution of
ESPnet's ``MultiLayeredConv1d`` (one utterance, T frames after subsampling), and the cost of both forms in
training (forward and backward of the whole module on a batch, float32 and bf16 autocast). Medians of
interleaved repeats; time it with nothing else running::

    python benchmarks/ffn_forms.py --out docs/results/ffn_forms.md
"""

import argparse
import statistics
import time
from pathlib import Path

import torch
from espnet2.legacy.nets.pytorch_backend.transformer.multi_layer_conv import MultiLayeredConv1d
from provenance import REPO, header

from espnet_layerprune.inference.matmul_ffn import use_matmul_ffn, windowed_linear


def median_ms(fn, calls: int, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls * 1e3)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=144, help="output_size of the encoder")
    p.add_argument("--hidden", type=int, default=576, help="linear_units")
    p.add_argument("--kernel", type=int, default=3, help="positionwise_conv_kernel_size")
    p.add_argument("--frames", type=int, nargs="+", default=[15, 30, 45, 60, 90, 130, 200])
    p.add_argument("--batches", nargs="+", default=["6x50", "12x30", "3x100"], help="training batches BxT")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "ffn_forms.md")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    conv_ff = MultiLayeredConv1d(args.channels, args.hidden, args.kernel, 0.0)
    matmul_ff = MultiLayeredConv1d(args.channels, args.hidden, args.kernel, 0.0)
    matmul_ff.load_state_dict(conv_ff.state_dict())
    use_matmul_ffn(matmul_ff)

    lines = ["# The convolutional feed-forward: conv1d against one matrix product over windows", "",
             *header(f"{args.threads} thread(s), no GPU"),
             f"- `MultiLayeredConv1d({args.channels}, {args.hidden}, kernel {args.kernel})`; medians of "
             f"{args.repeats} repeats, the two forms interleaved", "",
             "## Decoding: one utterance, each convolution (inference mode)", "",
             "| frames | w_1 conv1d ms | w_1 windowed ms | ratio | w_2 conv1d ms | w_2 windowed ms | ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    with torch.inference_mode():
        for frames in args.frames:
            cells = []
            for conv, width in ((conv_ff.w_1, args.channels), (conv_ff.w_2, args.hidden)):
                x = torch.randn(1, frames, width)
                calls = max(20, 4000 // frames)
                stock = median_ms(lambda: conv(x.transpose(1, 2)).transpose(1, 2), calls, args.repeats)
                windowed = median_ms(lambda: windowed_linear(conv, x), calls, args.repeats)
                cells += [f"{stock:.3f}", f"{windowed:.3f}", f"{windowed / stock:.2f}"]
            lines.append(f"| {frames} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)

    lines += ["", "## Training: forward and backward of the module on a batch", "",
              "| batch (B x T) | precision | conv1d ms | windowed ms | ratio |", "|---|---|---:|---:|---:|"]
    for batch in args.batches:
        b, t = (int(v) for v in batch.split("x"))
        x = torch.randn(b, t, args.channels, requires_grad=True)
        for bf16 in (False, True):
            def step(module):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = module(x)
                out.float().sum().backward()
            stock = median_ms(lambda: step(conv_ff), 20, args.repeats)
            windowed = median_ms(lambda: step(matmul_ff), 20, args.repeats)
            lines.append(f"| {batch} | {'bf16 autocast' if bf16 else 'fp32'} | {stock:.2f} | {windowed:.2f} | "
                         f"{windowed / stock:.2f} |")
            print(lines[-1], flush=True)
    lines += ["", "A ratio below 1: the windowed product is faster. Decoding uses it (`--matmul_ffn`, on by default); "
              "training keeps `conv1d`.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))


if __name__ == "__main__":
    main()

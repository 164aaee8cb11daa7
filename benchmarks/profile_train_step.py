#!/usr/bin/env python3
"""Where a real training update spends its time: ESPnet's own training loop under torch's profiler.

Runs ``espnet_layerprune.bin.asr_train`` (ESPnet's task, data loader, sampler, trainer loop, the
model as configured) for one short epoch, with ``train_one_epoch`` under ``torch.profiler``, and
splits the wall time of the profiled updates into what a person tunes: the front-end
convolutions, the feed-forward convolutions, other matrix products (attention, linear layers, CTC
heads), CTC losses, softmaxes, dtype conversions, the optimizer, other tensor operations, and the
time outside any tensor operation (data loading, Python, ESPnet's reporter). Forward and backward
of an operation count together. Validation is not profiled. Writes a markdown table::

    cd egs2/synth_en/asr1
    python ../../../benchmarks/profile_train_step.py --precision fp32 --precision bf16 \\
        --out ../../../docs/results/train_profile.md -- <the training arguments of run.sh stage 4>

The arguments after ``--`` are passed to ``bin.asr_train`` unchanged (``--max_epoch``,
``--num_iters_per_epoch`` and ``--output_dir`` are set here).
"""

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from provenance import REPO, header

# (category, test on an operation's name and its first input's shape); the first match wins.
CATEGORIES = [
    ("front-end convolutions (2-D)", lambda n, s: "conv" in n and len(s) == 4),
    ("feed-forward convolutions (1-D)", lambda n, s: "conv" in n and len(s) == 3),
    ("matrix products (attention, linear, CTC heads)",
     lambda n, s: n in ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_weight_int8pack_mm")),
    ("CTC losses", lambda n, s: "ctc_loss" in n),
    ("softmax / log-softmax", lambda n, s: "softmax" in n),
    ("dtype conversions and copies", lambda n, s: n in ("aten::_to_copy", "aten::copy_")),
]
OPTIMIZER = "optimizer (Adam) and gradient clipping"
OTHER = "other tensor operations (elementwise, LayerNorm, masks, ...)"
OUTSIDE = "outside tensor operations (data loading, Python, reporter)"


def categorize(events):
    """Self CPU time (us) of the main thread's operations by category."""
    totals = defaultdict(float)
    for e in events:
        if e.self_cpu_time_total <= 0 or e.name.startswith(("ProfilerStep", "Optimizer.")):
            continue
        ancestor, in_optimizer = e.cpu_parent, False
        while ancestor is not None:
            if ancestor.name.startswith("Optimizer.step") or ancestor.name == "clip_grad_norm":
                in_optimizer = True
                break
            ancestor = ancestor.cpu_parent
        if in_optimizer or e.name.startswith("aten::_foreach") or "linalg_vector_norm" in e.name:
            totals[OPTIMIZER] += e.self_cpu_time_total
            continue
        shape = e.input_shapes[0] if e.input_shapes else []
        name = e.name.replace("aten::mkldnn_convolution", "aten::conv").replace("aten::convolution_backward",
                                                                                 "aten::conv_backward")
        for category, test in CATEGORIES:
            if test(name, shape):
                totals[category] += e.self_cpu_time_total
                break
        else:
            totals[OTHER] += e.self_cpu_time_total
    return totals


def profile_run(train_args, precision: str, updates: int, warmup: int):
    """Time ``updates`` real training updates (after ``warmup``), then profile as many more.

    Returns (seconds per update unprofiled, ESPnet's own split of them, seconds per update by
    operation category in the profiled updates, top operations table)."""
    import espnet_layerprune.bin.asr_train as entry
    from espnet_layerprune.training import trainer

    result = {}

    class ProfilingTrainer(trainer.PrecisionTrainer):
        @classmethod
        def train_one_epoch(cls, model, iterator, optimizers, schedulers, scaler, reporter, *args, **kwargs):
            # ESPnet's own loop, over three consecutive slices of ESPnet's iterator.
            it = iter(iterator)
            run = super().train_one_epoch
            run(model, _Take(it, warmup), optimizers, schedulers, scaler, reporter, *args, **kwargs)
            seen = {k: len(v) for k, v in reporter.stats.items()}
            start = time.perf_counter()
            run(model, _Take(it, updates), optimizers, schedulers, scaler, reporter, *args, **kwargs)
            result["wall"] = (time.perf_counter() - start) / updates
            result["split"] = {k: sum(float(x.value) for x in reporter.stats[k][seen.get(k, 0):]) / updates
                               for k in ESPNET_TIMES if k in reporter.stats}
            start = time.perf_counter()
            with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
                run(model, _Take(it, updates), optimizers, schedulers, scaler, reporter, *args, **kwargs)
            result["profiled_wall"] = (time.perf_counter() - start) / updates
            result["prof"] = prof
            return True

    trainer.CpuPrecisionASRTask.trainer = ProfilingTrainer
    out_dir = Path(tempfile.mkdtemp(prefix="profile_train_"))
    try:
        argv = [*train_args, "--output_dir", str(out_dir), "--max_epoch", "1",
                "--num_iters_per_epoch", str(2 * updates + warmup), "--use_amp", str(precision == "bf16").lower(),
                "--ngpu", "0", "--resume", "false"]
        entry.main(argv)
    finally:
        trainer.CpuPrecisionASRTask.trainer = trainer.PrecisionTrainer
        shutil.rmtree(out_dir, ignore_errors=True)
    totals = categorize(result["prof"].events())
    totals[OUTSIDE] = max(result["profiled_wall"] * updates * 1e6 - sum(totals.values()), 0.0)
    split = dict(result["split"])
    split["other (reporter, gradient norm check, scheduler)"] = result["wall"] - sum(split.values())
    top = result["prof"].key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
    return result["wall"], split, {k: v / 1e6 / updates for k, v in totals.items()}, result["profiled_wall"], top


#: ESPnet's reporter times of a training step (seconds).
ESPNET_TIMES = {"iter_time": "data loading (iter_time)", "forward_time": "forward (forward_time)",
                "backward_time": "backward (backward_time)", "optim_step_time": "optimizer step (optim_step_time)"}


class _Take:
    """The next ``n`` items of an iterator, with a length (ESPnet's loop asks for one)."""

    def __init__(self, it, n):
        self.it, self.n = it, n

    def __len__(self):
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            yield next(self.it)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", action="append", choices=["fp32", "bf16"], default=None)
    parser.add_argument("--updates", type=int, default=30, help="profiled updates per precision")
    parser.add_argument("--warmup", type=int, default=5, help="updates before the profiler starts")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "train_profile.md")
    parser.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then bin.asr_train's arguments")
    args = parser.parse_args()
    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    if not train_args:
        parser.error("give the training arguments after --")
    precisions = args.precision or ["fp32"]
    results = {p: profile_run(train_args, p, args.updates, args.warmup) for p in precisions}
    cats = [c for c, _ in CATEGORIES] + [OPTIMIZER, OTHER, OUTSIDE]
    lines = ["# Where a real training update spends its time", "",
             *header(f"{torch.get_num_threads()} torch thread(s), no GPU"),
             f"- ESPnet's training loop (`bin.asr_train`: its data loader, sampler, trainer loop, reporter), per "
             f"precision: {args.warmup} warm-up updates, {args.updates} timed updates, then {args.updates} updates "
             "under torch's profiler", "",
             "## ESPnet's own split of an update (timed updates, no profiler)", "",
             "| part | " + " | ".join(f"{p}: s / update (share)" for p in precisions) + " |",
             "|---|" + "---:|" * len(precisions)]
    parts = list(results[precisions[0]][1])
    for part in parts:
        label = ESPNET_TIMES.get(part, part)
        lines.append(f"| {label} | " + " | ".join(
            f"{results[p][1][part]:.3f} ({100 * results[p][1][part] / results[p][0]:.0f}%)" for p in precisions) + " |")
    lines.append("| **wall time of an update** | " + " | ".join(f"**{results[p][0]:.3f}**" for p in precisions) + " |")
    lines += ["", "## By operation (profiled updates; forward and backward of an operation together)", "",
              "The profiler adds its own cost to every operation (about a tenth here), so these times are a bit "
              "above the unprofiled ones; read them as shares.", "",
              "| category | " + " | ".join(f"{p}: s / update (share)" for p in precisions) + " |",
              "|---|" + "---:|" * len(precisions)]
    for c in cats:
        cells = [f"{results[p][2].get(c, 0.0):.3f} ({100 * results[p][2].get(c, 0.0) / results[p][3]:.0f}%)"
                 for p in precisions]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines.append("| **wall time of a profiled update** | " + " | ".join(f"**{results[p][3]:.3f}**" for p in precisions)
                 + " |")
    for p in precisions:
        lines += ["", f"## Top operations, {p}", "", "```", results[p][4], "```"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:lines.index(f"## Top operations, {precisions[0]}")]))


if __name__ == "__main__":
    main()

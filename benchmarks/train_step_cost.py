#!/usr/bin/env python3
"""Cost of one training update, measured side by side in one run: models x precisions.

Wall times in training logs are only comparable when the trainings ran under the same load; on a
shared machine they rarely do. This benchmark builds each model and times optimizer updates
(forward, backward, clip, Adam) on the same batches of real training audio, every model and
precision interleaved in each repeat, and reports medians. Models come from

* ``--configs A.yaml B.yaml``: training configs, untrained (what a lever costs per update), with
  the recipe's ``--token_list``/``--bpemodel``; or
* ``--exp_dir`` (+ ``--models``): trained ``asr_train_*`` dirs; then the training cost of each
  (time per update x the updates in its log) is compared with the full individual model
  (``--reference``) and with all individual models together. Scored supernets are timed in
  both stages (stage 1: supernet + annealed subnet; stage 2: largest + smallest + medium).

Batches are built as ESPnet's ``numel`` sampler builds them: utterances sorted by length, as many
per batch as fit ``--batch_bins`` samples padded (the main job's 400000 = 25 s), taken at
evenly spaced points of the sorted list. Each model's FLOPs per update (forward + backward,
torch's FLOP counter) give its achieved GFLOP/s, next to this machine's matrix-product peak for
each dtype (a 1024x1024 matmul, same threads, measured in the same run)::

    cd egs2/synth_en/asr1
    python ../../../benchmarks/train_step_cost.py --configs conf/train_supernet.yaml \\
        --token_list data/token_list/bpe256/tokens.txt --bpemodel data/token_list/bpe256/bpe.model \\
        --data data/train --precisions fp32 bf16 --threads 2 --out ../../../docs/results/train_step.md
"""

import argparse
import re
import statistics
import time
from pathlib import Path

import soundfile
import torch
import yaml
from espnet2.tasks.asr import ASRTask
from espnet2.text.build_tokenizer import build_tokenizer
from espnet2.text.token_id_converter import TokenIDConverter
from torch.utils.flop_counter import FlopCounterMode

import espnet_layerprune  # noqa: F401  (registers our encoders and model)
from espnet_layerprune.encoders import precision
from provenance import REPO, header


def sorted_batches(data_dir: Path, conf: dict, num_batches: int, batch_bins: int):
    """``num_batches`` batches as ESPnet's numel sampler makes them (length-sorted, ``batch_bins``
    padded samples each), from evenly spaced points of the length-sorted training set."""
    token_type = conf.get("token_type", "char")
    tokenizer = build_tokenizer(token_type=token_type, bpemodel=conf.get("bpemodel") if token_type == "bpe" else None)
    converter = TokenIDConverter(token_list=conf["token_list"])
    texts = dict(line.split(maxsplit=1) for line in (data_dir / "text").read_text().splitlines())
    paths = dict(line.split(maxsplit=1) for line in (data_dir / "wav.scp").read_text().splitlines())
    lengths = sorted((soundfile.info(p.strip()).frames, k) for k, p in paths.items())
    batches = []
    for b in range(num_batches):
        start = (b + 1) * len(lengths) // (num_batches + 1)
        keys = []
        while start + len(keys) < len(lengths):
            n = len(keys) + 1
            if keys and n * lengths[start + n - 1][0] > batch_bins:
                break
            keys.append(lengths[start + n - 1][1])
        items = []
        for k in keys:
            wav, _ = soundfile.read(paths[k].strip(), dtype="float32")
            items.append((torch.from_numpy(wav), torch.tensor(converter.tokens2ids(tokenizer.text2tokens(texts[k])))))
        batches.append(_collate(items))
    return batches


def _collate(items):
    pad = torch.nn.utils.rnn.pad_sequence
    return {
        "speech": pad([w for w, _ in items], batch_first=True),
        "speech_lengths": torch.tensor([len(w) for w, _ in items]),
        "text": pad([t for _, t in items], batch_first=True, padding_value=-1),
        "text_lengths": torch.tensor([len(t) for _, t in items]),
    }


def logged_updates(train_log: Path) -> int:
    counts = re.findall(r"epoch results: \[train\].*?total_count=(\d+)", train_log.read_text(errors="replace"))
    return int(counts[-1]) if counts else 0


def _name(path: Path) -> str:
    return re.sub(r"_(bpe\d+|char)$", "", path.name[len("asr_"):]) if path.name.startswith("asr_") else path.stem


class Trainee:
    """One model with its optimizer, positioned at a given stage of its schedule."""

    def __init__(self, model, conf: dict, name: str, stage: int = 1, updates: int = 0):
        self.name, self.conf, self.model, self.stage, self.updates = name, conf, model, stage, updates
        self.model.train()
        self.optim = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.grad_clip = float(conf.get("grad_clip", 5.0))
        self.supernet = getattr(self.model, "supernet", None)
        scored = self.supernet is not None and self.supernet.scored
        self.stage1_steps = int(self.supernet.config.stage1_steps) if scored else 0
        self._position()

    @classmethod
    def from_exp_dir(cls, asr_dir: Path, stage: int) -> "Trainee":
        conf = yaml.safe_load((asr_dir / "config.yaml").read_text())
        model, _ = ASRTask.build_model_from_file(asr_dir / "config.yaml", None, "cpu")
        return cls(model, conf, _name(asr_dir), stage, logged_updates(asr_dir / "train.log"))

    @classmethod
    def from_config(cls, config: Path, token_list: Path, bpemodel, stage: int = 1) -> "Trainee":
        argv = ["--config", str(config), "--token_list", str(token_list), "--output_dir", "unused"]
        argv += ["--token_type", "bpe", "--bpemodel", str(bpemodel)] if bpemodel else ["--token_type", "char"]
        args = ASRTask.get_parser().parse_args(argv)
        if args.normalize == "global_mvn" and "stats_file" not in (args.normalize_conf or {}):
            # An untrained config has no statistics yet; per-utterance MVN costs the same per update.
            args.normalize, args.normalize_conf = "utterance_mvn", {}
        if args.model == "layerprune":  # what bin.asr_train fills in from the trainer
            supernet = dict((args.model_conf or {}).get("supernet") or {})
            supernet.setdefault("total_steps", args.max_epoch * (args.num_iters_per_epoch or 1000))
            args.model_conf = {**args.model_conf, "supernet": supernet}
        torch.manual_seed(0)
        return cls(ASRTask.build_model(args), vars(args), config.stem, stage)

    def _position(self):
        """Put the schedule in the middle of its stage (stage 0: no stages)."""
        if not self.stage1_steps:
            return
        sn = self.supernet
        step = self.stage1_steps // 2 if self.stage == 1 else self.stage1_steps + 50
        with torch.no_grad():
            sn.num_forwards.fill_(step * sn.config.accum_grad)
            sn.frozen.fill_(0.0)
            sn.resets_done.zero_()
        if self.stage == 2:  # freeze the masks as training would at the first stage-2 update
            self.model.eval()
            sn.num_forwards.fill_(self.stage1_steps * sn.config.accum_grad)
            sn.start_train_step()
            sn.num_forwards.fill_(step * sn.config.accum_grad)
            self.model.train()

    @property
    def label(self) -> str:
        return f"{self.name} (stage {self.stage})" if self.stage1_steps else self.name

    def update(self, batch, dtype=None) -> None:
        self.model.encoder.compute_dtype = dtype
        batch = {k: v.clone() for k, v in batch.items()}
        self.optim.zero_grad()
        loss, _, _ = self.model(**batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optim.step()

    def flops(self, batch) -> float:
        """FLOPs of one forward + backward (the counter needs no dtype: FLOPs are FLOPs)."""
        self.model.encoder.compute_dtype = None
        batch = {k: v.clone() for k, v in batch.items()}
        with FlopCounterMode(display=False) as counter:
            loss, _, _ = self.model(**batch)
            loss.backward()
        self.optim.zero_grad()
        return float(counter.get_total_flops())


def matmul_peak(dtype, size: int = 1024, repeats: int = 20) -> float:
    """GFLOP/s of a ``size`` x ``size`` matrix product in ``dtype`` (median of ``repeats``)."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


DTYPES = {"fp32": None, "bf16": torch.bfloat16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--configs", type=Path, nargs="+", help="training configs to time (untrained)")
    source.add_argument("--exp_dir", type=Path, help="holds trained asr_train_* dirs")
    parser.add_argument("--token_list", type=Path, help="with --configs: the recipe's tokens.txt")
    parser.add_argument("--bpemodel", type=Path, default=None, help="with --configs: the recipe's bpe.model")
    parser.add_argument("--data", type=Path, required=True, help="Kaldi train dir (wav.scp, text)")
    parser.add_argument("--batch_bins", type=int, default=400000,
                        help="padded samples per batch, as ESPnet's numel sampler (the main job: 400000 = 25 s)")
    parser.add_argument("--batch_seconds", type=float, default=None, help="alias: batch_bins = seconds x 16000")
    parser.add_argument("--num_batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=list(DTYPES))
    parser.add_argument("--models", nargs="+", default=None,
                        help="with --exp_dir: config names to time (default: every trained asr_train_* dir)")
    parser.add_argument("--reference", default=None,
                        help="with --exp_dir: config name of the full-depth individually trained model; "
                        "enables the training-cost table")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "train_cost.md")
    args = parser.parse_args()
    if args.repeats < 1 or args.num_batches < 1:
        parser.error("--repeats and --num_batches must be >= 1")
    if args.configs and not args.token_list:
        parser.error("--configs needs --token_list (and --bpemodel for BPE recipes)")
    if args.batch_seconds:
        args.batch_bins = int(args.batch_seconds * 16000)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if "bf16" in args.precisions and precision.resolve("bf16", option="--precisions bf16") is None:
        raise SystemExit("error: --precisions bf16 needs a CPU with bf16 units (see the warning above)")

    trainees = []
    if args.configs:
        for c in args.configs:
            first = Trainee.from_config(c, args.token_list, args.bpemodel)
            trainees.append(first)
            if first.stage1_steps:
                trainees.append(Trainee.from_config(c, args.token_list, args.bpemodel, stage=2))
    else:
        dirs = sorted(d for d in args.exp_dir.glob("asr_train_*") if (d / "config.yaml").exists()
                      and (d / "train.log").exists() and (args.models is None or _name(d) in args.models))
        if not dirs:
            raise SystemExit(f"error: no trained asr_train_* dir under {args.exp_dir}")
        if args.reference and not any(_name(d) == args.reference for d in dirs):
            raise SystemExit(f"error: --reference: no trained asr_{args.reference}_<tokens> dir under {args.exp_dir}")
        for d in dirs:
            first = Trainee.from_exp_dir(d, 1)
            trainees.append(first)
            if first.stage1_steps:
                trainees.append(Trainee.from_exp_dir(d, 2))
    batches = sorted_batches(args.data, trainees[0].conf, args.num_batches, args.batch_bins)
    runs = [(t, p) for t in trainees for p in args.precisions]
    print(f"{len(trainees)} models x {len(args.precisions)} precisions x {args.repeats} repeats x "
          f"{len(batches)} batches", flush=True)

    flops = {t.label: statistics.mean(t.flops(b) for b in batches) for t in trainees}
    for t, p in runs:  # warm-up: allocator and first-call costs out of the measurement
        t.update(batches[0], DTYPES[p])
    times = {(t.label, p): [] for t, p in runs}
    for r in range(args.repeats):
        for t, p in runs:
            start = time.perf_counter()
            for b in batches:
                t.update(b, DTYPES[p])
            times[t.label, p].append((time.perf_counter() - start) / len(batches))
        print(f"repeat {r + 1}/{args.repeats} done", flush=True)
    peaks = {p: matmul_peak(DTYPES[p] or torch.float32) for p in args.precisions}
    per_update = {k: statistics.median(v) for k, v in times.items()}
    write_report(args, trainees, per_update, flops, peaks, batches)


def write_report(args, trainees, per_update, flops, peaks, batches) -> None:
    precisions = args.precisions
    audio = sum(float(b["speech_lengths"].sum()) for b in batches) / 16000 / len(batches)
    sizes = [int(b["speech"].size(0)) for b in batches]
    lines = [
        "# Cost of a training update, measured side by side",
        "",
        *header(f"{args.threads} torch thread(s), no GPU"),
        f"- {len(batches)} length-sorted batches of {args.batch_bins} padded samples (as ESPnet's numel sampler; "
        f"{sizes} utterances, {audio:.1f} s of audio on average); every model and precision interleaved in each of "
        f"{args.repeats} repeats; medians. An update: forward, backward, gradient clipping, Adam.",
        "- peak: a 1024x1024 matrix product, same threads, same run: "
        + ", ".join(f"{p} {peaks[p]:.0f} GFLOP/s" for p in precisions),
        "",
    ]
    head = ["model", "GFLOP / update"] + [f"s / update {p}" for p in precisions]
    if "fp32" in precisions and len(precisions) > 1:
        head += [f"{p} speed-up" for p in precisions if p != "fp32"]
    head += [f"GFLOP/s {p} (% of peak)" for p in precisions]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for t in trainees:
        g = flops[t.label] / 1e9
        row = [t.label, f"{g:.1f}"] + [f"{per_update[t.label, p]:.3f}" for p in precisions]
        if "fp32" in precisions and len(precisions) > 1:
            row += [f"{per_update[t.label, 'fp32'] / per_update[t.label, p]:.2f}x" for p in precisions if p != "fp32"]
        row += [f"{g / per_update[t.label, p]:.0f} ({100 * g / per_update[t.label, p] / peaks[p]:.0f}%)"
                for p in precisions]
        lines.append("| " + " | ".join(row) + " |")
    if args.exp_dir and args.reference:
        lines += ["", *cost_table(trainees, {t.label: per_update[t.label, precisions[0]] for t in trainees},
                                  args.reference, precisions[0])]
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


def cost_table(trainees, per_update, reference: str, prec: str) -> list:
    """Estimated training cost (s / update x logged updates) of trained models, against the full
    individual model and all individual models together."""
    rows = {}  # model name -> (updates, s/update by stage, estimated seconds)
    for t in trainees:
        updates, stages, _ = rows.get(t.name, (t.updates, {}, 0.0))
        stages[t.stage] = per_update[t.label]
        if t.stage1_steps:
            s1, s2 = min(t.stage1_steps, updates), max(updates - t.stage1_steps, 0)
            estimate = s1 * stages.get(1, 0.0) + s2 * stages.get(2, 0.0)
        else:
            estimate = updates * stages[1]
        rows[t.name] = (updates, stages, estimate)
    full = rows[reference][2]
    individual = {n: r for n, r in rows.items() if n == reference or n.startswith("train_individual")}
    all_individual = sum(r[2] for r in individual.values())
    lines = [
        f"## Training cost ({prec})",
        "",
        f"Individual models: {', '.join(sorted(individual))} (the full-depth one: {reference}).",
        "",
        "| model | updates | s / update (stage 1) | s / update (stage 2) | estimated training s | vs full-depth model "
        "| vs all individual models |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (updates, stages, estimate) in rows.items():
        s2 = f"{stages[2]:.3f}" if 2 in stages else "-"
        lines.append(f"| {name} | {updates} | {stages[1]:.3f} | {s2} | {estimate:.0f} | {estimate / full:.2f} | "
                     f"{estimate / all_individual:.2f} |")
    lines += ["", "Goal: a supernet costs at most 1.5x one full-depth model and less than half of all individual "
              f"models together ({all_individual:.0f} s here)."]
    return lines


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Training cost of every model of the accuracy benchmark, measured side by side in one run.

Wall times in training logs are only comparable when the trainings ran under the same load; on a
shared machine they rarely do. This benchmark rebuilds each trained model from its ``config.yaml``
and times optimizer updates (forward, backward, clip, Adam) on the same fixed batches of real
training audio, all models interleaved in every repeat, and reports medians. The scored supernets
are timed in both stages (stage 1: supernet + annealed subnet and scores; stage 2: largest +
smallest + medium subnet). Estimated training cost = time per update x updates of the schedule
(updates read from the training log).

Writes ``docs/results/train_cost.md``::

    python benchmarks/train_step_cost.py --exp_dir egs2/synth_en/asr1/exp \\
        --data egs2/synth_en/asr1/data/train
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

import espnet_layerprune  # noqa: F401  (registers our encoders and model)
from provenance import REPO, header



def fixed_batches(data_dir: Path, conf: dict, num_batches: int, seconds: float):
    """``num_batches`` batches of about ``seconds`` of audio each, from the start of the train set,
    tokenized as the model's config says (char or BPE; paths relative to the recipe directory)."""
    token_type = conf.get("token_type", "char")
    tokenizer = build_tokenizer(token_type=token_type, bpemodel=conf.get("bpemodel") if token_type == "bpe" else None)
    converter = TokenIDConverter(token_list=conf["token_list"])
    texts = dict(line.split(maxsplit=1) for line in (data_dir / "text").read_text().splitlines())
    batches, current, total = [], [], 0.0
    for line in (data_dir / "wav.scp").read_text().splitlines():
        key, path = line.split(maxsplit=1)
        wav, rate = soundfile.read(path.strip(), dtype="float32")
        current.append((torch.from_numpy(wav), torch.tensor(converter.tokens2ids(tokenizer.text2tokens(texts[key])))))
        total += len(wav) / rate
        if total >= seconds:
            batches.append(_collate(current))
            current, total = [], 0.0
            if len(batches) == num_batches:
                return batches
    raise SystemExit(f"error: {data_dir} has too little audio for {num_batches} batches of {seconds} s")


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


class Trainee:
    """One model with its optimizer, positioned at a given stage of its schedule."""

    def __init__(self, asr_dir: Path, stage: int):
        self.name = re.sub(r"_(bpe\d+|char)$", "", asr_dir.name[len("asr_"):])
        self.stage = stage
        conf = yaml.safe_load((asr_dir / "config.yaml").read_text())
        self.conf = conf
        self.model, _ = ASRTask.build_model_from_file(asr_dir / "config.yaml", None, "cpu")
        self.model.train()
        self.optim = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.grad_clip = float(conf.get("grad_clip", 5.0))
        self.supernet = getattr(self.model, "supernet", None)
        self.stage1_steps = int(self.supernet.config.stage1_steps) if self.supernet is not None and self.supernet.scored else 0
        self.updates = logged_updates(asr_dir / "train.log")
        self._position()

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

    def update(self, batch) -> None:
        batch = {k: v.clone() for k, v in batch.items()}
        self.optim.zero_grad()
        loss, _, _ = self.model(**batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optim.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", type=Path, required=True, help="holds the asr_train_* dirs")
    parser.add_argument("--data", type=Path, required=True, help="Kaldi train dir (wav.scp, text)")
    parser.add_argument("--batch_seconds", type=float, default=25.0,
                        help="audio per batch (the main job's batch_bins 400000 numel is 25 s)")
    parser.add_argument("--num_batches", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=None,
                        help="config names to time (default: every trained asr_train_* dir)")
    parser.add_argument("--reference", default="train_baseline_seed0",
                        help="config name of the full-depth individually trained model (the plain model)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "train_cost.md")
    args = parser.parse_args()
    if args.repeats < 1 or args.num_batches < 1:
        parser.error("--repeats and --num_batches must be >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    dirs = sorted(d for d in args.exp_dir.glob("asr_train_*") if (d / "config.yaml").exists() and (d / "train.log").exists()
                  and (args.models is None or re.sub(r"_(bpe\d+|char)$", "", d.name[len("asr_"):]) in args.models))
    if not any(re.sub(r"_(bpe\d+|char)$", "", d.name) == f"asr_{args.reference}" for d in dirs):
        raise SystemExit(f"error: --reference: no trained asr_{args.reference}_<tokens> dir under {args.exp_dir}")
    trainees = []
    for d in dirs:
        first = Trainee(d, 1)
        trainees.append(first)
        if first.stage1_steps:
            trainees.append(Trainee(d, 2))
    batches = fixed_batches(args.data, trainees[0].conf, args.num_batches, args.batch_seconds)
    print(f"{len(trainees)} models x {args.repeats} repeats x {len(batches)} batches", flush=True)

    for t in trainees:  # warm-up: allocator and first-call costs out of the measurement
        t.update(batches[0])
    times = {t.label: [] for t in trainees}
    for r in range(args.repeats):
        for t in trainees:
            start = time.perf_counter()
            for b in batches:
                t.update(b)
            times[t.label].append((time.perf_counter() - start) / len(batches))
        print(f"repeat {r + 1}/{args.repeats} done", flush=True)
    per_update = {k: statistics.median(v) for k, v in times.items()}
    write_report(args, trainees, per_update, batches)


def write_report(args, trainees, per_update, batches) -> None:
    rows = {}  # model name -> (updates, s/update by stage, estimated seconds)
    for t in trainees:
        name = t.name
        updates, stages, _ = rows.get(name, (t.updates, {}, 0.0))
        stages[t.stage] = per_update[t.label]
        if t.stage1_steps:
            s1, s2 = min(t.stage1_steps, updates), max(updates - t.stage1_steps, 0)
            estimate = s1 * stages.get(1, 0.0) + s2 * stages.get(2, 0.0)
        else:
            estimate = updates * stages[1]
        rows[name] = (updates, stages, estimate)
    full = rows[args.reference][2]
    individual = {n: r for n, r in rows.items() if n == args.reference or n.startswith("train_individual")}
    all_individual = sum(r[2] for r in individual.values())
    audio = sum(float(b["speech_lengths"].sum()) for b in batches) / 16000 / len(batches)
    lines = [
        "# Training cost, measured side by side",
        "",
        *header(f"{args.threads} torch thread(s), no GPU"),
        f"- {len(batches)} fixed batches of {audio:.1f} s of training audio on average; every model interleaved "
        f"in each of {args.repeats} repeats; medians",
        f"- individual models: {', '.join(sorted(individual))} (the plain model is the full-depth one)",
        "",
        "| model | updates | s / update (stage 1) | s / update (stage 2) | estimated training s | vs full-depth model | vs all individual models |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (updates, stages, estimate) in rows.items():
        s2 = f"{stages[2]:.3f}" if 2 in stages else "-"
        lines.append(f"| {name} | {updates} | {stages[1]:.3f} | {s2} | {estimate:.0f} | {estimate / full:.2f} | "
                     f"{estimate / all_individual:.2f} |")
    lines += ["", "Goal: a supernet costs at most 1.5x one full-depth model and less than half of all individual "
              f"models together ({all_individual:.0f} s here).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

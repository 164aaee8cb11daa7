#!/usr/bin/env python3
"""bf16 against fp32 decoding, side by side in one run: WER and decode time per depth.

Both precisions decode the same utterances with the same model through
:class:`espnet_layerprune.inference.speech2text.Speech2Text` (greedy CTC, one utterance at a time,
``precision="fp32"`` / ``"bf16"``), depth by depth, interleaved in every repeat; times are medians
over repeats of the whole set, WER from jiwer against the reference text. Writes
``docs/results/decode_precision.md``::

    python benchmarks/decode_precision.py --data egs2/synth_en/asr1/data/test \\
        --asr_train_config EXP/config.yaml --asr_model_file EXP/valid.loss.ave.pth --depths 12 6 3
"""

import argparse
import logging
import statistics
import time
from pathlib import Path

import jiwer
import soundfile
import torch

import espnet_layerprune  # noqa: F401
from espnet_layerprune.inference.speech2text import Speech2Text, best_text
from espnet_layerprune.encoders.precision import bf16_support
from provenance import REPO, header


def load(data_dir: Path, max_utts: int):
    refs = dict(line.split(maxsplit=1) for line in (data_dir / "text").read_text().splitlines())
    utts = []
    for line in (data_dir / "wav.scp").read_text().splitlines()[:max_utts]:
        key, path = line.split(maxsplit=1)
        wav, rate = soundfile.read(path.strip(), dtype="float32")
        utts.append((key, wav, refs.get(key, "").strip()))
    return utts, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="Kaldi dir with wav.scp and text")
    parser.add_argument("--asr_train_config", required=True)
    parser.add_argument("--asr_model_file", required=True)
    parser.add_argument("--depths", type=int, nargs="+", default=[12, 6, 3])
    parser.add_argument("--max_utts", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "decode_precision.md")
    args = parser.parse_args()
    ok, why = bf16_support()
    if not ok:
        raise SystemExit(f"error: this benchmark compares bf16 with fp32, but {why}")
    torch.set_num_threads(args.threads)
    logging.disable(logging.INFO)
    utts, rate = load(args.data, args.max_utts)
    audio = sum(len(w) for _, w, _ in utts) / rate
    s2t = {p: Speech2Text(asr_train_config=args.asr_train_config, asr_model_file=args.asr_model_file,
                          ctc_greedy=True, beam_size=1, ctc_weight=1.0, lm_weight=0.0, nbest=1, precision=p)
           for p in ("fp32", "bf16")}
    hyps, times = {}, {}
    for r in range(args.repeats):
        for depth in args.depths:
            for p, model in s2t.items():
                start = time.perf_counter()
                out = [best_text(model(torch.from_numpy(w), prune_depth=depth)) for _, w, _ in utts]
                times.setdefault((depth, p), []).append(time.perf_counter() - start)
                hyps[depth, p] = out
        print(f"repeat {r + 1}/{args.repeats} done", flush=True)
    refs = [ref for _, _, ref in utts]
    lines = ["# bf16 against fp32 decoding, side by side", "",
             *header(f"{args.threads} torch thread(s), no GPU"),
             f"- model: {args.asr_model_file}", f"- audio: {len(utts)} utterances of {args.data}, {audio:.0f} s; greedy "
             f"CTC, one utterance at a time; decode time = median of {args.repeats} interleaved repeats of the whole set "
             "(features, encoder, CTC head, best path)", "",
             "| depth | WER fp32 (%) | WER bf16 (%) | difference | hypotheses that differ | RTF fp32 | RTF bf16 "
             "| time bf16 / fp32 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for depth in args.depths:
        w = {p: 100 * jiwer.wer(refs, hyps[depth, p]) for p in s2t}
        t = {p: statistics.median(times[depth, p]) for p in s2t}
        differ = sum(a != b for a, b in zip(hyps[depth, "fp32"], hyps[depth, "bf16"]))
        lines.append(f"| {depth} | {w['fp32']:.2f} | {w['bf16']:.2f} | {w['bf16'] - w['fp32']:+.2f} | "
                     f"{differ}/{len(utts)} | {t['fp32'] / audio:.4f} | {t['bf16'] / audio:.4f} | "
                     f"{t['bf16'] / t['fp32']:.2f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

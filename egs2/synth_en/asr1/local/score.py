#!/usr/bin/env python3
"""Score hypotheses against references with jiwer: WER and CER, one JSON per decode."""

import argparse
import json
from pathlib import Path

import jiwer


def read_kaldi_text(path: Path) -> dict:
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if parts:
                out[parts[0]] = parts[1] if len(parts) > 1 else ""
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", type=Path, required=True, help="Kaldi text with references")
    parser.add_argument("--hyp", type=Path, required=True, help="Kaldi text with hypotheses")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args()
    refs, hyps = read_kaldi_text(args.ref), read_kaldi_text(args.hyp)
    missing = sorted(set(refs) - set(hyps))
    if missing:
        raise SystemExit(f"error: {len(missing)} utterances have no hypothesis, e.g. {missing[:3]}")
    keys = sorted(refs)
    ref = [refs[k] for k in keys]
    hyp = [hyps[k].strip() for k in keys]
    result = {
        "utterances": len(keys),
        "wer": 100 * jiwer.wer(ref, hyp),
        "cer": 100 * jiwer.cer(ref, hyp),
        "ref_words": sum(len(r.split()) for r in ref),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.hyp}: WER {result['wer']:.2f}%  CER {result['cer']:.2f}%  ({len(keys)} utts)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A larger held-out test set for the converged accuracy study (benchmarks/accuracy_by_depth.sh).

The recipe's 300 test utterances resolve a WER difference of about +-0.5 points between two models; the
study asks for that resolution per comparison, so it decodes a larger test split of the same corpus: the
synthesizer's test stream (held-out voices) continued to ``--num_utts`` utterances, of which the first 300
are the recipe's test set. Utterances whose sentence also occurs in the training or dev text are dropped (the
training split excludes only the first 300 test sentences). Deterministic (same seed and options as the
corpus, which are read from its ``data/test/.done`` marker); a finished set is left alone::

    python benchmarks/study_test_set.py --corpus_dir egs2/synth_en/asr1/full --num_utts 1200
    # -> egs2/synth_en/asr1/full/data/test_study (Kaldi dir; audio under full/study/wav/test)
"""

import argparse
import json
import logging
import shutil
from pathlib import Path

from synth_corpus import make


def read_texts(data_dir: Path) -> set:
    return {line.partition(" ")[2].strip() for line in (data_dir / "text").read_text().splitlines()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus_dir", type=Path, required=True, help="a synth_corpus output dir (data/{train,dev,test})")
    p.add_argument("--num_utts", type=int, default=1200, help="utterances of the test stream, >= 300")
    p.add_argument("--name", default="test_study", help="the Kaldi dir written under <corpus_dir>/data")
    p.add_argument("--nj", type=int, default=1)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.num_utts < 300:
        p.error(f"--num_utts must be >= 300 (the recipe's test set is its first 300), got {args.num_utts}")
    corpus = args.corpus_dir.resolve()
    out = corpus / "data" / args.name
    if (out / "wav.scp").exists():
        logging.info("%s exists: nothing to do", out)
        return
    marker = json.loads(next((corpus / "data" / "test").glob(".done*")).read_text())
    params = marker["params"]
    argv = ["--out_dir", str(corpus / "study"), "--test_utts", str(args.num_utts), "--seed", str(params["seed"]),
            "--min_words", str(params["min_words"]), "--max_words", str(params["max_words"]),
            "--utts_per_spk", str(params["utts_per_spk"]), "--nj", str(args.nj)]
    if params.get("word_list_size") is not None:
        argv += ["--word_list_size", str(params["word_list_size"])]
    if params.get("snr_range") is None:
        argv.append("--no_noise")
    else:
        argv += ["--snr_range", *map(str, params["snr_range"])]
    margs = make.build_parser().parse_args(argv)
    state = make.split_state(corpus / "study" / "data" / "test", corpus / "study" / "wav" / "test",
                             make.split_params("test", margs))
    if state != "done":
        make.build_split("test", margs, corpus / "study", frozenset(), state)
    built = corpus / "study" / "data" / "test"
    seen = read_texts(corpus / "data" / "train") | read_texts(corpus / "data" / "dev")
    texts = dict(line.split(" ", 1) for line in (built / "text").read_text().splitlines())
    keep = [k for k, t in texts.items() if t.strip() not in seen]
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("wav.scp", "text", "utt2spk", "utt2dur"):
        rows = dict(line.split(" ", 1) for line in (built / name).read_text().splitlines())
        (tmp / name).write_text("".join(f"{k} {rows[k].rstrip()}\n" for k in keep))
    utt2spk = dict(line.split(" ", 1) for line in (tmp / "utt2spk").read_text().splitlines())
    spk2utt = {}
    for k in keep:
        spk2utt.setdefault(utt2spk[k].strip(), []).append(k)
    (tmp / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))
    tmp.rename(out)
    logging.info("%s: %d utterances (%d of %d dropped: sentence in train or dev)", out, len(keep),
                 len(texts) - len(keep), len(texts))


if __name__ == "__main__":
    main()

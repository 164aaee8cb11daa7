#!/usr/bin/env python3
"""Train a sentencepiece BPE model on the transcripts of a Kaldi text file."""

import argparse
import tempfile

import sentencepiece as spm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", required=True, help="Kaldi text file (utt-id words...)")
    parser.add_argument("--model_prefix", required=True)
    parser.add_argument("--vocab_size", type=int, required=True)
    args = parser.parse_args()
    if args.vocab_size < 10:
        parser.error(f"--vocab_size must be >= 10, got {args.vocab_size}")
    with open(args.text) as f, tempfile.NamedTemporaryFile("w", suffix=".txt") as tmp:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) == 2:
                tmp.write(parts[1] + "\n")
        tmp.flush()
        spm.SentencePieceTrainer.train(
            input=tmp.name,
            model_prefix=args.model_prefix,
            vocab_size=args.vocab_size,
            model_type="bpe",
            character_coverage=1.0,
            input_sentence_size=100000000,
            minloglevel=2,
        )


if __name__ == "__main__":
    main()

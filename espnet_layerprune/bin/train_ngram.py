"""Train the word n-gram LM of the lexicon-constrained CTC search on training transcripts.

Examples::

    python -m espnet_layerprune.bin.train_ngram --text data/train/text --order 3 \\
        --out data/lm/word3gram.json [--dev_text data/dev/text]

Decode with it: ``asr_inference --lexicon_lm data/lm/word3gram.json`` (the LM's
words are the lexicon). Training takes well under a second for a few hours of
transcripts. An existing file is only replaced with ``--overwrite true``.
"""

import argparse
import logging
import time
from pathlib import Path

from espnet2.utils.types import str2bool

from espnet_layerprune.bin.common import add_log_options, setup_logging
from espnet_layerprune.inference.ngram import NgramLM, read_sentences


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", type=Path, required=True, help="Kaldi text of the training set.")
    parser.add_argument("--out", type=Path, required=True, help="Where the LM (JSON) goes.")
    parser.add_argument("--order", type=int, default=3, help="n of the n-gram, >= 1.")
    parser.add_argument("--discount", type=float, default=0.75, help="Kneser-Ney discount, in (0, 1).")
    parser.add_argument("--dev_text", type=Path, default=None, help="Kaldi text to report the perplexity on.")
    parser.add_argument("--overwrite", type=str2bool, default=False, help="Replace an existing --out.")
    add_log_options(parser)
    return parser


def main(cmd=None) -> Path:
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    if not args.text.is_file():
        raise SystemExit(f"error: --text {args.text} does not exist")
    if args.out.exists() and not args.overwrite:
        raise SystemExit(f"error: {args.out} exists; pass --overwrite true to replace it")
    start = time.perf_counter()
    try:
        sentences = read_sentences(args.text)
        lm = NgramLM.train(sentences, order=args.order, discount=args.discount)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    lm.save(args.out)
    logging.info("%d-gram LM of %d words from %d sentences in %.1f s: %s", args.order, len(lm.vocab),
                 len(sentences), time.perf_counter() - start, args.out)
    if args.dev_text is not None:
        logging.info("perplexity on %s: %.1f", args.dev_text, lm.perplexity(read_sentences(args.dev_text)))
    return args.out


if __name__ == "__main__":
    main()

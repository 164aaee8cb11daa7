"""``python -m espnet_layerprune.checks``: the input checks from the shell (see :mod:`espnet_layerprune.checks`)."""

import argparse
import logging
import sys

from espnet_layerprune.checks.audio import check_wav_scp, parse_fs
from espnet_layerprune.checks.checkpoints import check_checkpoint
from espnet_layerprune.checks.transcripts import warn_unknown_tokens
from espnet_layerprune.core.errors import InputError


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m espnet_layerprune.checks",
        description="Input checks at the boundary: audio lists, transcripts, checkpoints.",
    )
    sub = parser.add_subparsers(dest="what", required=True)
    wav = sub.add_parser("wav_scp", help="audio of a Kaldi wav.scp")
    wav.add_argument("path")
    wav.add_argument("--fs", default="16k", help="expected sampling rate (16000 or 16k)")
    wav.add_argument("--min_samples", type=int, default=1, help="shortest usable audio")
    text = sub.add_parser("text", help="tokens of a Kaldi text file missing from a token list")
    text.add_argument("path")
    text.add_argument("--token_list", required=True)
    text.add_argument("--token_type", default="char")
    text.add_argument("--bpemodel", default=None)
    ckpt = sub.add_parser("checkpoint", help="integrity of a torch.save file")
    ckpt.add_argument("path")
    return parser


def main(cmd=None) -> None:
    args = get_parser().parse_args(cmd)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        if args.what == "wav_scp":
            check_wav_scp(args.path, fs=parse_fs(args.fs), min_len=args.min_samples)
        elif args.what == "text":
            if warn_unknown_tokens(args.path, args.token_list, token_type=args.token_type,
                                   bpemodel=args.bpemodel):
                sys.exit(2)
        else:
            check_checkpoint(args.path)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.path}: ok")


if __name__ == "__main__":
    main()

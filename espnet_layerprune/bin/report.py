"""WER/CER by depth (and size) of a supernet's decodes, with the learning curve.

Works on the decode directories of any recipe: this package's ``run.sh``
(``exp/asr_*/decode_*/test/depth6/``) and ESPnet's ``asr.sh`` run through the
launcher (``exp/asr_*/decode_*_prune_depth6_*/test_clean/``, whose jobs each
write ``logdir/output.N/pruning.yaml``)::

    python -m espnet_layerprune.bin.report --exp_dir exp/asr_train_supernet \\
        --data data/test --out exp/asr_train_supernet/RESULTS.md

For every decode (a directory with ``pruning.yaml``) it scores the hypotheses
against ``--data``'s ``text`` with jiwer, and writes ``score.json`` there; the
report (Markdown) has one row per decode: the request, the kept layers and
units, WER, CER, encoder parameters and real-time factor, and a plot of error
and RTF against depth. With the training log (``exp_dir/train.log``) it adds the
learning curve: validation error per epoch against training wall time, at the
full depth and at every intermediate layer the model reports (``model:
layerprune`` reports ``wer_ctc``; ESPnet's model only ``cer_ctc``).
"""

import argparse
import logging
from pathlib import Path
from typing import Optional, Sequence

import yaml

from espnet_layerprune.analysis.report import write_report
from espnet_layerprune.bin.common import add_log_options, setup_logging
from espnet_layerprune.checks.audio import audio_expectations


def model_sample_rate(exp_dirs: Sequence[Path]) -> Optional[int]:
    """The sampling rate of the model's front end (``frontend_conf.fs`` of the ``config.yaml`` in the
    first experiment dir that has one, or its parent); ``None`` without one (RTF then from the wav headers)."""
    for exp_dir in exp_dirs:
        for config in (exp_dir / "config.yaml", exp_dir.parent / "config.yaml"):
            if config.is_file():
                return audio_expectations(yaml.safe_load(config.read_text()) or {})[0]
    return None


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exp_dir", type=Path, required=True, nargs="+",
                        help="Experiment dir(s) whose decode directories (with pruning.yaml) are "
                        "reported; several (e.g. greedy and lexicon decodes) get a table each.")
    parser.add_argument("--data", type=Path, required=True,
                        help="The decoded set's data dir (its text is the reference), e.g. data/test "
                        "or asr.sh's dump/raw/test_clean.")
    parser.add_argument("--out", type=Path, default=None, help="Report file (default: EXP_DIR/RESULTS.md).")
    parser.add_argument("--title", default=None, help="Title (default: the experiment dir's name).")
    parser.add_argument("--train_log", type=Path, default=None,
                        help="ESPnet training log for the learning curve (default: EXP_DIR/train.log).")
    add_log_options(parser)
    return parser


def main(cmd=None) -> None:
    args = get_parser().parse_args(cmd)
    setup_logging(args)
    for option, path in [*(("--exp_dir", e) for e in args.exp_dir), ("--data", args.data)]:
        if not path.is_dir():
            raise SystemExit(f"error: {option} {path} is not a directory")
    if not (args.data / "text").is_file():
        raise SystemExit(f"error: --data {args.data} has no text (the references)")
    try:
        text = write_report(args.exp_dir, args.data, args.out or args.exp_dir[0] / "RESULTS.md", args.title,
                            args.train_log, model_sample_rate(args.exp_dir))
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None
    print(text)
    logging.info("wrote %s", args.out or args.exp_dir[0] / "RESULTS.md")


if __name__ == "__main__":
    main()

"""Transcripts: tokens the token list lacks (ESPnet trains and scores them as ``<unk>``)."""

import logging
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from espnet_layerprune.core.errors import examples


def unknown_tokens(
    text: Union[str, Path],
    token_list: Union[str, Path, Sequence[str]],
    token_type: str = "char",
    bpemodel: Optional[str] = None,
    non_linguistic_symbols: Optional[Union[str, Path]] = None,
) -> Tuple[Counter, List[str]]:
    """Tokens of a Kaldi ``text`` file that the token list lacks (they become ``<unk>``).

    Returns:
        The unknown tokens with their counts, and the utterances that have any.
    """
    from espnet2.text.build_tokenizer import build_tokenizer

    if isinstance(token_list, (str, Path)):
        with open(token_list, encoding="utf-8") as f:
            token_list = [line.rstrip("\n") for line in f]
    known = set(token_list)
    tokenizer = build_tokenizer(
        token_type=token_type, bpemodel=bpemodel, non_linguistic_symbols=non_linguistic_symbols
    )
    unknown: Counter = Counter()
    utts: List[str] = []
    with open(text, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(maxsplit=1)
            if len(parts) < 2:
                continue
            missing = [t for t in tokenizer.text2tokens(parts[1]) if t not in known]
            if missing:
                unknown.update(missing)
                utts.append(parts[0])
    return unknown, utts


def warn_unknown_tokens(text, token_list, **kwargs) -> Counter:
    """Log a warning naming the tokens that will be mapped to ``<unk>``."""
    unknown, utts = unknown_tokens(text, token_list, **kwargs)
    if unknown:
        logging.warning(
            "%s: %d utterance(s) have tokens not in the token list, trained and scored as "
            "<unk>: %s (in %s)", text, len(utts),
            " ".join(f"{t!r}x{n}" for t, n in unknown.most_common(10)), examples(utts),
        )
    return unknown

"""Decoding methods over one utterance's CTC log-posteriors, chosen once per decoder.

As icefall's ``decode.py``: each method is a function from ``(T, V)`` log-posteriors (of the
CTC head of the depth that ran) to a :class:`Decoded` hypothesis; it neither knows nor cares
which encoder layers produced them. ESPnet's own beam search (the default, and the only one
that reads an attention decoder) is not one of them: ESPnet's scorers read the encoder output.

========================  ======================  ==========================================
method                    option                  what
========================  ======================  ==========================================
:func:`greedy_search`     ``--ctc_greedy true``   best path: argmax per frame, repeats merged, blanks removed
:func:`lexicon_search`    ``--lexicon_lm LM``     CTC prefix beam search over the words of a word n-gram
========================  ======================  ==========================================
"""

from dataclasses import dataclass
from typing import List, Optional

import torch

from espnet_layerprune.core.ctc import BLANK_ID, greedy_ids
from espnet_layerprune.inference.lexicon_search import LexiconBeamSearch


@dataclass(frozen=True)
class Decoded:
    """One hypothesis: token ids, score, and the words when the method decodes words."""

    ids: List[int]
    score: float
    words: Optional[List[str]] = None


def greedy_search(log_probs: torch.Tensor, blank: int = BLANK_ID) -> Decoded:
    """Best path; the score is the sum of every frame's best log-posterior."""
    return Decoded(greedy_ids(log_probs, blank), float(log_probs.max(-1).values.sum()))


def lexicon_search(search: LexiconBeamSearch, log_probs: torch.Tensor) -> Decoded:
    """The best word sequence of ``search`` (lexicon and word n-gram); no score."""
    words = search(log_probs.detach().cpu().numpy())
    return Decoded(search.tokens_of(words), 0.0, words)

"""The CTC side of a prunable model: which head decodes a pruned net, greedy
(best-path) decoding, and its error rates.

One rule for every path (decoding, dev-set evaluation, export, training):
:func:`head_for` gives the CTC output layer of a net with ``k`` kept units, the
shared ``model.ctc`` unless the model was trained with per-size heads
(``per_size_ctc: true``), whose head is that of the smallest trained size
``>= k``. Self-conditioned CTC always conditions on the shared head, as in
training. Every path that turns posteriors into text goes through
:func:`best_path` and :class:`TokenText`, so they agree on blanks, repeats and
word boundaries.

Examples:
    >>> to_text = TokenText(["<blank>", "<unk>", "▁the", "▁ca", "t"], "bpe")
    >>> to_text([2, 3, 4])
    'the cat'
    >>> word_errors("the cat", "the hat")
    (1, 2)
"""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import editdistance
import torch

BLANK_ID = 0


def head_for(model, num_units: int):
    """The CTC head that decodes a net of ``num_units`` kept units (see the module doc)."""
    from espnet_layerprune.models.layerprune import LayerPruneASRModel

    if isinstance(model, LayerPruneASRModel):
        return model.ctc_for_size(num_units)
    return model.ctc


def best_path(logits: torch.Tensor, lengths: torch.Tensor, blank: int = BLANK_ID) -> List[List[int]]:
    """Greedy CTC: the argmax per frame, repeats merged, blanks removed.

    Args:
        logits: ``(B, T, V)`` scores (logits or log-posteriors).
        lengths: ``(B,)`` valid frames.
        blank: Id of the blank token.

    Returns:
        One token-id list per utterance.
    """
    best = logits.argmax(-1).cpu()
    out = []
    for row, n in zip(best, lengths.tolist()):
        ids = torch.unique_consecutive(row[: int(n)]).tolist()
        out.append([t for t in ids if t != blank])
    return out


class TokenText:
    """Token ids to text, as ESPnet's ``asr_inference`` writes it (char or BPE).

    Args:
        token_list: The model's token list.
        token_type: ``char``, ``bpe``, ``word`` or ``phn``.
        bpemodel: Sentencepiece model; without it BPE pieces are joined on ``▁``.
    """

    def __init__(self, token_list: Sequence[str], token_type: Optional[str] = None, bpemodel=None):
        self.token_list = list(token_list)
        self.tokenizer = None
        if token_type == "bpe" and bpemodel and Path(bpemodel).is_file():
            from espnet2.text.build_tokenizer import build_tokenizer

            self.tokenizer = build_tokenizer(token_type="bpe", bpemodel=bpemodel)
        elif token_type in ("word", "phn"):
            from espnet2.text.build_tokenizer import build_tokenizer

            self.tokenizer = build_tokenizer(token_type=token_type)

    def __call__(self, ids: Sequence[int]) -> str:
        tokens = [self.token_list[int(i)] for i in ids if 0 <= int(i) < len(self.token_list)]
        if self.tokenizer is not None:
            return self.tokenizer.tokens2text(tokens)
        # The word markers of ESPnet's char tokens and of sentencepiece.
        text = "".join(" " if t == "<space>" else t for t in tokens)
        return " ".join(text.replace("\u2581", " ").split())


def word_errors(ref: str, hyp: str) -> Tuple[int, int]:
    """(word edit distance, reference words)."""
    r, h = ref.split(), hyp.split()
    return editdistance.eval(r, h), len(r)


def char_errors(ref: str, hyp: str) -> Tuple[int, int]:
    """(character edit distance, reference characters), spaces included (as jiwer)."""
    r, h = " ".join(ref.split()), " ".join(hyp.split())
    return editdistance.eval(r, h), len(r)


def error_rates(refs: Sequence[str], hyps: Sequence[str]) -> Tuple[float, float]:
    """Corpus-level (WER, CER) as fractions, counted like jiwer."""
    we = wn = ce = cn = 0
    for r, h in zip(refs, hyps):
        e, n = word_errors(r, h)
        we, wn = we + e, wn + n
        e, n = char_errors(r, h)
        ce, cn = ce + e, cn + n
    return we / max(wn, 1), ce / max(cn, 1)

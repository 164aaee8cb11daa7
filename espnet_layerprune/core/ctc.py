"""The CTC side of decoding: greedy (best-path) decoding, token ids to text, error rates.

Pure functions over CTC scores and strings (which head reads a pruned net is the model's
business: :func:`espnet_layerprune.models.pruning.head_for`). Every path that turns
posteriors into text (validation in training, decoding, dev-set evaluation, early exit, its
gate, the ONNX decoder) goes through :func:`collapse` and :class:`TokenText`, so they agree on
blanks, repeats and word boundaries.

Examples:
    >>> to_text = TokenText(["<blank>", "<unk>", "▁the", "▁ca", "t"], "bpe")
    >>> to_text([2, 3, 4])
    'the cat'
    >>> greedy_ids(np.log([[.1, .9], [.1, .9], [.9, .1], [.2, .8]]))
    [1, 1]
    >>> word_errors("the cat", "the hat")
    (1, 2)
"""

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import editdistance
import numpy as np
import torch

BLANK_ID = 0


def collapse(frame_ids, blank: int = BLANK_ID) -> List[int]:
    """Best-path token ids from one utterance's per-frame argmax ids: repeats merged, blanks removed."""
    frame_ids = np.asarray(frame_ids)
    if frame_ids.size == 0:
        return []
    runs = frame_ids[np.r_[True, frame_ids[1:] != frame_ids[:-1]]]
    return [int(t) for t in runs if t != blank]


def greedy_ids(log_probs, blank: int = BLANK_ID) -> List[int]:
    """Greedy CTC of one utterance: best-path token ids of ``(T, V)`` scores (a tensor or an array)."""
    best = log_probs.argmax(-1)
    return collapse(best.cpu().numpy() if isinstance(best, torch.Tensor) else best, blank)


def best_path(logits: torch.Tensor, lengths: torch.Tensor, blank: int = BLANK_ID) -> List[List[int]]:
    """Greedy CTC of a batch: the argmax per frame, repeats merged, blanks removed.

    Args:
        logits: ``(B, T, V)`` scores (logits or log-posteriors).
        lengths: ``(B,)`` valid frames.
        blank: Id of the blank token.

    Returns:
        One token-id list per utterance.
    """
    best = logits.argmax(-1).cpu().numpy()
    return [collapse(row[: int(n)], blank) for row, n in zip(best, lengths.tolist())]


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

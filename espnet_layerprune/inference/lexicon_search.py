"""CTC prefix beam search restricted to a lexicon, scored with a word n-gram LM.

Greedy CTC spells words piece by piece and can emit non-words. This search
keeps only hypotheses whose pieces spell words of the lexicon (a trie over the
words' token sequences), and adds ``lm_weight`` x the word n-gram log-probability
and ``word_bonus`` per word as each word completes::

    score = log P_ctc(tokens | audio) + lm_weight * log P_lm(words) + word_bonus * |words|

It works on the CTC posteriors of any depth or size, so a pruned encoder and its
LM-free greedy decoding can be compared on the same output. Tokens: sentencepiece
pieces (a word starts with a piece beginning with ``▁``) or characters
(``<space>`` between words).

Example:
    >>> search = LexiconBeamSearch(token_list, lexicon_tokens, lm, beam=8)
    >>> words = search(log_probs)          # (T, V) log-posteriors of one utterance
"""

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet_layerprune.inference.ngram import EOS, NgramLM

NEG_INF = -math.inf


@dataclass(eq=False)  # hashed by identity: a node is a position in the trie
class _Node:
    token: int
    children: Dict[int, "_Node"] = field(default_factory=dict)
    word: Optional[str] = None


def _logaddexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def lexicon_from_tokenizer(words: Sequence[str], token_list: Sequence[str], token_type: str,
                           bpemodel: Optional[str] = None) -> Dict[str, List[int]]:
    """Each word's token ids, as the model spells it (words with unknown tokens are left out)."""
    index = {t: i for i, t in enumerate(token_list)}
    if token_type == "bpe":
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(bpemodel))
        spelled = {w: sp.encode(w, out_type=str) for w in words}
    elif token_type == "char":
        spelled = {w: list(w) for w in words}
    else:
        raise ValueError(f"lexicon search supports token_type bpe or char, got {token_type!r}")
    return {w: [index[t] for t in toks] for w, toks in spelled.items() if toks and all(t in index for t in toks)}


class LexiconBeamSearch:
    """CTC prefix beam search over lexicon words with a word LM.

    Args:
        token_list: The model's tokens (``<blank>`` first).
        lexicon: ``{word: token ids}`` (see :func:`lexicon_from_tokenizer`).
        lm: Word n-gram LM, or ``None`` (lexicon only).
        lm_weight: Weight of the LM log-probability.
        word_bonus: Added per word (counters the LM's preference for fewer words).
        beam: Hypotheses kept per frame.
        token_prune: Tokens below this log-posterior are not expanded in a frame.
        blank_skip: Frames whose blank log-posterior is above this only extend blanks.
        space_token: Id of the word separator for char tokens (``<space>``), else ``None``.
    """

    def __init__(self, token_list: Sequence[str], lexicon: Dict[str, List[int]], lm: Optional[NgramLM] = None,
                 lm_weight: float = 0.5, word_bonus: float = 0.0, beam: int = 8, token_prune: float = -8.0,
                 blank_skip: float = -1e-4, blank: int = 0):
        if beam < 1:
            raise ValueError(f"--lexicon_beam must be >= 1, got {beam}")
        if not lexicon:
            raise ValueError("the lexicon is empty: no word can be spelled with the model's tokens")
        self.lm, self.lm_weight, self.word_bonus = lm, lm_weight, word_bonus
        self.beam, self.token_prune, self.blank_skip, self.blank = beam, token_prune, blank_skip, blank
        space = [i for i, t in enumerate(token_list) if t == "<space>"]
        self.space = space[0] if space else None
        self.lexicon = dict(lexicon)
        self.root = _Node(-1)
        for word, tokens in lexicon.items():
            node = self.root
            for t in tokens:
                node = node.children.setdefault(t, _Node(t))
            node.word = word
        # Tokens that can start a word; for BPE they carry the word boundary themselves.
        self.starts = set(self.root.children)

    def tokens_of(self, words: Sequence[str]) -> List[int]:
        """The token ids that spell ``words`` (with ``<space>`` between words for char tokens)."""
        out: List[int] = []
        for i, w in enumerate(words):
            if i and self.space is not None:
                out.append(self.space)
            out.extend(self.lexicon[w])
        return out

    def _lm(self, word: str, words: Tuple[str, ...]) -> float:
        lm = self.lm.logp(word, words) if self.lm is not None else 0.0
        return self.lm_weight * lm + self.word_bonus

    def __call__(self, log_probs: np.ndarray) -> List[str]:
        """The best word sequence for one utterance's ``(T, V)`` CTC log-posteriors."""
        log_probs = np.asarray(log_probs, dtype=np.float64)
        # hypothesis (words, trie node, last token) -> [log p ending in blank, in non-blank, LM score]
        hyps: Dict[tuple, list] = {((), self.root, -1): [0.0, NEG_INF, 0.0]}
        for frame in log_probs:
            lp_blank = frame[self.blank]
            if lp_blank > self.blank_skip:  # a blank frame: nothing new can start here
                for h in hyps.values():
                    h[0], h[1] = _logaddexp(h[0], h[1]) + lp_blank, NEG_INF
                continue
            candidates = [int(t) for t in np.nonzero(frame > self.token_prune)[0] if t != self.blank]
            new: Dict[tuple, list] = {}

            def add(key, pb, pnb, lm):
                entry = new.get(key)
                if entry is None:
                    new[key] = [pb, pnb, lm]
                else:
                    entry[0], entry[1] = _logaddexp(entry[0], pb), _logaddexp(entry[1], pnb)

            for key, (pb, pnb, lm) in hyps.items():
                words, node, last = key
                total = _logaddexp(pb, pnb)
                add(key, total + lp_blank, NEG_INF, lm)
                if last >= 0:
                    add(key, NEG_INF, pnb + frame[last], lm)  # the last token, repeated
                for t in candidates:
                    prev = pb if t == last else total  # a repeated token needs a blank between
                    if t == self.space:  # char tokens: a word ends at <space>
                        if node.word is not None:
                            add((words + (node.word,), self.root, t), NEG_INF, prev + frame[t],
                                lm + self._lm(node.word, words))
                        continue
                    child = node.children.get(t)
                    if child is not None:
                        add((words, child, t), NEG_INF, prev + frame[t], lm)
                    elif self.space is None and node.word is not None and t in self.starts:
                        # BPE: a word-initial piece after a complete word ends that word
                        add((words + (node.word,), self.root.children[t], t), NEG_INF, prev + frame[t],
                            lm + self._lm(node.word, words))
            best = sorted(new.items(), key=lambda kv: -(_logaddexp(kv[1][0], kv[1][1]) + kv[1][2]))
            hyps = dict(best[: self.beam])
        finals = []
        for (words, node, _), (pb, pnb, lm) in hyps.items():
            if node is not self.root:
                if node.word is None:
                    continue  # ends inside a word
                lm += self._lm(node.word, words)
                words = words + (node.word,)
            if self.lm is not None:
                lm += self.lm_weight * self.lm.logp(EOS, words)
            finals.append((_logaddexp(pb, pnb) + lm, words))
        if not finals:
            return []
        return list(max(finals)[1])

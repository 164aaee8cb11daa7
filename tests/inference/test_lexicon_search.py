"""Lexicon-constrained CTC beam search: only lexicon words, the LM breaks acoustic ties."""

import numpy as np
import pytest

from espnet_layerprune.inference.lexicon_search import LexiconBeamSearch, lexicon_from_tokenizer
from espnet_layerprune.inference.ngram import NgramLM

TOKENS = ["<blank>", "<unk>", "▁the", "▁ca", "t", "r", "▁dog", "<sos/eos>"]
LEXICON = {"the": [2], "cat": [3, 4], "car": [3, 5], "dog": [6]}


def _posteriors(path, peak=0.9, size=len(TOKENS)):
    """One frame per token of ``path`` (with blanks between), the token at ``peak``."""
    frames = []
    for t in path:
        for token in (t, 0):
            p = np.full(size, (1 - peak) / (size - 1))
            p[token] = peak
            frames.append(np.log(p))
    return np.array(frames)


def test_spells_lexicon_words_from_pieces():
    search = LexiconBeamSearch(TOKENS, LEXICON, beam=4)
    assert search(_posteriors([2, 3, 4])) == ["the", "cat"]
    assert search(_posteriors([6, 6])) == ["dog", "dog"]  # a repeated word: blank between


def test_a_non_word_is_not_produced():
    search = LexiconBeamSearch(TOKENS, LEXICON, beam=4)
    # greedy would read "▁ca" alone (not a word); the search must complete a word
    out = search(_posteriors([2, 3]))
    assert all(w in LEXICON for w in out)


def test_the_lm_decides_between_acoustically_equal_words():
    frames = _posteriors([2, 3, 4])
    frames[3] = np.log(np.array([0.02, 0.0, 0.0, 0.0, 0.49, 0.49, 0.0, 0.0]) + 1e-9)  # "t" or "r"?
    lm = NgramLM.train([["the", "car"]] * 5 + [["a", "cat"]], order=2)
    assert LexiconBeamSearch(TOKENS, LEXICON, lm, lm_weight=1.0, beam=4)(frames) == ["the", "car"]
    lm = NgramLM.train([["the", "cat"]] * 5 + [["a", "car"]], order=2)
    assert LexiconBeamSearch(TOKENS, LEXICON, lm, lm_weight=1.0, beam=4)(frames) == ["the", "cat"]


def test_char_tokens_use_space_between_words():
    tokens = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    lexicon = lexicon_from_tokenizer(["ab", "ba"], tokens, "char")
    search = LexiconBeamSearch(tokens, lexicon, beam=4)
    assert search(_posteriors([2, 3, 4, 3, 2], size=len(tokens))) == ["ab", "ba"]


def test_bad_options():
    with pytest.raises(ValueError, match="--lexicon_beam must be >= 1"):
        LexiconBeamSearch(TOKENS, LEXICON, beam=0)
    with pytest.raises(ValueError, match="the lexicon is empty"):
        LexiconBeamSearch(TOKENS, {})

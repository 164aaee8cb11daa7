"""The CTC side of decoding: best path, token ids to text, and error rates counted like jiwer."""

import doctest

import jiwer
import numpy as np
import pytest
import torch

from espnet_layerprune.core import ctc
from espnet_layerprune.core.ctc import TokenText, best_path, char_errors, collapse, error_rates, greedy_ids, word_errors


def test_the_module_examples_hold():
    assert doctest.testmod(ctc).failed == 0


def test_best_path_merges_repeats_then_drops_blanks_within_each_length():
    # frames: a a <b> a b b <b> | padding that says "b"
    frames = [1, 1, 0, 1, 2, 2, 0, 2, 2]
    logits = torch.nn.functional.one_hot(torch.tensor([frames, frames]), 3).float()
    assert best_path(logits, torch.tensor([7, 3])) == [[1, 1, 2], [1]]
    assert best_path(logits, torch.tensor([0, 9])) == [[], [1, 1, 2, 2]]


def test_greedy_ids_read_tensors_and_arrays_alike_and_agree_with_the_batch_path():
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(5) * 0.3, size=40)).astype(np.float32)
    expected = best_path(torch.from_numpy(logp)[None], torch.tensor([40]))[0]
    assert greedy_ids(logp) == greedy_ids(torch.from_numpy(logp)) == expected
    assert greedy_ids(np.zeros((0, 5))) == []
    assert collapse([3, 3, 1, 1, 3], blank=1) == [3, 3]  # another blank id


def test_token_text_joins_characters_and_sentencepiece_pieces():
    chars = TokenText(["<blank>", "<unk>", "a", "b", "<space>"], "char")
    assert chars([2, 3, 4, 2]) == "ab a"
    assert chars([2, 99, -1]) == "a"  # ids outside the list are left out
    pieces = TokenText(["<blank>", "\u2581the", "\u2581ca", "t"], "bpe")  # no model file: joined on ▁
    assert pieces([1, 2, 3]) == "the cat"


@pytest.mark.parametrize("ref,hyp", [("the cat sat", "the hat sat down"), ("a b", ""), ("", "x"),
                                     ("  spaced   words ", "spaced word")])
def test_error_counts_are_jiwers(ref, hyp):
    if ref.strip():
        we, wn = word_errors(ref, hyp)
        assert we / wn == pytest.approx(jiwer.wer(ref, hyp))
        ce, cn = char_errors(ref, hyp)
        assert ce / cn == pytest.approx(jiwer.cer(" ".join(ref.split()), " ".join(hyp.split())))
    else:
        assert word_errors(ref, hyp) == (1, 0)


def test_corpus_error_rates_pool_the_counts():
    refs, hyps = ["a b c d", "e f"], ["a b x d", "e"]
    wer, cer = error_rates(refs, hyps)
    assert wer == pytest.approx(2 / 6) and wer == pytest.approx(jiwer.wer(refs, hyps))
    assert cer == pytest.approx(jiwer.cer(refs, hyps))
    assert error_rates([], []) == (0.0, 0.0)

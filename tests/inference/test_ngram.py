"""The word n-gram LM: Kneser-Ney probabilities that sum to one, and its file."""

import math

import pytest

from espnet_layerprune.inference.ngram import EOS, NgramLM, read_sentences

SENTENCES = [s.split() for s in ("the cat sat", "the dog sat", "a cat ran", "the cat ran")]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_probabilities_sum_to_one_over_the_vocabulary_and_the_end(order):
    lm = NgramLM.train(SENTENCES, order=order)
    for context in [(), ("the",), ("the", "cat"), ("unseen", "words")]:
        total = sum(math.exp(lm.logp(w, context)) for w in lm.vocab + [EOS])
        assert total == pytest.approx(1.0, abs=0.02)  # the uniform floor keeps a little for unseen words


def test_seen_continuations_beat_unseen_ones():
    lm = NgramLM.train(SENTENCES, order=3)
    assert lm.logp("sat", ("the", "cat")) > lm.logp("dog", ("the", "cat"))
    assert lm.logp("cat", ("the",)) > lm.logp("ran", ("the",))
    assert lm.perplexity(SENTENCES) < lm.perplexity([["ran", "the", "a"]])


def test_round_trip_through_json(tmp_path):
    lm = NgramLM.train(SENTENCES, order=3)
    loaded = NgramLM.load(lm.save(tmp_path / "lm.json"))
    assert loaded.vocab == lm.vocab
    assert loaded.logp("sat", ("the", "dog")) == lm.logp("sat", ("the", "dog"))


def test_reads_kaldi_text_and_refuses_bad_options(tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 the cat\nu2\nu3 a dog\n")
    assert read_sentences(text) == [["the", "cat"], ["a", "dog"]]
    with pytest.raises(ValueError, match="needs at least one sentence"):
        NgramLM.train([], order=2)
    with pytest.raises(ValueError, match=r"--order must be >= 1"):
        NgramLM.train(SENTENCES, order=0)

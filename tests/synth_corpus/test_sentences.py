"""The synthetic sentence generator, its words, morphology and numbers."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from synth_corpus.morphology import inflect_verb, pluralize
from synth_corpus.numbers import number_to_words, ordinal_to_words, year_to_words
from synth_corpus.sentences import generate_sentences, vocabulary

ALLOWED = re.compile(r"[a-z']+( [a-z']+)*")


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return generate_sentences(3000, seed=123)


def test_deterministic_under_seed():
    assert generate_sentences(50, seed=7) == generate_sentences(50, seed=7)
    assert generate_sentences(50, seed=7) != generate_sentences(50, seed=8)
    # A longer request extends a shorter one: the stream is a function of the seed.
    assert generate_sentences(60, seed=7)[:50] == generate_sentences(50, seed=7)


def test_word_counts_within_bounds(sentences):
    counts = [len(s.split()) for s in sentences]
    assert min(counts) >= 3 and max(counts) <= 20
    narrow = generate_sentences(200, seed=1, min_words=5, max_words=8)
    assert all(5 <= len(s.split()) <= 8 for s in narrow)


def test_lengths_spread_over_range(sentences):
    histogram = Counter(len(s.split()) for s in sentences)
    # every length 3..20 occurs, and none dominates
    assert set(histogram) == set(range(3, 21))
    assert max(histogram.values()) < 3 * min(histogram.values())
    short = sum(v for k, v in histogram.items() if k <= 8)
    long = sum(v for k, v in histogram.items() if k >= 15)
    assert short > 0.2 * len(sentences) and long > 0.2 * len(sentences)


def test_only_lowercase_letters_apostrophes_single_spaces(sentences):
    for s in sentences:
        assert ALLOWED.fullmatch(s), s
        assert not re.search(r"\d", s)


def test_vocabulary_size_and_closure(sentences):
    vocab = vocabulary()
    assert len(vocab) >= 1000
    assert all(ALLOWED.fullmatch(w) and " " not in w for w in vocab)
    used = {w for s in sentences for w in s.split()}
    assert used <= vocab  # the generator never leaves its vocabulary
    assert len(used) >= 1000  # and it really uses a large part of it


def test_sentences_are_varied(sentences):
    assert len(set(sentences)) > 0.97 * len(sentences)
    first_words = Counter(s.split()[0] for s in sentences)
    assert len(first_words) > 150
    assert sum(s.split()[0] in ("do", "does", "did", "where", "when", "why",
                                "how", "who", "have", "has", "is", "are", "can")
               for s in sentences) > 0.05 * len(sentences)  # questions


def test_numbers_spelled_out():
    assert number_to_words(0) == "zero"
    assert number_to_words(23) == "twenty three"
    assert number_to_words(105) == "one hundred and five"
    assert number_to_words(2024) == "two thousand and twenty four"
    assert number_to_words(1999) == "one thousand nine hundred and ninety nine"
    assert number_to_words(40000) == "forty thousand"
    assert ordinal_to_words(23) == "twenty third"
    assert ordinal_to_words(30) == "thirtieth"
    assert year_to_words(1998) == "nineteen ninety eight"
    assert year_to_words(1905) == "nineteen oh five"
    assert year_to_words(2007) == "two thousand and seven"
    with pytest.raises(ValueError):
        number_to_words(-1)


def test_inflections():
    assert inflect_verb("carry") == ("carry", "carries", "carried", "carried",
                                     "carrying")
    assert inflect_verb("stop")[2:] == ("stopped", "stopped", "stopping")
    assert inflect_verb("dance")[2:] == ("danced", "danced", "dancing")
    assert inflect_verb("fix")[1] == "fixes"
    assert inflect_verb("play")[1:3] == ("plays", "played")
    assert inflect_verb("swim") == ("swim", "swims", "swam", "swum", "swimming")
    assert pluralize("child") == "children"
    assert pluralize("box") == "boxes"
    assert pluralize("strawberry") == "strawberries"
    assert pluralize("bus stop") == "bus stops"


def test_a_smaller_domain_keeps_several_hundred_words_and_stays_grammatical():
    full = vocabulary()
    sentences = generate_sentences(3000, seed=1, list_size=8)
    used = {w for s in sentences for w in s.split()}
    assert used <= full and 400 < len(used) < 700
    unrestricted = {w for s in generate_sentences(3000, seed=1) for w in s.split()}
    assert len(unrestricted) > 2 * len(used)
    assert generate_sentences(50, seed=1, list_size=8) == sentences[:50]
    with pytest.raises(ValueError, match="--word_list_size must be >= 2"):
        generate_sentences(1, seed=0, list_size=1)

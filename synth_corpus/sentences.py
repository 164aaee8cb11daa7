"""Deterministic generator of varied, grammatical English sentences.

Sentences are built from templates (statements in several tenses, questions,
imperatives, statements about dates, times, money and places, everyday
phrases) over the word lists of :mod:`.words`, optionally extended with
coordinate or subordinate clauses, so that lengths spread over the whole
allowed range.

Output is lower-case words separated by single spaces, made of letters and
apostrophes only (numbers are spelled out), so that it can be scored by word
error rate directly. All randomness comes from ``random.Random(seed)``.

Example:
    >>> from synth_corpus.sentences import generate_sentences
    >>> sentences = generate_sentences(3, seed=0)
    >>> len(sentences)
    3
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from synth_corpus.morphology import article as _article
from synth_corpus.morphology import inflect_verb, pluralize
from synth_corpus.numbers import (
    ORDINAL_UNITS,
    TENS,
    UNITS,
    number_to_words,
    ordinal_to_words,
    year_to_words,
)
from synth_corpus.words import (
    ADJECTIVES,
    ADVERBS,
    ANIMALS,
    CITIES,
    COUNTRIES,
    CURRENCIES,
    DAYS,
    DEGREE_ADVERBS,
    FEELINGS,
    FIRST_NAMES,
    FOOD_COUNT,
    FOOD_MASS,
    FREQUENCY_ADVERBS,
    FUNCTION_WORDS,
    MONTHS,
    OBJECTS,
    PARTS_OF_DAY,
    PEOPLE,
    PHRASES,
    PLACES,
    PLACE_PREPOSITIONS,
    UNITS_OF_MEASURE,
    VERBS_FOOD,
    VERBS_INTRANSITIVE,
    VERBS_OBJECT,
    VERBS_PERSON,
    VERBS_PLACE,
)

_T = TypeVar("_T")


def _capped(seq: Sequence[_T], list_size: int | None) -> Sequence[_T]:
    """The first ``list_size`` entries of a word list (all of it with ``None``)."""
    return seq if list_size is None else seq[:list_size]


def _vocab_words() -> set[str]:
    words: set[str] = set()

    def add(entries: Iterable[str]) -> None:
        for entry in entries:
            words.update(entry.split())

    for noun_list in (PEOPLE, ANIMALS, OBJECTS, FOOD_COUNT, PLACES):
        add(noun_list)
        add(pluralize(n) for n in noun_list)
    for verb_list in (VERBS_FOOD, VERBS_OBJECT, VERBS_PERSON, VERBS_PLACE,
                      VERBS_INTRANSITIVE):
        for verb in verb_list:
            add(inflect_verb(verb))
    for verb in ("go", "move", "travel", "fly", "say", "tell", "live",
                 "work", "study", "stay", "feel", "look", "seem"):
        add(inflect_verb(verb))
    for other in (FOOD_MASS, PLACE_PREPOSITIONS, ADJECTIVES, FEELINGS,
                  ADVERBS, FREQUENCY_ADVERBS, DEGREE_ADVERBS, FIRST_NAMES,
                  CITIES, COUNTRIES, UNITS, TENS, ORDINAL_UNITS, DAYS,
                  MONTHS, PARTS_OF_DAY, CURRENCIES, UNITS_OF_MEASURE,
                  PHRASES, FUNCTION_WORDS, DRINK_CONTAINERS,
                  FOOD_CONTAINERS, EVENTS):
        add(other)
    add(pluralize(d) for d in DAYS)
    add(ordinal_to_words(i) for i in range(1, 100))
    return words


# ==========================================================================
# Sentence grammar
# ==========================================================================

DRINKS: frozenset[str] = frozenset({
    "coffee", "tea", "milk", "water", "juice", "lemonade", "orange juice",
})
DRINK_CONTAINERS: tuple[str, ...] = (
    "a cup of", "a glass of", "a bottle of", "a mug of", "a jug of",
)
FOOD_CONTAINERS: tuple[str, ...] = (
    "a bowl of", "a slice of", "a piece of", "a jar of", "a bag of",
    "a box of", "a plate of", "a spoon of",
)
EVENTS: tuple[str, ...] = (
    "meeting", "party", "lesson", "concert", "match", "film", "show",
    "exam", "wedding", "game", "class", "festival", "interview",
)

_SUBORDINATORS = ("when", "before", "after", "while", "if", "until")
_COORDINATORS = ("and", "but", "so", "because", "although")
_PAST_TENSES = ("past", "neg_past", "past_progressive")
_PLACE_PROPER_VERBS = frozenset({
    "visit", "leave", "explore", "love", "like", "hate", "photograph",
    "describe", "reach", "prefer",
})


@dataclass(frozen=True)
class _Subject:
    """A sentence subject and what it needs for agreement."""

    words: tuple[str, ...]
    person: int
    plural: bool

    @property
    def third_singular(self) -> bool:
        return self.person == 3 and not self.plural


_PRONOUNS = (
    _Subject(("i",), 1, False), _Subject(("you",), 2, True),
    _Subject(("he",), 3, False), _Subject(("she",), 3, False),
    _Subject(("we",), 1, True), _Subject(("they",), 3, True),
)


class SentenceGenerator:
    """Random generator of grammatical English sentences.

    All randomness comes from one :class:`random.Random`, so the sequence of
    sentences is a pure function of the seed.

    Args:
        seed: Seed of the random number generator.
        min_words: Minimum number of words per sentence (at least 1).
        max_words: Maximum number of words per sentence.
        list_size: Use only the first ``list_size`` entries of every word list
            (names, nouns, verbs, adjectives, ...): a smaller domain, with each
            word heard more often. ``None``: all (about 2,500 word types); 8 gives
            about 560.
    """

    def __init__(self, seed: int, min_words: int = 3, max_words: int = 20,
                 list_size: int | None = None):
        if min_words < 1 or max_words < min_words:
            raise ValueError(
                f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
        if list_size is not None and list_size < 2:
            raise ValueError(f"--word_list_size must be >= 2, got {list_size}")
        self.rng = random.Random(seed)
        self.min_words = min_words
        self.max_words = max_words
        self.list_size = list_size

    # -- public ------------------------------------------------------------

    def sentence(self) -> str:
        """Return the next sentence, with a length in ``[min_words, max_words]``.

        A target length is drawn uniformly and the closest of several random
        candidates is kept, so that lengths spread over the whole range.
        """
        target = self.rng.randint(self.min_words, self.max_words)
        best: list[str] | None = None
        for attempt in range(200):
            words = " ".join(self._candidate(target)).split()
            if not self.min_words <= len(words) <= self.max_words:
                continue
            if best is None or abs(len(words) - target) < abs(len(best) - target):
                best = words
            if len(best) == target or (attempt >= 24 and best is not None):
                break
        if best is None:  # only reachable with very narrow length bounds
            raise RuntimeError(
                f"could not generate a sentence of {self.min_words}.."
                f"{self.max_words} words")
        return " ".join(best)

    # -- helpers -------------------------------------------------------------

    def _pick(self, seq: Sequence[_T]) -> _T:
        seq = _capped(seq, self.list_size)
        return seq[self.rng.randrange(len(seq))]

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _subject(self) -> _Subject:
        r = self.rng.random()
        if r < 0.35:
            return self._pick(_PRONOUNS)
        if r < 0.55:
            return _Subject((self._pick(FIRST_NAMES),), 3, False)
        if r < 0.6:
            names = (self._pick(FIRST_NAMES), "and", self._pick(FIRST_NAMES))
            return _Subject(names, 3, True)
        noun_list = PEOPLE if self._chance(0.75) else ANIMALS
        noun = self._pick(noun_list)
        adjective = (self._pick(ADJECTIVES),) if self._chance(0.25) else ()
        if self._chance(0.7):
            det = self._pick(("the", "my", "our", "your", "their", "his",
                              "her", "this", "that"))
            return _Subject((det, *adjective, noun), 3, False)
        det = self._pick(("the", "my", "our", "some", "these", "those", "two",
                          "three", "many"))
        return _Subject((det, *adjective, pluralize(noun)), 3, True)

    def _noun_phrase(self, nouns: Sequence[str], plural_ok: bool = True,
                     adjective_p: float = 0.35) -> list[str]:
        noun = self._pick(nouns)
        adjective = [self._pick(ADJECTIVES)] if self._chance(adjective_p) else []
        if plural_ok and self._chance(0.35):
            det = self._pick(("the", "some", "these", "those", "my", "your",
                              "our", "their", "number"))
            if det == "number":
                det = number_to_words(self.rng.randint(2, 12))
            return [*det.split(), *adjective, *pluralize(noun).split()]
        det = self._pick(("the", "a", "my", "your", "his", "her", "our",
                          "their", "this", "that"))
        head = [*adjective, *noun.split()]
        if det == "a":
            det = _article(head[0])
        return [det, *head]

    def _food(self) -> list[str]:
        r = self.rng.random()
        if r < 0.45:
            return self._noun_phrase(FOOD_COUNT, adjective_p=0.25)
        mass_noun = self._pick(FOOD_MASS)
        mass = mass_noun.split()
        if r < 0.65:
            containers = (DRINK_CONTAINERS if mass_noun in DRINKS
                          else FOOD_CONTAINERS)
            return [*self._pick(containers).split(), *mass]
        if r < 0.8 and self._chance(0.5):
            return ["some", self._pick(ADJECTIVES), *mass]
        return [self._pick(("the", "some", "my", "your", "more")), *mass]

    def _person_object(self, subject: _Subject) -> list[str]:
        r = self.rng.random()
        if r < 0.3:
            return [self._pick(FIRST_NAMES)]
        if r < 0.45:
            options = [p for p in ("him", "her", "them", "us", "me")
                       if not (p == "us" and subject.words == ("we",))
                       and not (p == "me" and subject.words == ("i",))]
            return [self._pick(options)]
        return self._noun_phrase(PEOPLE, adjective_p=0.25)

    def _place_object(self, verb: str) -> list[str]:
        if verb in _PLACE_PROPER_VERBS and self._chance(0.35):
            return self._pick(CITIES if self._chance(0.6) else COUNTRIES).split()
        return self._noun_phrase(PLACES, plural_ok=False, adjective_p=0.3)

    def _place_pp(self) -> list[str]:
        if self._chance(0.2):
            return ["in", *self._pick(CITIES + COUNTRIES).split()]
        prep = self._pick(PLACE_PREPOSITIONS).split()
        det = self._pick(("the", "the", "the", "my", "our", "your", "this"))
        adjective = [self._pick(ADJECTIVES)] if self._chance(0.2) else []
        return [*prep, det, *adjective, *self._pick(PLACES).split()]

    def _clock(self) -> list[str]:
        hour = self.rng.randint(1, 12)
        h = number_to_words(hour)
        r = self.rng.random()
        if r < 0.25:
            words = [h, "o'clock"]
        elif r < 0.35:
            words = ["half", "past", h]
        elif r < 0.45:
            words = ["a", "quarter", self._pick(("past", "to")), h]
        elif r < 0.5:
            return [self._pick(("noon", "midnight"))]
        elif r < 0.6:
            minutes = self._pick(("five", "ten", "twenty", "twenty five"))
            words = [*minutes.split(), self._pick(("past", "to")), h]
        else:
            minutes = self.rng.randint(10, 59)
            words = [h, *number_to_words(minutes).split()]
        if self._chance(0.25):
            words += ["in", "the", self._pick(("morning", "afternoon", "evening"))]
        return words

    def _date(self) -> list[str]:
        r = self.rng.random()
        if r < 0.5:
            return ["on", "the", *ordinal_to_words(self.rng.randint(1, 31)).split(),
                    "of", self._pick(MONTHS)]
        if r < 0.8:
            return ["on", self._pick(DAYS)]
        return ["in", self._pick(MONTHS)]

    def _time_phrase(self, tense: str) -> list[str]:
        r = self.rng.random()
        if tense in ("present", "neg_present"):
            options = (["every", self._pick(("day", "morning", "evening",
                                              "week", "weekend", "month"))],
                       ["every", self._pick(DAYS)],
                       ["on", pluralize(self._pick(DAYS))],
                       ["in", "the", self._pick(("morning", "afternoon", "evening"))],
                       ["at", "night"], ["at", "the", "weekend"],
                       [self._pick(("once", "twice")), "a",
                        self._pick(("day", "week", "month", "year"))])
            return self._pick(options)
        if tense in _PAST_TENSES:
            if r < 0.25:
                return self._pick(("yesterday", "yesterday morning",
                                   "yesterday afternoon", "last night")).split()
            if r < 0.45:
                return ["last", self._pick(DAYS + ("week", "month", "year",
                                                   "weekend"))]
            if r < 0.6:
                return [*number_to_words(self.rng.randint(2, 30)).split(),
                        self._pick(("days", "weeks", "months", "years")), "ago"]
            if r < 0.7:
                return ["in", *year_to_words(self.rng.randint(1950, 2024)).split()]
            if r < 0.85:
                return ["at", *self._clock()] if r < 0.78 else self._date()
            return self._date()
        if tense in ("future", "modal", "bare"):
            if r < 0.3:
                return self._pick(("tomorrow", "tomorrow morning", "tonight",
                                   "later", "soon", "next week",
                                   "next month")).split()
            if r < 0.45:
                return ["next", self._pick(DAYS)]
            if r < 0.6:
                return ["in", *number_to_words(self.rng.randint(2, 20)).split(),
                        self._pick(("minutes", "hours", "days", "weeks"))]
            if r < 0.8:
                return ["at", *self._clock()]
            return self._date()
        if tense == "progressive":
            return self._pick(("right now", "at the moment", "today",
                               "this afternoon", "this week")).split()
        return self._pick(("today", "this week", "this year", "recently",
                           "many times", "twice")).split()

    def _verb_group(self, subject: _Subject, forms: tuple[str, ...],
                    tense: str) -> list[str]:
        base, third, past, participle, ing = forms
        s3 = subject.third_singular
        first = subject.words == ("i",)
        if tense == "bare":
            return [base]
        if tense == "present":
            adverb = [self._pick(FREQUENCY_ADVERBS)] if self._chance(0.3) else []
            return [*adverb, third if s3 else base]
        if tense == "past":
            return [past]
        if tense == "future":
            r = self.rng.random()
            if r < 0.6:
                return ["will", base]
            if r < 0.7:
                return ["won't", base]
            be = "am" if first else ("is" if s3 else "are")
            return [be, "going", "to", base]
        if tense == "progressive":
            be = "am" if first else ("is" if s3 else "are")
            return [be, ing]
        if tense == "past_progressive":
            return ["was" if (s3 or first) else "were", ing]
        if tense == "perfect":
            adverb = ([self._pick(("already", "just", "never", "often"))]
                      if self._chance(0.4) else [])
            return ["has" if s3 else "have", *adverb, participle]
        if tense == "modal":
            modal = self._pick(("can", "could", "should", "must", "might",
                                "would like to", "need to", "want to"))
            if modal in ("need to", "want to") and s3:
                modal = modal.replace("need", "needs").replace("want", "wants")
            return [*modal.split(), base]
        if tense == "neg_present":
            return ["doesn't" if s3 else "don't", base]
        if tense == "neg_past":
            return ["didn't", base]
        raise ValueError(f"unknown tense {tense!r}")

    def _predicate(self, subject: _Subject, tense: str,
                   time_tense: str | None = None) -> list[str]:
        """Verb group plus its object or complement, and optional modifiers.

        Args:
            subject: The subject (for agreement).
            tense: Tense of the verb group (``"bare"`` for the infinitive).
            time_tense: Tense that an optional time phrase must agree with;
                defaults to ``tense``.
        """
        r = self.rng.random()
        if r < 0.25:
            verb = self._pick(VERBS_FOOD)
            obj = self._food()
        elif r < 0.5:
            verb = self._pick(VERBS_OBJECT)
            obj = self._noun_phrase(OBJECTS)
        elif r < 0.62:
            verb = self._pick(VERBS_PERSON)
            obj = self._person_object(subject)
        elif r < 0.72:
            verb = self._pick(VERBS_PLACE)
            obj = self._place_object(verb)
        else:
            verb = self._pick(VERBS_INTRANSITIVE)
            obj = []
        words = [*self._verb_group(subject, inflect_verb(verb), tense), *obj]
        if self._chance(0.3):
            words.append(self._pick(ADVERBS))
        if (not obj or r < 0.5) and self._chance(0.35):
            words += self._place_pp()
        if self._chance(0.35):
            words += self._time_phrase(time_tense or tense)
        return words

    def _clause(self, tense: str | None = None) -> tuple[list[str], str]:
        """A declarative clause and its tense."""
        if tense is None:
            tense = self._pick(("present", "present", "past", "past", "past",
                                "future", "future", "progressive", "perfect",
                                "modal", "neg_present", "neg_past",
                                "past_progressive"))
        subject = self._subject()
        return [*subject.words, *self._predicate(subject, tense)], tense

    def _special_statement(self) -> list[str]:
        """Statements about things, places, dates, times and money."""
        kind = self.rng.randrange(12)
        name = self._pick(FIRST_NAMES)
        if kind == 0:
            noun = self._noun_phrase(OBJECTS + ANIMALS + FOOD_COUNT,
                                     plural_ok=False, adjective_p=0.2)
            noun[0] = "the" if noun[0] in ("a", "an") else noun[0]
            be = self._pick(("is", "was", "looks", "looked", "seems"))
            degree = [self._pick(DEGREE_ADVERBS)] if self._chance(0.5) else []
            return [*noun, be, *degree, self._pick(ADJECTIVES)]
        if kind == 1:
            subject = self._subject()
            be = ("am" if subject.words == ("i",) else
                  "is" if subject.third_singular else "are")
            if self._chance(0.4):
                be = self._pick(("feel", "felt")) if not subject.third_singular \
                    else self._pick(("feels", "felt"))
            degree = [self._pick(DEGREE_ADVERBS)] if self._chance(0.5) else []
            return [*subject.words, be, *degree, self._pick(FEELINGS)]
        if kind == 2:
            count = self.rng.randint(2, 120)
            noun = self._pick(ANIMALS + OBJECTS + PEOPLE + FOOD_COUNT)
            return ["there", self._pick(("are", "were")),
                    *number_to_words(count).split(), *pluralize(noun).split(),
                    *self._place_pp()]
        if kind == 3:
            return [name, self._pick(("lives", "lived", "works", "worked",
                                      "studied", "stayed")),
                    "in", *self._pick(CITIES + COUNTRIES).split()]
        if kind == 4:
            return [name, self._pick(("moved", "travelled", "went", "flew")), "to",
                    *self._pick(CITIES + COUNTRIES).split(), "in",
                    *year_to_words(self.rng.randint(1950, 2024)).split()]
        if kind == 5:
            vehicle = self._pick(("flight", "train", "bus", "boat"))
            direction = self._pick(("to", "from"))
            verb = self._pick(("leaves", "left", "arrives", "arrived"))
            return ["the", vehicle, direction, *self._pick(CITIES).split(),
                    verb, "at", *self._clock()]
        if kind == 6:
            return [name, "was", "born", *self._date()]
        if kind == 7:
            event = self._pick(EVENTS)
            verb = self._pick(("starts", "started", "ends", "ended"))
            tail = self._date() if self._chance(0.4) else []
            return ["the", event, verb, "at", *self._clock(), *tail]
        if kind == 8:
            noun = self._noun_phrase(OBJECTS + FOOD_COUNT, plural_ok=False,
                                     adjective_p=0.2)
            amount = number_to_words(self.rng.randint(1, 999)).split()
            currency = self._pick(CURRENCIES)
            cents = []
            if self._chance(0.25):
                cents = ["and", *number_to_words(self.rng.randint(1, 99)).split(),
                         "pence" if currency == "pounds" else "cents"]
            return [*noun, self._pick(("costs", "cost")), *amount, currency,
                    *cents]
        if kind == 9:
            return ["the", *self._pick(PLACES).split(), "is",
                    *number_to_words(self.rng.randint(2, 90)).split(),
                    self._pick(("miles", "kilometres", "minutes")), "from",
                    *self._pick(("here", "the station", "my house",
                                 "the city", "your office")).split()]
        if kind == 10:
            clause, _ = self._clause(self._pick(("past", "past_progressive")))
            return [name, *self._pick(("said", "told me")).split(), "that",
                    *clause]
        clause, _ = self._clause(self._pick(("future", "present", "modal")))
        lead = self._pick(("i think", "i hope", "we think", "they say"))
        return [*lead.split(), *(["that"] if self._chance(0.4) else []), *clause]

    def _question(self) -> list[str]:
        kind = self.rng.randrange(10)
        subject = self._subject()
        s3 = subject.third_singular
        if kind <= 3:
            tense = self._pick(("present", "past", "future", "modal"))
            pred = self._predicate(subject, "bare", tense)
            aux = {"present": "does" if s3 else "do", "past": "did",
                   "future": "will",
                   "modal": self._pick(("can", "could", "should", "must"))}[tense]
            wh = ([self._pick(("where", "when", "why", "how"))]
                  if kind >= 2 else [])
            return [*wh, aux, *subject.words, *pred]
        if kind == 4:
            be = ("am" if subject.words == ("i",) else
                  "is" if s3 else "are")
            pred = self._predicate(subject, "progressive")[1:]
            wh = [self._pick(("where", "why"))] if self._chance(0.3) else []
            return [*wh, be, *subject.words, *pred]
        if kind == 5:
            pred = self._predicate(subject, "perfect")[1:]
            if pred and pred[0] in ("already", "just", "never", "often"):
                pred = pred[1:]
            return ["has" if s3 else "have", *subject.words, "ever", *pred]
        if kind == 6:
            verb = self._pick(VERBS_FOOD + VERBS_OBJECT)
            noun = self._pick(FOOD_COUNT + OBJECTS)
            aux = self._pick(("did", "do" if not s3 else "does"))
            return ["how", "many", *pluralize(noun).split(), aux,
                    *subject.words, verb]
        if kind == 7:
            verb = self._pick(VERBS_OBJECT)
            forms = inflect_verb(verb)
            return ["who", self._pick((forms[2], forms[1])),
                    *self._noun_phrase(OBJECTS)]
        if kind == 8:
            return self._pick((
                ["what", "time", "does", "the", self._pick(EVENTS),
                 self._pick(("start", "end"))],
                ["what", "time", "is", "it"],
                ["where", "is", "the", *self._pick(PLACES).split()],
                ["how", "far", "is", *self._pick(CITIES).split(), "from",
                 *self._pick(CITIES).split()],
                ["what", "is", "your", "favourite",
                 self._pick(("colour", "food", "animal", "city", "film",
                             "song", "book", "day", "month"))],
                ["is", "the", self._pick(OBJECTS + FOOD_COUNT),
                 self._pick(ADJECTIVES)],
                ["which", self._pick(OBJECTS), "do", "you", "want"],
            ))
        tense = self._pick(("past", "present"))
        clause, _ = self._clause(tense)
        return [*self._pick(("do you think", "did you know", "is it true")
                            ).split(), "that", *clause]

    def _imperative(self) -> list[str]:
        you = _PRONOUNS[1]
        kind = self.rng.randrange(6)
        please = ["please"] if self._chance(0.3) else []
        if kind <= 1:
            return [*please, *self._predicate(you, "bare", "future")]
        if kind == 2:
            return ["don't", *self._predicate(you, "bare", "future")]
        if kind == 3:
            return ["let's", *self._predicate(_PRONOUNS[4], "bare", "future")]
        if kind == 4:
            verb = self._pick(("go", "come", "walk", "run", "drive", "hurry"))
            return [*please, verb, "to", "the", *self._pick(PLACES).split(),
                    *(self._time_phrase("future") if self._chance(0.5) else [])]
        lead = self._pick(("remember to", "try to", "don't forget to",
                           "you should", "you must"))
        if lead.startswith("you"):
            please = []
        return [*please, *lead.split(), *self._predicate(you, "bare", "future")]

    def _candidate(self, target: int) -> list[str]:
        """One random sentence, extended with clauses while shorter than target."""
        r = self.rng.random()
        if r < 0.06:
            words = self._pick(PHRASES).split()
            if self._chance(0.4):
                words.append(self._pick(FIRST_NAMES))
            return words
        tense: str | None = None
        if r < 0.5:
            words, tense = self._clause()
        elif r < 0.68:
            words = self._special_statement()
        elif r < 0.85:
            words = self._question()
            tense = "question"
        else:
            words = self._imperative()
            tense = "present"
        for _ in range(3):
            if len(words) + 3 > target or not self._chance(0.85):
                break
            words += self._extension(tense)
        return words

    def _extension(self, tense: str | None) -> list[str]:
        """A conjunction followed by a declarative clause."""
        if tense == "question":
            conj = self._pick(("because", "when", "before", "after"))
            clause, _ = self._clause(self._pick(("present", "present", "past")
                                                if conj == "because"
                                                else ("present",)))
            return [conj, *clause]
        if tense is not None and self._chance(0.5):
            sub_tense = "past" if tense in _PAST_TENSES else "present"
            conj = self._pick(_SUBORDINATORS)
            if conj == "while":
                sub_tense = ("past_progressive" if sub_tense == "past"
                             else "progressive")
            clause, _ = self._clause(sub_tense)
            return [conj, *clause]
        conj = self._pick(_COORDINATORS)
        clause, _ = self._clause(tense)
        return [conj, *clause]


def iter_sentences(seed: int, min_words: int = 3, max_words: int = 20,
                   list_size: int | None = None) -> Iterator[str]:
    """Endless deterministic stream of sentences.

    Args:
        seed: Seed; the same seed always yields the same stream.
        min_words: Minimum words per sentence.
        max_words: Maximum words per sentence.
        list_size: See :class:`SentenceGenerator`.

    Yields:
        Lower-case sentences, words separated by single spaces.
    """
    gen = SentenceGenerator(seed, min_words, max_words, list_size)
    while True:
        yield gen.sentence()


def generate_sentences(n: int, seed: int, min_words: int = 3,
                       max_words: int = 20, list_size: int | None = None) -> list[str]:
    """Generate ``n`` sentences deterministically.

    Args:
        n: Number of sentences.
        seed: Seed; the same seed always gives the same list.
        min_words: Minimum words per sentence.
        max_words: Maximum words per sentence.
        list_size: See :class:`SentenceGenerator`.

    Returns:
        List of ``n`` lower-case sentences made of letters, apostrophes and
        single spaces only.
    """
    stream = iter_sentences(seed, min_words, max_words, list_size)
    return [next(stream) for _ in range(n)]


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    return frozenset(_vocab_words())


def vocabulary() -> set[str]:
    """Every word type the generator can produce with its full word lists.

    With ``list_size`` the templates still add their own literal words, so the
    smaller domain's vocabulary is measured on generated text, not listed here.
    """
    return set(_vocabulary())

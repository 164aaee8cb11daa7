"""English morphology for the sentence generator: verb inflections, plurals, articles."""

from __future__ import annotations

IRREGULAR_PLURALS: dict[str, str] = {
    "child": "children", "woman": "women", "man": "men", "person": "people",
    "mouse": "mice", "goose": "geese", "sheep": "sheep", "fish": "fish",
    "deer": "deer", "wolf": "wolves", "knife": "knives", "leaf": "leaves",
    "shelf": "shelves", "wife": "wives", "loaf": "loaves", "calf": "calves",
    "potato": "potatoes", "tomato": "tomatoes", "hero": "heroes",
    "foot": "feet", "tooth": "teeth", "policeman": "policemen",
    "fireman": "firemen", "postman": "postmen", "salesman": "salesmen",
    "thief": "thieves", "half": "halves",
}


IRREGULAR_VERBS: dict[str, tuple[str, str, str, str, str]] = {
    v[0]: v
    for v in (
        ("eat", "eats", "ate", "eaten", "eating"),
        ("buy", "buys", "bought", "bought", "buying"),
        ("find", "finds", "found", "found", "finding"),
        ("bring", "brings", "brought", "brought", "bringing"),
        ("hold", "holds", "held", "held", "holding"),
        ("lose", "loses", "lost", "lost", "losing"),
        ("sell", "sells", "sold", "sold", "selling"),
        ("keep", "keeps", "kept", "kept", "keeping"),
        ("meet", "meets", "met", "met", "meeting"),
        ("see", "sees", "saw", "seen", "seeing"),
        ("teach", "teaches", "taught", "taught", "teaching"),
        ("leave", "leaves", "left", "left", "leaving"),
        ("sleep", "sleeps", "slept", "slept", "sleeping"),
        ("run", "runs", "ran", "run", "running"),
        ("swim", "swims", "swam", "swum", "swimming"),
        ("sing", "sings", "sang", "sung", "singing"),
        ("take", "takes", "took", "taken", "taking"),
        ("give", "gives", "gave", "given", "giving"),
        ("write", "writes", "wrote", "written", "writing"),
        ("read", "reads", "read", "read", "reading"),
        ("drive", "drives", "drove", "driven", "driving"),
        ("ride", "rides", "rode", "ridden", "riding"),
        ("break", "breaks", "broke", "broken", "breaking"),
        ("choose", "chooses", "chose", "chosen", "choosing"),
        ("forget", "forgets", "forgot", "forgotten", "forgetting"),
        ("hide", "hides", "hid", "hidden", "hiding"),
        ("draw", "draws", "drew", "drawn", "drawing"),
        ("throw", "throws", "threw", "thrown", "throwing"),
        ("grow", "grows", "grew", "grown", "growing"),
        ("know", "knows", "knew", "known", "knowing"),
        ("fly", "flies", "flew", "flown", "flying"),
        ("catch", "catches", "caught", "caught", "catching"),
        ("sit", "sits", "sat", "sat", "sitting"),
        ("stand", "stands", "stood", "stood", "standing"),
        ("win", "wins", "won", "won", "winning"),
        ("begin", "begins", "began", "begun", "beginning"),
        ("drink", "drinks", "drank", "drunk", "drinking"),
        ("feed", "feeds", "fed", "fed", "feeding"),
        ("build", "builds", "built", "built", "building"),
        ("send", "sends", "sent", "sent", "sending"),
        ("lend", "lends", "lent", "lent", "lending"),
        ("make", "makes", "made", "made", "making"),
        ("pay", "pays", "paid", "paid", "paying"),
        ("get", "gets", "got", "got", "getting"),
        ("go", "goes", "went", "gone", "going"),
        ("come", "comes", "came", "come", "coming"),
        ("wear", "wears", "wore", "worn", "wearing"),
        ("steal", "steals", "stole", "stolen", "stealing"),
        ("sweep", "sweeps", "swept", "swept", "sweeping"),
        ("wake", "wakes", "woke", "woken", "waking"),
        ("hear", "hears", "heard", "heard", "hearing"),
        ("cut", "cuts", "cut", "cut", "cutting"),
        ("put", "puts", "put", "put", "putting"),
        ("shut", "shuts", "shut", "shut", "shutting"),
        ("hit", "hits", "hit", "hit", "hitting"),
        ("spend", "spends", "spent", "spent", "spending"),
        ("feel", "feels", "felt", "felt", "feeling"),
        ("fight", "fights", "fought", "fought", "fighting"),
        ("understand", "understands", "understood", "understood",
         "understanding"),
        ("forgive", "forgives", "forgave", "forgiven", "forgiving"),
        ("shake", "shakes", "shook", "shaken", "shaking"),
        ("blow", "blows", "blew", "blown", "blowing"),
        ("dig", "digs", "dug", "dug", "digging"),
        ("hang", "hangs", "hung", "hung", "hanging"),
        ("tear", "tears", "tore", "torn", "tearing"),
        ("bite", "bites", "bit", "bitten", "biting"),
        ("freeze", "freezes", "froze", "frozen", "freezing"),
        ("do", "does", "did", "done", "doing"),
        ("have", "has", "had", "had", "having"),
        ("tell", "tells", "told", "told", "telling"),
        ("say", "says", "said", "said", "saying"),
        ("think", "thinks", "thought", "thought", "thinking"),
        ("fall", "falls", "fell", "fallen", "falling"),
        ("lie", "lies", "lay", "lain", "lying"),
        ("speak", "speaks", "spoke", "spoken", "speaking"),
        ("show", "shows", "showed", "shown", "showing"),
    )
}

# Regular verbs whose final consonant doubles before -ed and -ing.
DOUBLING_VERBS: frozenset[str] = frozenset({
    "stop", "drop", "plan", "shop", "travel", "drag", "prefer",
    "label", "jog", "chat", "hug", "nod", "grab",
    "rub", "skip", "clap", "hop", "beg", "wrap", "knit", "jam", "tap",
    "slip", "trip", "pat", "stir", "admit", "mop",
})


def inflect_verb(base: str) -> tuple[str, str, str, str, str]:
    """Return the five inflected forms of an English verb.

    Args:
        base: The bare infinitive, e.g. ``"carry"``.

    Returns:
        ``(base, third_singular, past, past_participle, present_participle)``,
        e.g. ``("carry", "carries", "carried", "carried", "carrying")``.
    """
    if base in IRREGULAR_VERBS:
        return IRREGULAR_VERBS[base]
    vowels = "aeiou"
    if base.endswith(("s", "sh", "ch", "x", "z", "o")):
        third = base + "es"
    elif base.endswith("y") and base[-2] not in vowels:
        third = base[:-1] + "ies"
    else:
        third = base + "s"
    if base in DOUBLING_VERBS:
        past = base + base[-1] + "ed"
        ing = base + base[-1] + "ing"
    elif base.endswith("e"):
        past = base + "d"
        if base.endswith("ie"):
            ing = base[:-2] + "ying"
        elif base.endswith(("ee", "ye", "oe")):
            ing = base + "ing"
        else:
            ing = base[:-1] + "ing"
    elif base.endswith("y") and base[-2] not in vowels:
        past = base[:-1] + "ied"
        ing = base + "ing"
    else:
        past = base + "ed"
        ing = base + "ing"
    return (base, third, past, past, ing)


def pluralize(noun: str) -> str:
    """Return the plural of a (possibly multi-word) countable noun.

    Only the last word is inflected: ``"bus stop"`` -> ``"bus stops"``.
    """
    head, _, last = noun.rpartition(" ")
    if last in IRREGULAR_PLURALS:
        plural = IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        plural = last + "es"
    elif last.endswith("y") and last[-2] not in "aeiou":
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return f"{head} {plural}" if head else plural


_AN_EXCEPTIONS_CONSONANT = ("uni", "use", "usu", "one", "euro")
_AN_EXCEPTIONS_VOWEL = ("hour", "honest")


def article(word: str) -> str:
    """Indefinite article for the word that follows it."""
    if word.startswith(_AN_EXCEPTIONS_VOWEL):
        return "an"
    if word.startswith(_AN_EXCEPTIONS_CONSONANT):
        return "a"
    return "an" if word[0] in "aeiou" else "a"

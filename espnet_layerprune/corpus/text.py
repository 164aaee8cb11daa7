"""Deterministic generator of varied, grammatical English sentences.

The vocabulary is written out in this module as word lists by category:
people, animals, objects, food and places (nouns, with plurals), verbs with
all their inflections, adjectives, adverbs, first names, cities and
countries, spelled-out numbers, times, days, months and everyday phrases.
Sentences are built from templates (statements in several tenses, questions,
imperatives, statements about dates, times, money and places, everyday
phrases), optionally extended with coordinate or subordinate clauses, so that
lengths spread over the whole allowed range.

Output is lower-case words separated by single spaces, made of letters and
apostrophes only (numbers are spelled out), so that it can be scored by word
error rate directly. All randomness comes from ``random.Random(seed)``.

Example:
    >>> from espnet_layerprune.corpus.text import generate_sentences
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

_T = TypeVar("_T")

# --------------------------------------------------------------------------
# Nouns
# --------------------------------------------------------------------------

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

PEOPLE: tuple[str, ...] = (
    "teacher", "doctor", "nurse", "farmer", "student", "driver", "baker",
    "child", "woman", "man", "person", "friend", "neighbour", "brother",
    "sister", "mother", "father", "uncle", "aunt", "cousin", "grandmother",
    "grandfather", "baby", "boy", "girl", "pilot", "lawyer", "artist",
    "singer", "dancer", "writer", "painter", "cook", "waiter", "manager",
    "engineer", "scientist", "musician", "policeman", "fireman", "postman",
    "salesman", "soldier", "sailor", "captain", "king", "queen", "prince",
    "princess", "guest", "visitor", "stranger", "customer", "player",
    "coach", "judge", "dentist", "mechanic", "plumber", "gardener",
    "librarian", "journalist", "photographer", "tourist", "passenger",
    "nephew", "niece", "husband", "wife", "daughter", "son", "boss",
    "colleague", "partner", "hero", "thief", "officer", "clerk", "tailor",
)

ANIMALS: tuple[str, ...] = (
    "dog", "cat", "horse", "cow", "sheep", "goat", "pig", "chicken", "duck",
    "goose", "mouse", "rabbit", "fish", "bird", "parrot", "owl", "eagle",
    "wolf", "fox", "bear", "lion", "tiger", "elephant", "monkey", "giraffe",
    "zebra", "camel", "deer", "squirrel", "frog", "turtle", "snake", "whale",
    "dolphin", "shark", "bee", "butterfly", "spider", "ant", "donkey",
    "kitten", "puppy", "penguin", "kangaroo", "hamster", "pigeon", "swan",
    "calf", "crab", "lamb",
)

OBJECTS: tuple[str, ...] = (
    "book", "chair", "table", "lamp", "key", "phone", "bottle", "box",
    "knife", "fork", "spoon", "plate", "cup", "glass", "bowl", "pen",
    "pencil", "letter", "envelope", "bag", "basket", "umbrella", "coat",
    "jacket", "shirt", "hat", "scarf", "shoe", "sock", "glove", "watch",
    "clock", "mirror", "window", "door", "blanket", "pillow", "towel",
    "camera", "computer", "laptop", "radio", "television", "ticket", "map",
    "newspaper", "magazine", "picture", "photo", "painting", "candle",
    "ball", "kite", "bicycle", "car", "truck", "bus", "train", "boat",
    "ship", "plane", "wallet", "ring", "necklace", "hammer",
    "ladder", "rope", "bucket", "brush", "comb", "toothbrush", "shelf",
    "drawer", "suitcase", "backpack", "notebook", "calendar", "guitar",
    "piano", "violin", "drum", "flower", "plant", "tree", "leaf", "stone",
    "present", "parcel", "card", "dictionary", "sofa", "bed", "desk",
    "cupboard", "fridge", "oven", "kettle", "teapot", "jar", "tray",
    "button", "needle", "paintbrush", "helmet", "tent", "torch", "battery",
    "charger", "cable", "speaker", "screen", "keyboard", "printer",
    "sandal", "boot", "belt", "mug", "vase", "rug", "curtain", "puzzle",
    "toy", "doll", "balloon", "flag", "poster", "receipt", "coin", "stamp",
)

FOOD_COUNT: tuple[str, ...] = (
    "apple", "banana", "orange", "pear", "peach", "plum", "lemon", "grape",
    "cherry", "strawberry", "melon", "pineapple", "mango", "carrot",
    "potato", "tomato", "onion", "cucumber", "pepper", "egg", "sandwich",
    "cookie", "biscuit", "cake", "pie", "pizza", "burger", "sausage",
    "muffin", "pancake", "doughnut", "cupcake", "pastry", "loaf",
    "noodle", "bean", "pea", "mushroom", "lime", "coconut", "avocado",
    "salad", "taco", "dumpling", "apricot",
)

FOOD_MASS: tuple[str, ...] = (
    "bread", "rice", "soup", "cheese", "coffee", "tea", "milk", "water",
    "butter", "honey", "jam", "sugar", "salt", "pasta", "chocolate",
    "yogurt", "juice", "porridge", "chicken", "fish", "beef", "pork",
    "cereal", "flour", "cream", "lemonade", "ice cream", "orange juice",
    "toast", "popcorn", "garlic", "spinach", "broccoli", "lettuce",
)

PLACES: tuple[str, ...] = (
    "park", "station", "library", "kitchen", "garden", "market", "school",
    "hospital", "office", "beach", "museum", "airport", "bank", "bakery",
    "restaurant", "cafe", "hotel", "church", "cinema", "theatre", "stadium",
    "zoo", "farm", "forest", "river", "lake", "mountain", "village",
    "city", "town", "bridge", "street", "shop", "supermarket", "pharmacy",
    "post office", "gym", "pool", "playground", "harbour", "island",
    "castle", "palace", "factory", "garage", "bathroom", "bedroom",
    "living room", "hall", "classroom", "university", "college",
    "square", "corner", "tower", "valley", "desert", "field", "hill",
    "bus stop", "car park", "train station", "swimming pool",
    "police station", "book shop", "coffee shop", "flower shop",
)

# --------------------------------------------------------------------------
# Verbs: (base, third person singular, past, past participle, -ing)
# --------------------------------------------------------------------------

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


# Verbs grouped by what kind of object they take.
VERBS_FOOD: tuple[str, ...] = (
    "eat", "cook", "buy", "order", "taste", "share", "bake", "like", "want",
    "need", "bring", "prepare", "sell", "carry", "heat", "cut", "wash",
    "finish", "enjoy", "serve", "pack", "choose", "hate", "love", "get",
    "make", "try", "find", "drop", "grab", "pick", "peel", "smell",
)
VERBS_OBJECT: tuple[str, ...] = (
    "find", "carry", "clean", "open", "close", "fix", "lose", "borrow",
    "paint", "hold", "drop", "sell", "buy", "bring", "need", "want", "wash",
    "move", "check", "hide", "keep", "repair", "return", "lend", "send",
    "wrap", "throw", "break", "draw", "catch", "fold", "polish", "lift",
    "push", "pull", "drag", "dry", "fill", "empty", "replace", "measure",
    "collect", "deliver", "order", "choose", "steal", "pack", "use", "touch",
    "watch", "take", "give", "wear", "forget", "hang", "tear", "shake",
    "sweep", "cover", "count", "mark", "label", "print", "copy", "sign",
    "post", "notice", "test", "study", "describe", "destroy",
    "share", "show", "lock", "unlock", "decorate", "admire", "grab",
    "save", "stack", "sort", "turn", "switch", "charge", "mend",
)
VERBS_PERSON: tuple[str, ...] = (
    "meet", "call", "help", "visit", "invite", "thank", "ask", "follow",
    "remember", "see", "teach", "hear", "wake", "greet", "phone", "trust",
    "warn", "join", "miss", "hug", "forgive", "answer", "believe", "pay",
    "introduce", "interview", "chase", "watch", "understand", "tell",
    "email", "marry", "photograph", "recognise", "encourage",
    "surprise", "congratulate", "promise", "know", "like", "love",
)
VERBS_PLACE: tuple[str, ...] = (
    "visit", "leave", "clean", "explore", "paint", "reach", "enter", "find",
    "love", "like", "hate", "photograph", "describe", "cross", "search",
    "close", "open", "tidy", "check", "pass", "prefer", "decorate",
)
VERBS_INTRANSITIVE: tuple[str, ...] = (
    "sleep", "run", "walk", "laugh", "smile", "arrive", "wait", "swim",
    "dance", "sing", "work", "cry", "travel", "rest", "relax", "shout",
    "whisper", "jump", "climb", "fall", "sit", "stand", "play", "study",
    "cook", "read", "write", "listen", "talk", "speak", "jog", "shop",
    "chat", "hurry", "wander", "stay", "live", "fly", "drive", "ride",
    "paint", "draw", "knit", "exercise", "practise", "pray",
    "stop", "begin", "win", "lose", "eat", "drink", "think", "complain",
    "argue", "agree", "hide", "skip", "clap", "hop", "nod", "yawn",
    "sneeze", "cough", "breathe", "blink", "kneel", "lie", "shiver",
    "celebrate", "disappear", "return", "move", "sail", "camp", "ski",
    "skate", "fish", "hike", "paddle", "slip", "trip", "wave", "giggle",
)
# Prepositional phrases that naturally follow intransitive verbs.
PLACE_PREPOSITIONS: tuple[str, ...] = (
    "in", "at", "near", "behind", "outside", "inside", "next to",
    "in front of", "across from", "around", "beside", "opposite",
)

# --------------------------------------------------------------------------
# Adjectives and adverbs
# --------------------------------------------------------------------------

ADJECTIVES: tuple[str, ...] = (
    "big", "small", "old", "new", "young", "red", "blue", "green", "yellow",
    "black", "white", "brown", "grey", "pink", "purple", "orange", "happy",
    "sad", "quiet", "loud", "tall", "short", "long", "heavy", "light",
    "clean", "dirty", "cheap", "expensive", "beautiful", "ugly", "warm",
    "cold", "hot", "cool", "dry", "wet", "soft", "hard", "sharp", "smooth",
    "rough", "bright", "dark", "empty", "full", "fresh", "tiny", "huge",
    "strange", "famous", "friendly", "lovely", "modern", "ancient",
    "simple", "useful", "broken", "shiny", "colourful", "fancy", "plain",
    "wooden", "metal", "plastic", "golden", "silver", "favourite", "lucky",
    "funny", "serious", "careful", "clever", "brave", "gentle", "honest",
    "kind", "polite", "rude", "busy", "lazy", "tired", "hungry", "thirsty",
    "sleepy", "angry", "calm", "nervous", "proud", "excited", "bored",
    "curious", "delicious", "sweet", "sour", "bitter", "salty",
    "spicy", "healthy", "tasty", "crispy", "juicy", "ripe", "rotten",
    "frozen", "crowded", "peaceful", "noisy", "narrow", "wide", "deep",
    "shallow", "steep", "flat", "round", "square", "striped", "spotted",
    "fluffy", "furry", "wild", "tame", "strong", "weak", "fast", "slow",
    "early", "late", "rich", "poor", "important", "special", "perfect",
    "terrible", "wonderful", "excellent", "awful", "ordinary", "unusual",
    "comfortable", "dangerous", "safe", "secret", "public", "private",
    "gorgeous", "elegant", "cosy", "tidy", "messy", "handsome", "pretty",
    "clumsy", "cheerful", "grumpy", "lonely", "patient", "smart",
)
FEELINGS: tuple[str, ...] = (
    "happy", "sad", "tired", "hungry", "thirsty", "sleepy", "angry", "calm",
    "nervous", "proud", "excited", "bored", "curious", "cold", "warm",
    "lonely", "cheerful", "grumpy", "sick", "worried", "relaxed", "busy",
    "confused", "surprised", "scared", "ready",
)
ADVERBS: tuple[str, ...] = (
    "quickly", "slowly", "carefully", "quietly", "loudly", "happily",
    "sadly", "gently", "easily", "badly", "well", "early", "late", "again",
    "together", "alone", "suddenly", "finally", "patiently", "politely",
    "proudly", "nervously", "calmly", "eagerly", "angrily", "softly",
    "silently", "safely", "properly", "honestly", "bravely",
    "cheerfully", "secretly", "immediately", "carelessly", "gracefully",
    "neatly", "clearly", "warmly", "kindly", "rapidly", "steadily",
    "anxiously", "casually", "briefly", "gladly", "busily", "loosely",
    "firmly", "smoothly", "lazily", "wisely", "openly", "fairly",
)
FREQUENCY_ADVERBS: tuple[str, ...] = (
    "always", "usually", "often", "sometimes", "rarely", "never",
    "seldom", "normally", "generally",
)
DEGREE_ADVERBS: tuple[str, ...] = (
    "very", "really", "quite", "rather", "extremely", "fairly", "so",
    "too", "pretty",
)

# --------------------------------------------------------------------------
# Names and geography
# --------------------------------------------------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "james", "john", "robert", "michael", "william", "david", "richard",
    "joseph", "thomas", "charles", "daniel", "matthew", "anthony", "mark",
    "paul", "steven", "andrew", "kevin", "brian", "george", "edward",
    "peter", "oliver", "jack", "harry", "jacob", "noah", "ethan", "lucas",
    "henry", "samuel", "benjamin", "leo", "oscar", "max", "adam", "alex",
    "simon", "victor", "hugo", "felix", "ian", "tom", "sam", "ben",
    "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara",
    "susan", "jessica", "sarah", "karen", "nancy", "lisa", "emma",
    "olivia", "ava", "sophia", "isabella", "mia", "charlotte", "amelia",
    "emily", "grace", "chloe", "lucy", "anna", "hannah", "laura", "julia",
    "rachel", "rebecca", "helen", "kate", "alice", "claire", "diana",
    "fiona", "maria", "sofia", "nina", "rosa", "ella", "ruby", "lily",
    "zoe", "ruth", "martha", "jane", "amy", "carlos", "pedro", "juan",
    "ahmed", "omar", "ali", "yusuf", "raj", "priya", "arjun", "anil",
    "wei", "chen", "mei", "yuki", "kenji", "hiro", "ivan", "olga", "igor",
    "pierre", "marie", "hans", "greta", "lars", "erik", "ingrid", "marco",
    "giulia", "luca", "kofi", "amara", "zara", "leila", "nora", "eva",
)
CITIES: tuple[str, ...] = (
    "london", "paris", "berlin", "madrid", "rome", "lisbon", "dublin",
    "vienna", "prague", "warsaw", "budapest", "athens", "oslo", "stockholm",
    "helsinki", "copenhagen", "amsterdam", "brussels", "zurich", "geneva",
    "munich", "hamburg", "milan", "venice", "naples", "barcelona",
    "seville", "edinburgh", "glasgow", "manchester", "liverpool", "bristol",
    "cardiff", "belfast", "new york", "boston", "chicago", "seattle",
    "denver", "houston", "dallas", "miami", "atlanta", "detroit",
    "los angeles", "san francisco", "las vegas", "toronto", "montreal",
    "vancouver", "mexico city", "lima", "bogota", "santiago",
    "buenos aires", "sao paulo", "rio de janeiro", "cairo", "nairobi",
    "lagos", "accra", "cape town", "johannesburg", "istanbul", "dubai",
    "mumbai", "delhi", "bangkok", "singapore", "jakarta", "manila",
    "tokyo", "osaka", "kyoto", "seoul", "beijing", "shanghai", "hong kong",
    "sydney", "melbourne", "perth", "auckland", "wellington",
)
COUNTRIES: tuple[str, ...] = (
    "england", "scotland", "wales", "ireland", "france", "germany",
    "spain", "portugal", "italy", "greece", "austria", "switzerland",
    "belgium", "holland", "denmark", "norway", "sweden", "finland",
    "poland", "hungary", "russia", "turkey", "egypt", "kenya", "nigeria",
    "ghana", "morocco", "south africa", "india", "china", "japan",
    "korea", "thailand", "vietnam", "indonesia", "malaysia", "australia",
    "new zealand", "canada", "america", "mexico", "brazil", "argentina",
    "chile", "peru", "colombia", "iceland", "croatia", "romania",
    "ukraine", "pakistan", "nepal", "jamaica", "cuba",
)

# --------------------------------------------------------------------------
# Numbers, times and dates
# --------------------------------------------------------------------------

UNITS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
)
TENS: tuple[str, ...] = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
    "eighty", "ninety",
)
ORDINAL_UNITS: tuple[str, ...] = (
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth",
    "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
    "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth",
)
ORDINAL_TENS: tuple[str, ...] = (
    "", "", "twentieth", "thirtieth",
)
DAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday",
)
MONTHS: tuple[str, ...] = (
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
)
PARTS_OF_DAY: tuple[str, ...] = ("morning", "afternoon", "evening", "night")
CURRENCIES: tuple[str, ...] = ("dollars", "pounds", "euros")
UNITS_OF_MEASURE: tuple[str, ...] = (
    "minutes", "hours", "days", "weeks", "months", "years", "miles",
    "kilometres", "metres", "kilos", "pages", "steps", "people",
)

# --------------------------------------------------------------------------
# Everyday phrases (complete utterances on their own)
# --------------------------------------------------------------------------

PHRASES: tuple[str, ...] = (
    "thank you very much", "good morning", "good afternoon",
    "good evening", "good night", "see you later", "see you soon",
    "excuse me", "i am so sorry", "no problem at all", "how are you today",
    "nice to meet you", "have a nice day", "of course", "let me think",
    "never mind", "that sounds great", "i don't know", "take care",
    "happy birthday", "welcome back", "good luck", "well done",
    "sounds good to me", "what a lovely day", "i'm on my way",
    "see you tomorrow", "how was your weekend", "what a surprise",
    "it doesn't matter", "i can't believe it", "that's a good idea",
    "enjoy your meal", "have a safe trip", "congratulations",
    "hold on a second", "just a moment please", "i'll be right back",
    "you're welcome", "not at all", "that's very kind of you",
    "what do you mean", "could you say that again", "i agree with you",
    "i'm not sure", "let's go", "it's up to you", "that's fine",
    "how much is it", "what's the matter", "it's my pleasure",
    "merry christmas", "happy new year", "cheers", "bless you",
    "long time no see", "better late than never", "all right then",
)

# Words that only appear inside the sentence templates.
FUNCTION_WORDS: tuple[str, ...] = (
    "a", "an", "the", "some", "any", "this", "that", "these", "those",
    "my", "your", "his", "her", "our", "their", "its", "every", "each",
    "i", "you", "he", "she", "we", "they", "it", "me", "him", "us", "them",
    "am", "is", "are", "was", "were", "be", "been", "will", "would", "can",
    "could", "should", "must", "might", "shall", "don't", "doesn't",
    "didn't", "won't", "can't", "isn't", "aren't", "wasn't", "haven't",
    "hasn't", "let's", "i'm", "it's", "that's", "what's", "i'll", "we're",
    "they're", "you're", "o'clock", "and", "but", "or", "so", "because",
    "while", "when", "after", "before", "although", "if", "until", "since",
    "where", "why", "what", "who", "which", "whose", "to",
    "of", "in", "on", "at", "for", "with", "without", "from", "by", "about",
    "into", "onto", "near", "behind", "outside", "inside",
    "front", "across", "around", "beside", "opposite", "under", "over",
    "up", "down", "there", "here", "please", "not", "no", "yes", "also",
    "just", "already", "still", "yet", "ever", "twice", "once", "many",
    "much", "more", "most", "few", "little", "lot", "all", "both", "today",
    "yesterday", "tomorrow", "tonight", "now", "later", "soon", "right",
    "moment", "recently", "last", "next", "ago", "week", "weekend", "month", "year",
    "day", "time", "times", "half", "quarter", "past", "noon", "midnight",
    "hundred", "thousand", "oh", "pence", "born", "cost", "costs", "cents",
    "favourite", "think", "hope", "said", "told", "lives", "live",
    "like", "remember", "try", "far", "long", "does",
    "do", "did", "have", "has", "had", "go", "going", "went", "come",
    "gone", "ready", "again", "seats", "tickets", "minutes", "feel",
    "feels", "felt", "seems", "seemed", "looks", "looked", "flight",
    "train", "bus", "leaves", "left", "arrives", "arrived", "birthday",
    "meeting", "party", "lesson", "concert", "match", "film", "show",
    "starts", "started", "ends", "ended", "need", "needs", "needed",
    "fun", "idea", "weather", "nice", "plan", "plans", "morning",
    "colour", "food", "animal", "song", "house", "home", "true", "start",
    "end",
)

# ==========================================================================
# Spelled-out numbers, times and dates
# ==========================================================================


def number_to_words(n: int) -> str:
    """Spell out a non-negative integer below one million, British style.

    Examples: ``23`` -> ``"twenty three"``, ``105`` -> ``"one hundred and
    five"``, ``2024`` -> ``"two thousand and twenty four"``.

    Args:
        n: Integer in ``[0, 999999]``.

    Returns:
        The number in lower-case words separated by single spaces.

    Raises:
        ValueError: If ``n`` is out of range.
    """
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number out of range [0, 999999]: {n}")
    if n < 20:
        return UNITS[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return TENS[tens] + (f" {UNITS[unit]}" if unit else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = f"{UNITS[hundreds]} hundred"
        return head + (f" and {number_to_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    head = f"{number_to_words(thousands)} thousand"
    if rest == 0:
        return head
    if rest < 100:
        return f"{head} and {number_to_words(rest)}"
    return f"{head} {number_to_words(rest)}"


def ordinal_to_words(n: int) -> str:
    """Spell out an ordinal between 1 and 99, e.g. ``23`` -> ``"twenty third"``."""
    if not 1 <= n < 100:
        raise ValueError(f"ordinal out of range [1, 99]: {n}")
    if n < 20:
        return ORDINAL_UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return ("twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth",
                "seventieth", "eightieth", "ninetieth")[tens - 2]
    return f"{TENS[tens]} {ORDINAL_UNITS[unit]}"


def year_to_words(year: int) -> str:
    """Spell out a year the way it is usually read aloud.

    ``1998`` -> ``"nineteen ninety eight"``, ``1905`` -> ``"nineteen oh
    five"``, ``2007`` -> ``"two thousand and seven"``, ``2021`` -> ``"twenty
    twenty one"``.
    """
    if not 1100 <= year <= 2099:
        raise ValueError(f"year out of range [1100, 2099]: {year}")
    if 2000 <= year < 2010:
        return number_to_words(year)
    century, rest = divmod(year, 100)
    head = number_to_words(century)
    if rest == 0:
        return f"{head} hundred"
    if rest < 10:
        return f"{head} oh {UNITS[rest]}"
    return f"{head} {number_to_words(rest)}"


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

_AN_EXCEPTIONS_CONSONANT = ("uni", "use", "usu", "one", "euro")
_AN_EXCEPTIONS_VOWEL = ("hour", "honest")
_SUBORDINATORS = ("when", "before", "after", "while", "if", "until")
_COORDINATORS = ("and", "but", "so", "because", "although")
_PAST_TENSES = ("past", "neg_past", "past_progressive")
_PLACE_PROPER_VERBS = frozenset({
    "visit", "leave", "explore", "love", "like", "hate", "photograph",
    "describe", "reach", "prefer",
})


def _article(word: str) -> str:
    """Indefinite article for the word that follows it."""
    if word.startswith(_AN_EXCEPTIONS_VOWEL):
        return "an"
    if word.startswith(_AN_EXCEPTIONS_CONSONANT):
        return "a"
    return "an" if word[0] in "aeiou" else "a"


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
    """

    def __init__(self, seed: int, min_words: int = 3, max_words: int = 20):
        if min_words < 1 or max_words < min_words:
            raise ValueError(
                f"need 1 <= min_words <= max_words, got {min_words}, {max_words}")
        self.rng = random.Random(seed)
        self.min_words = min_words
        self.max_words = max_words

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


def iter_sentences(seed: int, min_words: int = 3,
                   max_words: int = 20) -> Iterator[str]:
    """Endless deterministic stream of sentences.

    Args:
        seed: Seed; the same seed always yields the same stream.
        min_words: Minimum words per sentence.
        max_words: Maximum words per sentence.

    Yields:
        Lower-case sentences, words separated by single spaces.
    """
    gen = SentenceGenerator(seed, min_words, max_words)
    while True:
        yield gen.sentence()


def generate_sentences(n: int, seed: int, min_words: int = 3,
                       max_words: int = 20) -> list[str]:
    """Generate ``n`` sentences deterministically.

    Args:
        n: Number of sentences.
        seed: Seed; the same seed always gives the same list.
        min_words: Minimum words per sentence.
        max_words: Maximum words per sentence.

    Returns:
        List of ``n`` lower-case sentences made of letters, apostrophes and
        single spaces only.
    """
    stream = iter_sentences(seed, min_words, max_words)
    return [next(stream) for _ in range(n)]


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    return frozenset(_vocab_words())


def vocabulary() -> set[str]:
    """Every word type the generator can produce."""
    return set(_vocabulary())

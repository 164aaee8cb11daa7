"""The vocabulary of the synthetic corpus, as word lists by category.

People, animals, objects, food and places (countable nouns), verbs grouped by the
objects they take, adjectives, adverbs, first names, cities and countries, days,
months, everyday phrases and function words. Inflected forms come from
:mod:`.morphology`, numbers from :mod:`.numbers`.
"""

from __future__ import annotations

# --------------------------------------------------------------------------
# Nouns
# --------------------------------------------------------------------------

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

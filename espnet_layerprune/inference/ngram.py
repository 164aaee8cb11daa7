"""A word n-gram language model (interpolated Kneser-Ney), small enough to train in seconds.

Trained on the training transcripts of a recipe and used by the lexicon-constrained
CTC beam search (:mod:`espnet_layerprune.inference.lexicon_search`). Saved as JSON next to the
model; no external toolkit needed::

    python -m espnet_layerprune.bin.train_ngram --text data/train/text --order 3 \\
        --out exp/lm/word3.json

Example:
    >>> lm = NgramLM.train([["a", "cat"], ["a", "dog"]], order=2)
    >>> lm.logp("cat", ("a",)) > lm.logp("dog", ("cat",))
    True
"""

import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

BOS, EOS = "<s>", "</s>"


class NgramLM:
    """Interpolated Kneser-Ney n-gram over words, with sentence start and end.

    Attributes:
        order: n.
        vocab: The words (the lexicon of the decoder).
    """

    def __init__(self, order: int, discount: float, tables: Dict[int, dict], vocab: Sequence[str]):
        self.order = order
        self.discount = discount
        self.tables = tables  # n -> {context (tuple): (total, distinct, {word: count})}
        self.vocab = list(vocab)
        self._cache: Dict[Tuple[str, Tuple[str, ...]], float] = {}

    # ------------------------------------------------------------ training
    @classmethod
    def train(cls, sentences: Iterable[Sequence[str]], order: int = 3, discount: float = 0.75) -> "NgramLM":
        """Counts of the highest order, continuation counts below it (Kneser-Ney)."""
        if order < 1:
            raise ValueError(f"--order must be >= 1, got {order}")
        if not 0.0 < discount < 1.0:
            raise ValueError(f"--discount must be in (0, 1), got {discount}")
        grams: Dict[int, Counter] = {n: Counter() for n in range(1, order + 1)}
        vocab = set()
        for words in sentences:
            vocab.update(words)
            seq = [BOS] * (order - 1) + list(words) + [EOS]
            for i in range(order - 1, len(seq)):
                grams[order][tuple(seq[i - order + 1 : i + 1])] += 1
        if not vocab:
            raise ValueError("no training text: the n-gram LM needs at least one sentence")
        # Lower orders count distinct left contexts (continuation counts).
        for n in range(order - 1, 0, -1):
            for gram in grams[n + 1]:
                grams[n][gram[1:]] += 1
        tables = {}
        for n, counter in grams.items():
            table: Dict[tuple, list] = defaultdict(lambda: [0, 0, {}])
            for gram, c in counter.items():
                entry = table[gram[:-1]]
                entry[0] += c
                entry[1] += 1
                entry[2][gram[-1]] = c
            tables[n] = dict(table)
        return cls(order, discount, tables, sorted(vocab))

    # ------------------------------------------------------------ scoring
    def logp(self, word: str, context: Tuple[str, ...]) -> float:
        """Natural-log probability of ``word`` after ``context`` (the last ``order - 1``
        words, padded with ``<s>``)."""
        context = tuple(context[-(self.order - 1):]) if self.order > 1 else ()
        if len(context) < self.order - 1:
            context = (BOS,) * (self.order - 1 - len(context)) + context
        key = (word, context)
        if key not in self._cache:
            self._cache[key] = math.log(max(self._prob(word, context), 1e-12))
        return self._cache[key]

    def _prob(self, word: str, context: Tuple[str, ...]) -> float:
        if not context:
            total, distinct, counts = self.tables[1].get((), (0, 0, {}))
            uniform = 1.0 / (len(self.vocab) + 1)
            if total == 0:
                return uniform
            return max(counts.get(word, 0) - self.discount, 0) / total + self.discount * distinct / total * uniform
        n = len(context) + 1
        lower = self._prob(word, context[1:])
        entry = self.tables[n].get(context)
        if entry is None:
            return lower
        total, distinct, counts = entry
        return max(counts.get(word, 0) - self.discount, 0) / total + self.discount * distinct / total * lower

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        logp, n = 0.0, 0
        for words in sentences:
            context: Tuple[str, ...] = ()
            for w in list(words) + [EOS]:
                logp += self.logp(w, context)
                context = (context + (w,))[-(self.order - 1):] if self.order > 1 else ()
                n += 1
        return math.exp(-logp / max(n, 1))

    # ------------------------------------------------------------ files
    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tables = {
            str(n): [[list(ctx), total, distinct, counts] for ctx, (total, distinct, counts) in table.items()]
            for n, table in self.tables.items()
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"order": self.order, "discount": self.discount, "vocab": self.vocab,
                                   "tables": tables}))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "NgramLM":
        raw = json.loads(Path(path).read_text())
        tables = {
            int(n): {tuple(ctx): (total, distinct, counts) for ctx, total, distinct, counts in entries}
            for n, entries in raw["tables"].items()
        }
        return cls(raw["order"], raw["discount"], tables, raw["vocab"])


def read_sentences(text_file) -> List[List[str]]:
    """Word lists of a Kaldi ``text`` file (the first column is the utterance id)."""
    out = []
    with open(text_file, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1:
                out.append(parts[1:])
    return out

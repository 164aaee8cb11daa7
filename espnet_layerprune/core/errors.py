"""Error types of this package, and the wording shared by every tool."""

import difflib
from typing import Iterable, Sequence


class ConfigError(ValueError, AssertionError):
    """A bad option in a training or decoding configuration.

    A ``ValueError`` with a message that names the option and its allowed
    values; also an ``AssertionError``, because ESPnet's stock encoders check
    the same options with ``assert`` and code written against them (ESPnet's
    own tests among it) expects that type: our encoders stay drop-in.
    """


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for a misspelt option, or an empty string."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def one_of(options: Iterable[str]) -> str:
    """The message for mutually exclusive flags, worded the same in every tool."""
    names = list(options)
    return f"give only one of {', '.join(names)}"


class InputError(ValueError):
    """A bad input (audio, transcript, checkpoint, training data), with a message a user can act on."""


#: How many offending items a message names before it says how many there are.
EXAMPLES_SHOWN = 5


def examples(items: Sequence[str]) -> str:
    """``a, b, c, d, e, ... (12 in all)``: the first few items of a list, for a message."""
    shown = ", ".join(items[:EXAMPLES_SHOWN])
    return shown + (f", ... ({len(items)} in all)" if len(items) > EXAMPLES_SHOWN else "")

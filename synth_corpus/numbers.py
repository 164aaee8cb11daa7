"""Spelled-out numbers, ordinals and years, as eSpeak says them and WER counts them."""

from __future__ import annotations

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

"""Numbers as publications write them: digits, number words ("Seventy-one"), durations ("three-year")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

NUMBER_WORDS: dict[str, int] = {word: n for n, word in enumerate(_UNITS)}
for _i, _tens in enumerate(_TENS):
    NUMBER_WORDS[_tens] = 20 + 10 * _i
    for _j, _unit in enumerate(_UNITS[1:10], start=1):
        NUMBER_WORDS[f"{_tens}-{_unit}"] = 20 + 10 * _i + _j
        NUMBER_WORDS[f"{_tens} {_unit}"] = 20 + 10 * _i + _j
NUMBER_WORDS.update({"a single": 1, "single": 1, "a hundred": 100, "one hundred": 100})


def _trie_pattern(words: list[str]) -> str:
    """An alternation of ``words`` as a prefix tree ("t(?:en|hirty|...)"), the longest match first like a
    longest-first alternation: the engine tries each first character once, not every word at every position,
    which made every pattern holding `NUMBER` an order of magnitude slower."""
    tree: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = tree
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [
            re.escape(character) + emit(child) for character, child in sorted(node.items()) if character
        ]
        if not branches:
            return ""
        if "" in node:  # a word ends here: a longer one is tried first, then this one
            return "(?:" + "|".join(branches) + ")?"
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(tree)


_WORD_ALTERNATION = _trie_pattern(sorted(NUMBER_WORDS))
NUMBER = rf"(?:\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|(?i:{_WORD_ALTERNATION}))"
"""Regex source for one number (digits with optional thousands separators and decimals, or words)."""

FRACTIONS: dict[str, Decimal] = {
    "half": Decimal(50),
    "a half": Decimal(50),
    "one-half": Decimal(50),
    "a third": Decimal("33.3"),
    "one-third": Decimal("33.3"),
    "one third": Decimal("33.3"),
    "two-thirds": Decimal("66.7"),
    "two thirds": Decimal("66.7"),
    "a quarter": Decimal(25),
    "one-quarter": Decimal(25),
    "one quarter": Decimal(25),
    "three-quarters": Decimal(75),
    "three quarters": Decimal(75),
}
"""Fractions of a group ("over half the patients"), as percentages."""


def parse_number(text: str) -> Decimal | None:
    """``"33"`` -> 33, ``"1,024"`` -> 1024, ``"70.9"`` -> 70.9, ``"Seventy-one"`` -> 71; None if not a number."""
    cleaned = text.strip().lower().replace("\u2010", "-").replace("\u2011", "-").replace("\u2013", "-")
    if cleaned in NUMBER_WORDS:
        return Decimal(NUMBER_WORDS[cleaned])
    try:
        return Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        return None


def parse_int(text: str) -> int | None:
    """An integer from digits or words; None for non-integers."""
    number = parse_number(text)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


_DURATION_UNITS = {
    "year": "Y",
    "years": "Y",
    "month": "M",
    "months": "M",
    "week": "W",
    "weeks": "W",
    "day": "D",
    "days": "D",
}


def duration(amount: str, unit: str) -> str | None:
    """An xsd:duration for a whole amount: ("three", "year") -> "P3Y"; None for fractions (not valid)."""
    number = parse_int(amount)
    code = _DURATION_UNITS.get(unit.lower())
    if number is None or code is None:
        return None
    return f"P{number * 7}D" if code == "W" else f"P{number}{code}"


def unit_name(unit: str) -> str:
    """A unit word as the models use it: "months" -> "month", "years" -> "year"."""
    lowered = unit.lower()
    return lowered[:-1] if lowered.endswith("s") else lowered


def decimal_value(number: Decimal) -> Decimal:
    """A decimal without trailing zeros or an exponent ("97", "70.9")."""
    return Decimal(format(number.normalize(), "f"))

"""Values as people read them ("97%", "18.2 months", "60 to 84 years") and checks that a passage states them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from kb.qa.vocabulary import WORDS_FOR_NUMBERS

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_UNIT_WORDS = {
    "year": "years",
    "month": "months",
    "week": "weeks",
    "day": "days",
    "years": "years",
    "months": "months",
}
_DURATION = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?$"
)


def plain_number(value: Any) -> str:
    """``Decimal("97.0")`` -> "97", ``70.90`` -> "70.9"."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    text = format(number.normalize(), "f")
    return text


def json_number(value: Any) -> Any:
    """A JSON-friendly number: int when integral, else float; other values unchanged."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def with_unit(value: Any, unit: str | None) -> str:
    """A number with its unit: "97%", "18.2 months", "1 year", "0.42"."""
    text = plain_number(value)
    if not unit or unit in {"ratio", "count", "patients"}:
        return text
    if unit in {"%", "percent"}:
        return f"{text}%"
    word = _UNIT_WORDS.get(unit, unit)
    if text == "1" and word.endswith("s"):
        word = word[:-1]
    return f"{text} {word}"


def duration_months(value: str | None) -> float | None:
    """``"P3Y"`` -> 36, ``"P18M"`` -> 18; None when not a duration."""
    if not value:
        return None
    match = _DURATION.match(str(value))
    if not match or not any(match.groups()):
        return None
    years, months, weeks, days = (float(g) if g else 0.0 for g in match.groups())
    return years * 12 + months + weeks * 12 / 52 + days * 12 / 365


def duration_text(value: str | None) -> str | None:
    months = duration_months(value)
    if months is None:
        return None
    if months % 12 == 0:
        years = int(months // 12)
        return f"{years} year" + ("s" if years != 1 else "")
    return f"{plain_number(Decimal(str(round(months, 1))))} months"


def states_number(passage: str, value: Any) -> bool:
    """Whether the passage writes the number (digits, with thousands separators, or words for small integers)."""
    text = plain_number(value)
    digit_forms = [re.escape(text)]
    if re.fullmatch(r"\d{4,}", text):
        digit_forms.append(f"{text[:-3]},{text[-3:]}")
    for form in digit_forms:
        # "0.80" states 0.8 (a ratio written to two decimals), "97.0" states 97.
        trailing = r"0*" if "." in text else r"(?:\.0+)?"
        if re.search(rf"(?<![\d.,]){form}{trailing}(?!\d|\.\d)", passage):
            return True
    if re.fullmatch(r"\d+", text):
        for word in WORDS_FOR_NUMBERS.get(int(text), ()):
            if re.search(rf"\b{word}\b", passage, re.IGNORECASE):
                return True
    return False


def states_date(passage: str, value: str) -> bool:
    """Whether the passage writes the date in any common form (2025-09-30, 30-Sep-2025, Sep 30, 2025)."""
    if value in passage:
        return True
    try:
        date = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value) in passage
    lowered = passage.lower()
    month = _MONTHS[date.month - 1]
    return (
        str(date.year) in lowered
        and re.search(rf"\b{month}", lowered) is not None
        and re.search(rf"(?<!\d)0?{date.day}(?!\d)", lowered) is not None
    )


_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


def states_name(passage: str, names: tuple[str, ...] | list[str]) -> bool:
    """Whether the passage writes one of the names (case-insensitive, hyphen- and space-tolerant)."""
    return name_matcher(names)(passage)


def name_matcher(names: Sequence[str]) -> Callable[[str], bool]:
    """`states_name` for fixed names, compiled once: a test run over many passages (every passage of a
    large KB, when a value has no statement to point at)."""
    keys = [key for key in (_SEPARATORS.sub(" ", name.lower()).strip() for name in names) if key]
    if not keys:
        return lambda _passage: False
    pattern = re.compile("|".join(rf"(?<![a-z0-9]){re.escape(key)}(?![a-z0-9])" for key in keys))
    # Each key's longest word appears in the lower-cased passage whenever the key does (separators only
    # change between words): a cheap test that rules out most passages before the flattening.
    words = tuple(dict.fromkeys(max(key.split(" "), key=len) for key in keys))

    def states(passage: str) -> bool:
        lowered = passage.lower()
        if not any(word in lowered for word in words):
            return False
        return pattern.search(_SEPARATORS.sub(" ", lowered)) is not None

    return states

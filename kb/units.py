"""Units of measurement: the labels people write, mapped to QUDT unit IRIs."""

from __future__ import annotations

from rdflib import URIRef

from ontology import UNIT

UNITS: dict[str, URIRef] = {
    "%": UNIT.PERCENT,
    "percent": UNIT.PERCENT,
    "year": UNIT.YR,
    "years": UNIT.YR,
    "month": UNIT.MO,
    "months": UNIT.MO,
    "week": UNIT.WK,
    "weeks": UNIT.WK,
    "day": UNIT.DAY,
    "days": UNIT.DAY,
    "ratio": UNIT.UNITLESS,
    "patients": UNIT.NUM,
    "count": UNIT.NUM,
}

LABELS: dict[str, str] = {"year": "years", "month": "months", "week": "weeks", "day": "days", "ratio": ""}


def unit_iri(label: str) -> URIRef | None:
    """The QUDT unit for a unit label, or None when it has none."""
    return UNITS.get(label.strip().lower())


def display(value: str, unit: str | None) -> str:
    """A value with its unit as a reader expects it: "97%", "18.2 months", "0.42"."""
    if not unit or unit == "ratio":
        return value
    if unit == "%":
        return f"{value}%"
    word = LABELS.get(unit, unit)
    if value in {"1", "1.0"} and word.endswith("s"):
        word = word[:-1]
    return f"{value} {word}"

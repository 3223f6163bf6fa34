"""Performance status of the cohort as eligibility or baseline states it: the scale and the scores allowed or
seen ("ECOG performance status of 0 to 2" -> "ECOG 0-2", "Karnofsky performance status of at least 70%")."""

from __future__ import annotations

import re

from kb.extract.context import Context

_SCALE = (
    r"(?P<scale>ECOG|Eastern\s+Cooperative\s+Oncology\s+Group|WHO|World\s+Health\s+Organi[sz]ation|Karnofsky|KPS|"
    r"Zubrod|Lansky)"
)
_BOUND = (
    r"(?P<bound>\u2264|<=|\u2265|>=|<|>|at\s+least|at\s+most|no\s+more\s+than|of\s+at\s+least|up\s+to)?\s*"
)
_SCORES = r"(?P<lo>\d{1,3})(?:\s*%)?(?:\s*(?:to|-|\u2013|or|and|through)\s*(?P<hi>\d{1,3})(?:\s*%)?)?"
_PERFORMANCE = (
    re.compile(
        rf"(?:\b{_SCALE}\s*(?:\(\s*(?:ECOG|WHO|KPS)\s*\)\s*)?)?\bperformance[\s-]status(?:\s*\((?:ECOG\s+)?PS\))?"
        rf"(?:\s+(?:score|scores|grade))?\s*(?:of|was|were|:|=|,)?\s*{_BOUND}{_SCORES}(?!\d|\.\d)",
        re.IGNORECASE,
    ),
    re.compile(rf"\b{_SCALE}\s+PS\s*(?:of\s+)?{_BOUND}{_SCORES}(?!\d|\.\d)", re.IGNORECASE),
)
_SCALE_NAMES = {
    "eastern cooperative oncology group": "ECOG",
    "world health organization": "WHO",
    "kps": "Karnofsky",
}
_BOUNDS = {
    "at least": "\u2265",
    "of at least": "\u2265",
    ">=": "\u2265",
    "at most": "\u2264",
    "no more than": "\u2264",
}
_BOUNDS |= {"up to": "\u2264", "<=": "\u2264"}


def extract_performance_status(ctx: Context) -> None:
    """The performance status the cohort's patients had, as "<scale> <scores>"."""
    cohort = ctx.cohort
    if cohort is None:
        return
    for passage in ctx.passages():
        for pattern in _PERFORMANCE:
            for match in pattern.finditer(passage.text):
                start, end = passage.start + match.start(), passage.start + match.end()
                ctx.add_value(cohort, "performanceStatus", _value(match), "string", start, end)


def _value(match: re.Match[str]) -> str:
    scale, bound, lo, hi = match.group("scale"), match.group("bound"), match.group("lo"), match.group("hi")
    name = "performance status"
    if scale:
        plain = re.sub(r"\s+", " ", scale).lower()
        name = _SCALE_NAMES.get(plain, scale.upper() if len(scale) <= 4 else scale.capitalize())
    scores = f"{lo}-{hi}" if hi else lo
    sign = _BOUNDS.get(re.sub(r"\s+", " ", bound).lower(), bound) if bound else ""
    return f"{name} {sign}{scores}"

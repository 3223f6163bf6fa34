"""Yes/no on a trial's design ("Is the trial randomized?"): decided both ways by the design features it
states, a feature that excludes the asked one meaning "No"; abstains when none decides."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb.qa import execution, queries
from kb.qa.answer import source_of
from kb.qa.catalog import STOPPED_EARLY
from kb.qa.evidence import pick, statements
from kb.qa.linking import fold
from kb.qa.model import Answer, AnswerValue, EvidenceSpan

if TYPE_CHECKING:
    from kb.qa.port import QASource

_RANDOMIZED = r"^randomi[sz]ed$"
_NOT_RANDOMIZED = r"^(?:single[- ](?:group|arm|cohort)|non[- ]?randomi[sz]ed|uncontrolled)$"
_BLINDED = r"^(?:double|single|triple)[- ]blind\w*$|^blinded$|^masked$"
_OPEN = r"^open[- ]label$|^unblinded$"
_MULTICENTRE = r"^multi[- ]?cent(?:er|re)$|^multinational$|^international$"
_SINGLE_CENTRE = r"^single[- ]cent(?:er|re)$"
_BLINDING = ("single", "double", "triple")
_PLACEBO = r"^placebo[- ]controlled$"

# (what the question asks, features that mean yes, features that mean no)
_ASPECTS: tuple[tuple[re.Pattern[str], str, str | None], ...] = (
    (re.compile(r"\bnon[- ]?randomi[sz]ed\b", re.I), _NOT_RANDOMIZED, _RANDOMIZED),
    (re.compile(r"\brandomi[sz]\w*\b", re.I), _RANDOMIZED, _NOT_RANDOMIZED),
    (re.compile(r"\bsingle[- ](?:arm|group)\b|\buncontrolled\b", re.I), _NOT_RANDOMIZED, _RANDOMIZED),
    (re.compile(r"\bopen[- ]label\b|\bunblinded\b", re.I), _OPEN, _BLINDED),
    *(
        (
            re.compile(rf"\b{level}[- ]blind\w*", re.I),
            rf"^{level}[- ]blind\w*$",
            rf"{_OPEN}|^(?:{'|'.join(other for other in _BLINDING if other != level)})[- ]blind\w*$",
        )
        for level in _BLINDING
    ),
    (re.compile(r"\bblind\w*\b|\bmasked\b", re.I), _BLINDED, _OPEN),
    (re.compile(r"\bplacebo\b", re.I), _PLACEBO, _NOT_RANDOMIZED),
    (
        re.compile(r"\bmulti-?cent\w*|\bmulti-?national\b|\binternational\b", re.I),
        _MULTICENTRE,
        _SINGLE_CENTRE,
    ),
    (re.compile(r"\bsingle[- ]cent\w*", re.I), _SINGLE_CENTRE, _MULTICENTRE),
    # Stopped early is stated when it happened; its absence decides nothing (no "no" from silence).
    (STOPPED_EARLY, r"^stopped early$", None),
)


# Words a question about the design itself may have besides the feature ("Was the VIALE-A study a
# double-blind trial?"); any other word ("Were the randomized patients older?") asks something else.
_FRAME = re.compile(
    r"\b(?:is|was|were|did|does|the|this|that|it|its|a|an|trial|study|design|designed|conducted|run|as|"
    r"and|or|clinical|phase|[0-9iv]+[ab]?)\b"
)


def asks_design(text: str) -> bool:
    """Whether a yes/no question (trial names taken out) asks only about a design feature."""
    if not any(pattern.search(text) for pattern, _, _ in _ASPECTS):
        return False
    rest = fold(text)
    for pattern, _, _ in _ASPECTS:
        rest = pattern.sub(" ", rest)
    return not re.sub(r"[^a-z0-9]+", " ", _FRAME.sub(" ", rest)).strip()


def trials_with_features(kb: QASource, text: str, trials: set[str]) -> tuple[set[str], str] | None:
    """Of ``trials``, those whose stated design features include every one the text asks for ("Which trials
    were stopped early?"), with the query; None when the text asks for no design feature."""
    asked = _asked(text)
    if not asked or not trials:
        return None
    query = queries.property_query("trial", ("tkb:designFeature",), sorted(trials), [])
    features: dict[str, list[str]] = {}
    for row in execution.select(kb, query):
        features.setdefault(str(row["trial"]), []).append(fold(str(row["value"])))
    kept = {
        trial
        for trial, stated in features.items()
        if all(any(re.search(yes, f) for f in stated) for yes, _ in asked)
    }
    return kept, query


def _asked(text: str) -> list[tuple[str, str | None]]:
    """(yes features, no features) of each feature the question asks ("non-randomized" is one, not two)."""
    asked: list[tuple[str, str | None]] = []
    rest = text
    for pattern, yes, no in _ASPECTS:
        if pattern.search(rest):
            asked.append((yes, no))
            rest = pattern.sub(" ", rest)
    return list(dict.fromkeys(asked))


def answer_design(kb: QASource, trials: list[str], text: str, raw: str, intent: str) -> Answer | None:
    """ "Yes" (every asked feature stated) or "No" (one excluded by a stated feature), the deciding features
    as evidence; None when the stated features do not decide every one."""
    asked = _asked(text)
    if not asked or len(trials) != 1:
        return None
    query = queries.property_query("trial", ("tkb:designFeature",), trials, [])
    rows = execution.select(kb, query)
    yes_rows, no_rows = [], []
    undecided = False
    for yes, no in asked:
        said_yes = [r for r in rows if re.search(yes, fold(str(r["value"])))]
        said_no = [r for r in rows if no is not None and re.search(no, fold(str(r["value"])))]
        if said_no and not said_yes:
            no_rows.append(said_no[0])
        elif said_yes and not said_no:
            yes_rows.append(said_yes[0])
        else:
            undecided = True
    if undecided and not no_rows:
        return None
    verdict, deciding = ("No", no_rows) if no_rows else ("Yes", yes_rows)
    found, _ = statements(kb, [(str(r["node"]), str(r["p"])) for r in deciding])
    spans: list[EvidenceSpan] = []
    for row in deciding:
        span = pick(found.get((str(row["node"]), str(row["p"])), []), lambda _text: True, row["value"])
        if span is not None and span not in spans:
            spans.append(span)
    values = tuple(AnswerValue(str(r["value"]), None, "design", None, source_of(r["g"])) for r in deciding)
    shown = ", ".join(dict.fromkeys(str(r["value"]) for r in deciding))
    return Answer(raw, f"{verdict}: {shown}", values, tuple(spans), query, 0.8, intent=intent)

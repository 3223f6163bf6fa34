"""Spans of an answer type in a sentence, for the passage reader (`kb.qa.reader`): a count, a share (a
percentage, "over half", "112 of 184"), a number with its unit, a date, a person or organisation, a drug,
class, target or cell type, the phrase after the question's verb, and the drug given first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kb.qa.context import QAContext
from kb.qa.linking import fold, tokens
from kb.qa.understand import Question

STOP = frozenset(
    """
    a an the of in on at to for from by with and or but is are was were be been being do does did done
    what which who whom whose when where why how many much often long old this that these those it its
    they them their there here as than then so such any some all each every no not into onto over under
    has have had having can could will would should may might must shall about after before during
    please tell me give name list show find state say number kind type sort class rate percentage
    come came get got go went take took make made happen happened see seen still
    percent proportion share fraction value figure trial study studies trials research article paper
    results result findings finding data
    report reported according also patients patient participants people persons subjects individuals
    adults
    """.split()
)
PEOPLE = frozenset({"patients", "participants", "people", "adults", "subjects", "persons"})
_FIRST_CUE = re.compile(r"\b(?:followed by|then|and then|before)\b", re.I)
_AFTER_CUE = re.compile(r"\b(?:after|following)\b", re.I)
_PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%")
FRACTION = re.compile(
    r"\b(?:(?:over|more than|less than|nearly|almost|about|roughly|just over|just under|under)\s+)?"
    r"(?:half|a third|one third|two[- ]thirds|a quarter|one quarter|three[- ]quarters|the majority|most)\b"
    r"(?! common\b| frequent\b| important\b| likely\b)",
    re.I,
)
_OF = re.compile(r"\b\d+ of (?:the )?\d+\b")
_NUMBER_WORD = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
)
_COUNT = re.compile(
    rf"(?<![\w.])(?:\d[\d,]*|(?:{_NUMBER_WORD})(?:[- ](?:{_NUMBER_WORD}))?)(?![\w.%])"
    r"(?P<noun>\s+(?:[a-z-]+\s+){0,2}?[a-z-]+)?",
    re.I,
)
_QUANTITY = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?(?:\s?(?:x|×)\s?10\^?\d+)?\s?"
    r"(?:mg|µg|mcg|micrograms?|milligrams?|g|ml|mL|kg|years?|months?|weeks?|days?|hours?|cells?)"
    r"(?:\s?(?:/|per)\s?(?:square met(?:er|re)s?|m2|m²|kg|kilograms?(?: of body weight)?|day|week|dose))?\b",
    re.I,
)
_PER = r"(?:\s?(?:/|per)\s?(?:square met(?:er|re)s?|m2|m²|kg|kilograms?(?: of body weight)?|day|week|dose))?"
# Cell doses name the cells ("1 x 10^6 CAR T cells per kg").
_CELL_DOSE = re.compile(
    rf"(?<![\w.])\d+(?:\.\d+)?(?:\s?(?:x|×)\s?10\^?\d+)?\s+(?:[\w+-]+\s+){{0,3}}?cells{_PER}(?!\w)", re.I
)
_RATIO = re.compile(r"\b\d+:\d+\b")
_UNITS = {
    "kg": "kg", "kilogram": "kg", "kilograms": "kg", "m2": "m2", "m²": "m2", "square": "m2", "mg": "mg",
    "milligram": "mg", "milligrams": "mg", "µg": "µg", "mcg": "µg", "microgram": "µg", "micrograms": "µg",
    "ml": "ml", "cell": "cell", "cells": "cell", "day": "day", "days": "day", "week": "week",
    "weeks": "week", "month": "month", "months": "month", "year": "year", "years": "year",
}  # fmt: skip


def units_in(text: str) -> set[str]:
    """The units a text names (normalised: "per kilogram" and "/kg" are both kg)."""
    return {_UNITS[w] for w in re.findall(r"[a-zµ²0-9]+", text.lower()) if w in _UNITS}


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}[- ]{_MONTHS}[- ]\d{{4}}|{_MONTHS}\.? \d{{1,2}},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"{_MONTHS} \d{{4}}|(?:19|20)\d\d)\b"
)
_PERSON = re.compile(
    r"\b[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+)?(?: [A-Z][a-zA-Z'-]+)(?=,? (?:MD|M\.D\.|PhD|Ph\.D\.|DO|MBBS)(?!\w))"
    r"|\b[A-Z][a-zA-Z'-]+ [A-Z]{1,3}(?=,? et al\b)"
)
_TITLED = re.compile(r"\b(?:Dr\.?|Professor|Prof\.) (?P<name>[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-zA-Z'-]+)+)")
# A question about a person's role ("who was the lead investigator", "who chaired the committee") wants a
# person: an organisation named beside the person (their hospital) is not the answer. General English nouns
# and verbs for what people, not institutions, do.
PERSON_ROLE = re.compile(
    r"\b(?:investigators?|authors?|researchers?|scientists?|chair\w*|director|physicians?|doctors?|"
    r"professor|oncologists?|clinicians?|statisticians?|presenters?|presented|spokes\w+|leaders?|editors?|"
    r"wrote|writers?|photographer|chief|head|principal)\b",
    re.I,
)
_ORG_WORDS = (
    r"Institute|University|Universit\w+|Network|Group|Center|Centre|School|Medicine|Foundation|Inc|"
    r"Company|Ltd|Pharma\w*|Oncology|Health|Hospital|Clinic|Alliance|Society|Agency|Administration|"
    r"Council|Consortium|Laboratories|Therapeutics|Sciences|Corporation|Association|College"
)
_ORGANISATION = re.compile(
    rf"\b(?:[A-Z][\w'&.-]*(?:\s+(?:of|for|and|in|&|de|di|the)\s+|\s+))*?(?:[A-Z][\w'&.-]*\s+)*?(?:{_ORG_WORDS})"
    r"(?:(?:\s+(?:of|for|in|and)\s+|\s+)[A-Z][\w'&.-]*)*",
)
# Cell types are plural kinds ("cytotoxic T lymphocytes", "CD19-expressing leukemia cells"); "leukemic cell
# reduction" names no cell type.
_CELLS = re.compile(r"\b(?:[\w-]+\s+){0,2}(?:cells|lymphocytes|blasts|macrophages|neutrophils)\b", re.I)
_PHRASE_END = re.compile(r"[,;:.()]|\b(?:which|that|who|and|while|with|to|in|for|thereby|by)\b", re.I)
# Which kind of entity a "what/which" question wants, by its wording (answer-type refinement).
ENTITY_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("DrugClass", re.compile(r"\b(?:kind|type|class|sort|category|payloads?|warheads?)\b", re.I)),
    (
        "MolecularTarget",
        re.compile(r"\b(?:target\w*|bind\w*|recogni\w*|inhibit\w*|block\w*|directed)\b", re.I),
    ),
    ("Disease", re.compile(r"\b(?:disease|illness|cancer|condition|leuka?emia|tumou?r)\b", re.I)),
    ("Drug", re.compile(r"\b(?:drugs?|agents?|medication|chemotherapy|comparators?)\b", re.I)),
    ("Organization", re.compile(r"\b(?:compan\w*|firms?|agenc\w*|networks?|groups?|institut\w*)\b", re.I)),
)
_ENTITY_KINDS = ("Drug", "DrugClass", "MolecularTarget", "Disease", "Biomarker", "Organization")


# Irregular forms a suffix-stripper cannot join: "died" and "death" say the same thing.
_IRREGULAR = {"died": "death", "dies": "death", "dying": "death", "dead": "death", "deaths": "death"}


def stem(word: str) -> str:
    word = fold(word)
    word = _IRREGULAR.get(word, word)
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


@dataclass(frozen=True)
class Span:
    """A candidate answer in a sentence: its text and offsets."""

    text: str
    start: int
    end: int
    kind: str = ""  # the entity kind, for a linked name
    iri: str | None = None


def _spans(kind: str, sentence: str, q: Question, context: QAContext) -> list[Span]:
    """Spans of the answer type in ``sentence``."""
    found: list[Span] = []

    def add(matches: Iterable[re.Match[str]], group: int | str = 0) -> None:
        for match in matches:
            found.append(Span(match.group(group).strip(), match.start(group), match.end(group)))

    if kind == "share":
        add(_PERCENT.finditer(sentence))
        add(FRACTION.finditer(sentence))
        add(_OF.finditer(sentence))
    elif kind == "count":
        counted = _counted_noun(q)
        add(FRACTION.finditer(sentence))
        add(_OF.finditer(sentence))
        fractions = list(found)
        for match in _COUNT.finditer(sentence):
            if any(f.start <= match.start() < f.end for f in fractions):
                continue  # the "184" of "112 of the 184 patients" is the whole, not the count asked
            noun = fold(match.group("noun") or "")
            text = match.group(0)
            if counted and not any(stem(w) in counted for w in noun.split()):
                continue
            if re.fullmatch(r"(?:19|20)\d\d", text.split()[0]):
                continue
            end = match.end() if counted else match.start() + len(text.split()[0])
            found.append(Span(sentence[match.start() : end].strip(), match.start(), end))
    elif kind == "number":
        add(_CELL_DOSE.finditer(sentence))
        add(_QUANTITY.finditer(sentence))
        add(_RATIO.finditer(sentence))
        # A value in the unit asked ("cells per kg", "in months"), never one in another unit.
        asked = units_in(q.text)
        if asked:
            found = [f for f in found if asked <= units_in(f.text)]
        if _ASKS_MEDIAN_OR_DURATION.search(q.text):
            asked_words = {stem(w) for w, _, _ in tokens(q.text)}
            found = [f for f in found if _median_or_duration_of(sentence, f.start, asked_words)]
    elif kind == "date":
        add(_DATE.finditer(sentence))
    elif kind in {"person", "organisation"}:
        named = {m.entity.iri for m in q.mentions if m.entity.iri}
        if kind == "person":
            add(_PERSON.finditer(sentence))
            add(_TITLED.finditer(sentence), "name")
            if PERSON_ROLE.search(q.text):
                return [s for s in found if s.text and not in_question(s.text, q)]
        for mention in context.index.find(sentence):
            if mention.entity.kind == "Organization" and mention.entity.iri not in named:
                found.append(
                    Span(mention.surface, mention.start, mention.end, "Organization", mention.entity.iri)
                )
        add(_ORGANISATION.finditer(sentence))
    elif kind == "kind":
        asked = {m.entity.iri or m.entity.label for m in q.mentions}
        for mention in context.index.find(sentence):
            if (
                mention.entity.kind in _ENTITY_KINDS
                and (mention.entity.iri or mention.entity.label) not in asked
            ):
                found.append(Span(mention.surface, mention.start, mention.end, mention.entity.kind))
        add(_CELLS.finditer(sentence))
    return [s for s in found if s.text and not in_question(s.text, q)]


_ASKS_MEDIAN_OR_DURATION = re.compile(r"\bmedian\b|\bhow long\b|\bduration\b", re.IGNORECASE)


def _median_or_duration_of(sentence: str, start: int, asked_words: set[str]) -> bool:
    """Whether the value at ``start`` can be the median or duration asked: not a time point the value is read
    at ("the rate of overall survival at 12 months"), nor the median of something the question does not name
    ("after a median follow-up of 10.5 months")."""
    if _TIME_POINT_BEFORE.search(sentence, max(0, start - 30), start):
        return False
    of = _MEDIAN_OF.search(sentence, max(0, start - 80), start)
    return of is None or bool({stem(w) for w, _, _ in tokens(of.group("what"))} & asked_words)


_MEDIAN_OF = re.compile(
    r"\bmedian\s+(?P<what>[A-Za-z][\w\s-]{1,40}?)\s+(?:of|was|were|is)\s+$", re.IGNORECASE
)
_TIME_POINT_BEFORE = re.compile(
    r"\b(?:at|by|through|within|beyond|until)\s+(?:week\s+|month\s+|day\s+)?$", re.IGNORECASE
)


def in_question(text: str, q: Question) -> bool:
    """A span the question itself states is not its answer ("at 12 months" in "12-month OS")."""
    return fold(text) in fold(q.text) and len(text) > 2


def _counted_noun(q: Question) -> set[str]:
    """What "how many ..." counts (stems, with the usual words for people as one)."""
    match = re.search(r"\bhow many\s+(?:of the\s+)?([a-z-]+)(?:\s+([a-z-]+))?", q.text, re.I)
    if not match:
        return set()
    words = {stem(w) for w in match.groups() if w and fold(w) not in STOP - PEOPLE}
    people = {stem(w) for w in PEOPLE}
    if words & people:
        words |= people
    return words


def _phrases_after(sentence: str, focus: list[str]) -> list[Span]:
    """The noun phrase after a focus word (a verb such as "conjugated to", "recruits"), to a clause end."""
    found = []
    for word, _start, end in tokens(sentence):
        if stem(word) not in focus or word[:1].isupper():
            continue
        rest = sentence[end:]
        rest_start = end + (len(rest) - len(rest.lstrip(" to")))
        rest = sentence[rest_start:]
        stop = _PHRASE_END.search(rest)
        phrase = rest[: stop.start()] if stop else rest
        words = phrase.split()
        if 1 <= len(words) <= 6 and not any(ch.isdigit() for ch in phrase) and phrase.islower():
            text = " ".join(words)
            found.append(Span(text, rest_start, rest_start + len(text)))
    return found


def typed_spans(
    kind: str, sentence: str, q: Question, context: QAContext, focus: list[str], wanted_kind: str = ""
) -> list[Span]:
    if kind == "first":
        return _first(sentence, context)
    spans = _spans(kind, sentence, q, context)
    if kind == "kind":
        # "what kind of inhibitor": a class, never another drug's name; a "what" that asks for no kind of
        # entity is answered by a cell type or the phrase after its verb, never by whatever name is near.
        spans = [s for s in spans if s.kind in {"", wanted_kind}]
    if kind == "kind" and not spans and not q.endpoints and not wanted_kind:
        anchors = [f for f in _verbs_after_subject(q) if f in focus]
        spans = [s for s in _phrases_after(sentence, anchors) if not in_question(s.text, q)]
    return spans


def _verbs_after_subject(q: Question) -> list[str]:
    """The word after each name in the question, its verb ("what does X recruit", "what is X conjugated
    to"): the phrase after that verb in a sentence is what the question's "what" stands for."""
    words = tokens(q.text)
    found = []
    for mention in q.mentions:
        following = next((w for w, start, _ in words if start > mention.end), None)
        if following is not None and fold(following) not in STOP and len(following) >= 3:
            found.append(stem(following))
    return found


def _first(sentence: str, context: QAContext) -> list[Span]:
    """The drug given first, where the sentence orders two ("X followed by Y", "Y after X")."""
    drugs = [m for m in context.index.find(sentence) if m.entity.kind == "Drug"]
    if len({m.entity.label for m in drugs}) < 2:
        return []
    for cue in _FIRST_CUE.finditer(sentence):
        before = [m for m in drugs if m.end <= cue.start()]
        after = [m for m in drugs if m.start >= cue.end()]
        if before and after:
            m = before[-1]
            return [Span(m.entity.label, m.start, m.end)]
    for cue in _AFTER_CUE.finditer(sentence):
        after = [m for m in drugs if m.start >= cue.end()]
        if after:
            m = after[0]
            return [Span(m.entity.label, m.start, m.end)]
    return []

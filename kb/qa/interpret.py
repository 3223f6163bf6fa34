"""Choosing a question's reading: the cue-based parse (`kb.qa.understand`) is one signal, the match by
meaning (`kb.qa.meaning`) the other; together they decide what the KB is asked, and whether the typed
reader may read the answer from the text when the KB holds none.

- The cue parse explains every word: it stands (no encoder needed).
- Some words are unexplained: the parse stands only when the meaning match agrees with it (its best
  reading is the same) and dropping those words keeps the question's meaning; otherwise the best reading by
  meaning is taken when it is clear (score and margin over the next), else the reader alone.
- Nothing matched by cues: the best reading by meaning when clear, else the reader alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kb.qa import catalog, execution, queries
from kb.qa.meaning import PER_UNIT, Understanding, answer_type, meaning_kept, understand_meaning
from kb.qa.readings import readings
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.meaning import Encoder
    from kb.qa.port import QASource

AGREE_SCORE = 0.5
"""The meaning match must give the cue parse's reading at least this score to confirm it."""
AGREE_MARGIN = 0.15
"""... and, unless the unexplained words can be dropped (`KEEP_MEANING`), lead the next reading by this."""
KEEP_MEANING = 0.85
"""Cosine between the question and the question without its unexplained words, to ignore those words."""
KEEP_MEANING_YES_NO = 0.9
NEW_SCORE = 0.72
"""A reading chosen by meaning alone needs this score ..."""
NEW_MARGIN = 0.06
"""... and this lead over the next reading."""

STRONG_TYPES = frozenset({"share", "count", "date"})
"""Answer types a wording states unmistakably: a property that cannot give one is not what was asked."""
_ALTERNATIVES = re.compile(r"\b\w+ or (?!not\b)\w+\W*$", re.I)
_ASKS_ORDER = re.compile(
    r"^(?:which|what)\b.*\b(?:first|initially|before the other|earlier)\b(?![- ](?:author|line|in))", re.I
)


@dataclass(frozen=True)
class Interpretation:
    """The question to ask the KB (None: no reading, only the reader), the answer type, and whether the
    reader may answer when the KB has nothing."""

    question: Question | None
    answer_type: str
    read_text: bool = True
    reason: str | None = None


def encoder(source: QASource) -> Encoder:
    """The project's MiniLM encoder (ONNX when exported), loaded once per source."""
    from kb.passage_search import embedder_for

    return embedder_for(source).encode


def interpret(source: QASource, q: Question) -> Interpretation:
    found = _interpret(source, q)
    if (
        found.question is not None
        and found.question.prop is not None
        and found.answer_type in {"kind", "any"}
    ):
        # What the asked property holds decides the reader's type when the wording is vaguer or at odds
        # ("What was the dosage of X?" wants a quantity, not any name in the sentence).
        types = next((r.answer_types for r in readings() if r.prop == found.question.prop.name), ())
        if types and "any" not in types and found.answer_type not in types:
            return replace(found, answer_type=types[0])
    return found


def _interpret(source: QASource, q: Question) -> Interpretation:
    kind = answer_type(q.text)
    if q.intent == "yesno" and q.prop is not None and _ALTERNATIVES.search(q.text):
        # "Were they newly diagnosed or relapsed?" asks which, not whether: the property's value answers.
        q = replace(q, intent="property", yes_no=False)
    if _ASKS_ORDER.search(q.text) and q.intent in {"property", "none"} and q.named("Drug") == []:
        return Interpretation(None, "first")
    readable = q.intent in {"outcome", "property", "none"}
    if q.intent == "property" and q.prop is not None:
        if q.prop.name in catalog.PATIENT_COUNTS and (q.comparison is not None or _names_subgroup(source, q)):
            # "How many patients were over 75?", "... had breast cancer?" count a subgroup, never the whole
            # trial's patients.
            return Interpretation(None, kind, True)
        if q.prop.name in catalog.PATIENT_COUNTS and PER_UNIT.search(q.text):
            # "How many CAR T cells per kg were infused?" asks a dose, never how many patients were treated.
            q = replace(q, intent="none", prop=None)
        types = next((r.answer_types for r in readings() if q.prop and r.prop == q.prop.name), ("any",))
        if q.prop is not None and kind in STRONG_TYPES and "any" not in types and kind not in types:
            # The wording asks a rate (or a count, a date) the cue-matched property cannot give ("the
            # response rate in patients with prior malignancies" is no list of malignancies).
            q = replace(q, intent="none", prop=None)
    if q.intent != "none" and not q.unexplained:
        return Interpretation(q, kind, readable)
    encode = encoder(source)
    cache = source.settings.resolved_cache_dir() / "qa"
    if q.intent == "yesno":
        if meaning_kept(q, q.unexplained, encode) >= KEEP_MEANING_YES_NO:
            return Interpretation(replace(q, unexplained=()), kind, False)
        return Interpretation(None, kind, False, _unexplained_reason(q))
    understood = understand_meaning(q, encode, cache)
    if q.intent != "none" and _agrees(q, understood):
        if understood.margin >= AGREE_MARGIN or meaning_kept(q, q.unexplained, encode) >= KEEP_MEANING:
            return Interpretation(replace(q, unexplained=()), kind, readable)
    chosen = _by_meaning(q, understood)
    if chosen is not None:
        return Interpretation(chosen, kind, True)
    reason = _unexplained_reason(q) if q.unexplained else q.reason
    return Interpretation(None, kind, True, reason)


def _names_subgroup(source: QASource, q: Question) -> bool:
    """Whether the question names a disease that is not what the trial's patients have (a prior
    condition, say): patients with it are a subgroup."""
    diseases = [e.iri for e in q.named("Disease") if e.iri]
    if not diseases:
        return False
    rows = execution.select(
        source,
        queries.with_prefixes(
            "SELECT DISTINCT ?disease WHERE { "
            f"{queries.values('disease', diseases)} ?trial a tkb:ClinicalTrial ; "
            "(tkb:hasCohort|tkb:hasArm)? ?group . ?group tkb:condition ?disease }"
        ),
    )
    return len(rows) < len(diseases)


def _agrees(q: Question, understood: Understanding) -> bool:
    best = understood.best
    if best is None or best.score < AGREE_SCORE:
        return False
    if q.intent == "property":
        return best.reading.intent == "property" and q.prop is not None and best.reading.prop == q.prop.name
    return best.reading.intent == q.intent


def _by_meaning(q: Question, understood: Understanding) -> Question | None:
    best = understood.best
    if best is None or best.score < NEW_SCORE or understood.margin < NEW_MARGIN:
        return None
    reading = best.reading
    if reading.intent == "property" and reading.prop in catalog.BY_NAME:
        return replace(q, intent="property", prop=catalog.BY_NAME[reading.prop], unexplained=(), yes_no=False)
    if reading.intent == "outcome" and q.endpoints and not q.unexplained:
        # (with unexplained words the cue parse's endpoint is what is in doubt: the reader decides)
        return replace(q, intent="outcome", unexplained=())
    return None


def _unexplained_reason(q: Question) -> str:
    words = ", ".join(dict.fromkeys(w.lower() for w in q.unexplained))
    return f"the knowledge base does not describe what the question asks ({words})"

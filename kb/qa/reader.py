"""A typed reader over passages: when the KB holds no value for a question, read one from the text.

The classic answer-type plus passage-ranking design of open-domain QA: the named trial's passages are
ranked by the project's search (dense + BM25); a sentence must hold the question's focus words (its content
words, weighted by how rare they are in the trial's documents); within it, spans of the expected answer
type (`kb.qa.meaning.answer_type`: a count, a share, a number with its unit, a date, a person or
organisation, a drug, class, target or cell type, a noun phrase after the focus) are scored by their
closeness to the focus words. The best span is the answer, never the sentence; the sentence is the
evidence. Below the calibrated thresholds, or with two spans too close to tell apart, it abstains.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kb.qa import queries
from kb.qa.answer import time_matches
from kb.qa.context import QAContext
from kb.qa.fallback import clause_bounds
from kb.qa.linking import fold, tokens
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.organisations import asked_kind, organisations_of_kind
from kb.qa.understand import Question

if TYPE_CHECKING:
    from kb.qa.port import QASource

MIN_COVERAGE = 0.6
"""Share of the question's focus weight a sentence must hold (calibrated on tests/data/qa_dev/dev.jsonl)."""
MIN_CONFIDENCE = 0.35
"""Below this the reader abstains (calibrated on the dev split: the lowest correct span scored 0.38)."""
SPAN_MARGIN = 1.25
"""In one sentence, the best span must be this many times closer to the focus words than another."""
DECAY = 10.0
"""Characters over which a span's closeness to a focus word halves."""
METADATA_TYPES = frozenset({"person", "organisation", "date"})
"""What a document's metadata lines (credits, dates, references) may answer."""
MAX_ABSENT = 0.5
"""Share of the focus weight that may be words the trial's text never uses."""
MIN_DENSE = 0.55
"""A sentence without the focus words must be this close in meaning (cosine) to the question."""
TYPE_BONUS = 0.15
"""For a span of the entity kind the wording asks for ("what kind" → a class), or naming the focus."""
HITS = 5

_STOP = frozenset(
    """
    a an the of in on at to for from by with and or but is are was were be been being do does did done
    what which who whom whose when where why how many much often long old this that these those it its
    they them their there here as than then so such any some all each every no not into onto over under
    has have had having can could will would should may might must shall about after before during
    please tell me give name list show find state say number kind type sort class rate percentage
    come came get got go went take took make made happen happened see seen still
    percent proportion share fraction value figure trial study studies trials research article paper
    report reported according also patients patient participants people persons subjects individuals
    adults
    """.split()
)
_PEOPLE = frozenset({"patients", "participants", "people", "adults", "subjects", "persons"})
_FIRST_CUE = re.compile(r"\b(?:followed by|then|and then|before)\b", re.I)
_AFTER_CUE = re.compile(r"\b(?:after|following)\b", re.I)
_PERCENT = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%")
_FRACTION = re.compile(
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
_RATIO = re.compile(r"\b\d+:\d+\b")
_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}[- ]{_MONTHS}[- ]\d{{4}}|{_MONTHS}\.? \d{{1,2}},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"{_MONTHS} \d{{4}}|(?:19|20)\d\d)\b"
)
_PERSON = re.compile(
    r"\b[A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+)?(?: [A-Z][a-zA-Z'-]+)(?=,? (?:MD|PhD|DO|MBBS)\b)"
    r"|\b[A-Z][a-zA-Z'-]+ [A-Z]{1,3}(?=,? et al\b)"
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
_ENTITY_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
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


def _stem(word: str) -> str:
    word = fold(word)
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


def _focus(q: Question) -> list[str]:
    """The question's content words (stems) and the entities it names ("@" and the IRI, found in a passage
    under any of their names: "NCI" is the National Cancer Institute), without its trial names and words
    that only say the answer type."""
    trials = [(m.start, m.end) for m in q.mentions if m.entity.kind == "ClinicalTrial"]
    entities = [m for m in q.mentions if m.entity.kind != "ClinicalTrial" and m.entity.iri]
    words = [f"@{m.entity.iri}" for m in entities]
    for word, start, end in tokens(q.text):
        if any(a <= start and end <= b for a, b in trials):
            continue
        if any(m.start <= start and end <= m.end for m in entities):
            continue
        folded = fold(word)
        if folded in _STOP or len(folded) < 3 or folded.isdigit():
            continue
        words.append(_stem(word))
    return list(dict.fromkeys(words))


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
        add(_FRACTION.finditer(sentence))
        add(_OF.finditer(sentence))
    elif kind == "count":
        counted = _counted_noun(q)
        add(_FRACTION.finditer(sentence))
        add(_OF.finditer(sentence))
        fractions = list(found)
        for match in _COUNT.finditer(sentence):
            if any(f.start <= match.start() < f.end for f in fractions):
                continue  # the "184" of "112 of the 184 patients" is the whole, not the count asked
            noun = fold(match.group("noun") or "")
            text = match.group(0)
            if counted and not any(_stem(w) in counted for w in noun.split()):
                continue
            if re.fullmatch(r"(?:19|20)\d\d", text.split()[0]):
                continue
            end = match.end() if counted else match.start() + len(text.split()[0])
            found.append(Span(sentence[match.start() : end].strip(), match.start(), end))
    elif kind == "number":
        add(_QUANTITY.finditer(sentence))
        add(_RATIO.finditer(sentence))
    elif kind == "date":
        add(_DATE.finditer(sentence))
    elif kind in {"person", "organisation"}:
        named = {m.entity.iri for m in q.mentions if m.entity.iri}
        if kind == "person":
            add(_PERSON.finditer(sentence))
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
    return [s for s in found if s.text and not _in_question(s.text, q)]


def _in_question(text: str, q: Question) -> bool:
    """A span the question itself states is not its answer ("at 12 months" in "12-month OS")."""
    return fold(text) in fold(q.text) and len(text) > 2


def _counted_noun(q: Question) -> set[str]:
    """What "how many ..." counts (stems, with the usual words for people as one)."""
    match = re.search(r"\bhow many\s+(?:of the\s+)?([a-z-]+)(?:\s+([a-z-]+))?", q.text, re.I)
    if not match:
        return set()
    words = {_stem(w) for w in match.groups() if w and fold(w) not in _STOP - _PEOPLE}
    people = {_stem(w) for w in _PEOPLE}
    if words & people:
        words |= people
    return words


def _phrases_after(sentence: str, focus: list[str]) -> list[Span]:
    """The noun phrase after a focus word (a verb such as "conjugated to", "recruits"), to a clause end."""
    found = []
    for word, _start, end in tokens(sentence):
        if _stem(word) not in focus or word[:1].isupper():
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


@dataclass(frozen=True)
class Reading:
    """What the reader found: the span, the sentence, and how sure it is."""

    span: Span
    confidence: float
    passage: EvidenceSpan


def _vocabulary(sentences: list[str], context: QAContext) -> list[set[str]]:
    """Each sentence's stems and the "@IRI" of each entity it names."""
    return [
        {_stem(w) for w, _, _ in tokens(s)} | {f"@{iri}" for iri, _ in context.linked_in(s)}
        for s in sentences
    ]


def _weights(focus: list[str], sentences: list[str], context: QAContext) -> dict[str, float]:
    """Rarer focus words weigh more (inverse document frequency over the trial's sentences)."""
    stems = _vocabulary(sentences, context)
    total = max(len(stems), 1)
    return {f: math.log(1 + total / (1 + sum(f in s for s in stems))) for f in focus}


def _positions(sentence: str, focus: list[str], context: QAContext) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for word, start, _ in tokens(sentence):
        stem = _stem(word)
        if stem in focus:
            where.setdefault(stem, []).append(start)
    for iri, start in context.linked_in(sentence):
        if f"@{iri}" in focus:
            where.setdefault(f"@{iri}", []).append(start)
    return where


def read(source: QASource, context: QAContext, q: Question, trials: list[str], kind: str) -> Reading | None:
    """The best span of type ``kind`` in the passages of ``trials`` (one trial), or None."""
    if len(trials) != 1 or kind in {"yesno", "any"}:
        return None
    trial = context.trials.get(trials[0])
    if trial is None:
        return None
    focus = _focus(q)
    type_words: set[str] = set()
    if kind in {"organisation", "person"}:
        # "which network", "which company": the noun says what the answer is, not what the sentence says.
        phrase = asked_kind(q.text)
        type_words = {_stem(w) for w in phrase.split()} if phrase else set()
        focus = [f for f in focus if f not in type_words]
    if not focus:
        return None
    documents = context.trial_documents(trials)
    sentences = [row.text for d in documents for row in context.passages.get(d, [])]
    weights = _weights(focus, sentences, context)
    # Words the trial's text never uses cannot tell its sentences apart: left out of the coverage, unless
    # they are most of what is asked (then only a sentence close in meaning may answer).
    vocabulary = set().union(*_vocabulary(sentences, context))
    absent = {f for f in focus if f not in vocabulary}
    mostly_absent = sum(weights[f] for f in absent) > MAX_ABSENT * sum(weights.values())
    focus = [f for f in focus if f not in absent] or focus
    weights = {f: weights[f] for f in focus}
    total = sum(weights.values()) or 1.0
    try:
        hits = passages(source, q, HITS, trial.name or trial.nct or trial.label)
    except Exception:  # noqa: BLE001 - no index: nothing to read from, the abstention stands
        return None
    members = _class_members(source, q)
    candidates: list[_Candidate] = []
    wanted_kind = next((k for k, cue in _ENTITY_CUES if cue.search(q.text)), "")
    for rank, hit in enumerate(hits):
        sentence = hit.text
        if hit.metadata.get("section") == "metadata" and kind not in METADATA_TYPES:
            continue  # a keyword list or a title states no value; credits, dates and authors it does
        where = _positions(sentence, focus, context)
        coverage = sum(weights[f] for f in where) / total
        dense = float(hit.retriever_scores.get("dense", 0.0)) if hit.retriever_scores else 0.0
        # A sentence must say what was asked: in its words, or (other words) by meaning.
        if kind != "first" and (coverage < MIN_COVERAGE or mostly_absent) and dense < MIN_DENSE:
            continue
        if q.time_point_text and not time_matches(q, None, sentence):
            continue  # "3-year survival": only a sentence that says three years
        spans = _typed_spans(kind, sentence, q, context, focus, wanted_kind)
        spans = _attached(spans, sentence, q, context, members)
        if kind == "organisation" and type_words:  # "which government agency": organisations of that kind
            iris = [sp.iri for sp in spans if sp.iri]
            wanted = organisations_of_kind(source, q.text, iris) if iris else None
            if wanted is not None:
                spans = [sp for sp in spans if sp.iri in wanted]
        arms = [fold(m.surface) for m in q.mentions if m.entity.kind == "Arm"]
        if arms:  # a group's value only where its clause names that group (or all groups)
            spans = [s for s in spans if _names_group(fold(sentence), s.start, arms)]
        start = int(hit.metadata.get("start", 0))
        evidence = EvidenceSpan(
            str(hit.metadata.get("document")), hit.id, start, int(hit.metadata.get("end", start)), sentence
        )
        for span in spans:
            closeness = (
                sum(
                    weights[f] * max(1.0 / (1.0 + _distance(span, p, sentence) / DECAY) for p in positions)
                    for f, positions in where.items()
                )
                / total
            )
            score = 0.4 * coverage + 0.3 * closeness + 0.3 * max(dense, 0.0) - 0.03 * rank
            if span.kind and span.kind == wanted_kind:
                score += TYPE_BONUS
            if type_words and {_stem(w) for w, _, _ in tokens(span.text)} & type_words:
                score += TYPE_BONUS  # "which network": the name that says "Network"
            if kind == "first":
                score = max(score, MIN_CONFIDENCE)
            candidates.append(_Candidate(score, closeness, span, evidence))
    if not candidates:
        return None
    candidates.sort(key=lambda c: -c.score)
    best = candidates[0]
    rival = next((c for c in candidates[1:] if not _same_answer(c, best)), None)
    if (
        rival is not None
        and rival.evidence.passage == best.evidence.passage
        and rival.score > best.score - TYPE_BONUS / 2
        and rival.closeness * SPAN_MARGIN > best.closeness
        and not _FRACTION.fullmatch(best.span.text)
    ):
        return None  # two values of the type, neither clearly the one the focus words are about
    if best.score < MIN_CONFIDENCE:
        return None
    return Reading(best.span, best.score, best.evidence)


def passages(source: QASource, q: Question, k: int, trial: str) -> list[Any]:
    """The trial's passages ranked for the question by the project's search; BM25 also sees the names of
    the entities the question links to (labels, abbreviations, synonyms), as search's own expansion would."""
    from kb.passage_search import search_passages

    names = [n for m in q.mentions if m.entity.kind != "ClinicalTrial" for n in m.entity.names[:6]]
    keywords = " ".join([q.text, *dict.fromkeys(names)])
    return search_passages(source, q.text, k=k, trial=trial, keyword_text=keywords)


def _class_members(source: QASource, q: Question) -> set[str] | None:
    """The drugs of the classes the question names ("which TKIs ..."), from the KB; None when it names none."""
    classes = [e.iri for e in q.named("DrugClass") if e.iri]
    if not classes:
        return None
    rows = source.select(
        queries.with_prefixes(
            f"SELECT DISTINCT ?drug WHERE {{ {queries.values('c', classes)} ?drug tkb:drugClass ?c }}"
        )
    )
    return {str(r["drug"]) for r in rows}


def _attached(
    spans: list[Span], sentence: str, q: Question, context: QAContext, members: set[str] | None
) -> list[Span]:
    """Spans that belong to what the question names: a class or target closer to the named drug than to any
    other drug of the sentence ("what kind of inhibitor is X" is never the comparators' class); a drug of
    the named class ("which TKIs")."""
    named = {e.iri for e in q.named("Drug")}
    drugs = [m for m in context.index.find(sentence) if m.entity.kind == "Drug"]
    kept = []
    for span in spans:
        if span.kind in {"DrugClass", "MolecularTarget"} and named:
            own = [_gap(span, m.start, m.end) for m in drugs if m.entity.iri in named]
            other = [_gap(span, m.start, m.end) for m in drugs if m.entity.iri not in named]
            if not own or (other and min(other) <= min(own)):
                continue
        if span.kind == "Drug" and members is not None:
            iris = {m.entity.iri for m in drugs if m.start == span.start}
            if not iris & members:
                continue
        kept.append(span)
    return kept


def _gap(span: Span, start: int, end: int) -> int:
    if end <= span.start:
        return span.start - end
    if start >= span.end:
        return start - span.end
    return 0


def _same_answer(one: _Candidate, other: _Candidate) -> bool:
    """The same text, or overlapping spans of one sentence ("CD19" in "CD19-expressing leukemia cells")."""
    if fold(one.span.text) == fold(other.span.text):
        return True
    return one.evidence.passage == other.evidence.passage and (
        one.span.start < other.span.end and other.span.start < one.span.end
    )


@dataclass(frozen=True)
class _Candidate:
    score: float
    closeness: float
    span: Span
    evidence: EvidenceSpan


def _typed_spans(
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
        spans = [s for s in _phrases_after(sentence, anchors) if not _in_question(s.text, q)]
    return spans


def _verbs_after_subject(q: Question) -> list[str]:
    """The word after each name in the question, its verb ("what does X recruit", "what is X conjugated
    to"): the phrase after that verb in a sentence is what the question's "what" stands for."""
    words = tokens(q.text)
    found = []
    for mention in q.mentions:
        following = next((w for w, start, _ in words if start > mention.end), None)
        if following is not None and fold(following) not in _STOP and len(following) >= 3:
            found.append(_stem(following))
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


_ALL_GROUPS = re.compile(r"\b(?:both|all|each|the two) (?:groups|arms|cohorts)\b")


def _names_group(folded: str, position: int, arms: list[str]) -> bool:
    start, end = clause_bounds(folded, position)
    clause = folded[start:end]
    return bool(_ALL_GROUPS.search(clause)) or any(arm in clause for arm in arms)


def _distance(span: Span, position: int, sentence: str = "") -> int:
    bracketed = (
        sentence[max(0, span.start - 1) : span.start] == "(" and sentence[span.end : span.end + 1] == ")"
    )
    if position >= span.end and bracketed:
        return len(sentence)  # "a decreased count (20.7%) and anemia": a bracketed value is what precedes it
    if position < span.start:
        return span.start - position
    if position >= span.end:
        return position - span.end
    return 0


def answer_from_reading(raw: str, q: Question, context: QAContext, trial: str, found: Reading) -> Answer:
    """An answer read from the text: the span, the sentence it came from, lower confidence."""
    info = context.trials.get(trial)
    subject = info.display if info else None
    value = AnswerValue(found.span.text, None, "read from the text", subject, found.passage.document)
    confidence = round(min(0.6, 0.6 * found.confidence), 3)
    return Answer(
        raw,
        found.span.text,
        (value,),
        (found.passage,),
        None,
        confidence,
        source_kind="text",
        intent=q.intent,
        note="read from the text of the source, not from a stored fact",
    )

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kb.qa import queries
from kb.qa.answer import time_matches
from kb.qa.context import QAContext
from kb.qa.fallback import clause_bounds
from kb.qa.linking import fold, tokens
from kb.qa.model import Answer, AnswerValue, EvidenceSpan
from kb.qa.organisations import asked_kind, organisations_of_kind
from kb.qa.spans import ENTITY_CUES, FRACTION, STOP, Span, stem, typed_spans
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
        if folded in STOP or len(folded) < 3 or folded.isdigit():
            continue
        words.append(stem(word))
    return list(dict.fromkeys(words))


@dataclass(frozen=True)
class Reading:
    """What the reader found: the span, the sentence, and how sure it is."""

    span: Span
    confidence: float
    passage: EvidenceSpan


def _vocabulary(sentences: list[str], context: QAContext) -> list[set[str]]:
    """Each sentence's stems and the "@IRI" of each entity it names."""
    return [
        {stem(w) for w, _, _ in tokens(s)} | {f"@{iri}" for iri, _ in context.linked_in(s)} for s in sentences
    ]


def _weights(focus: list[str], sentences: list[str], context: QAContext) -> dict[str, float]:
    """Rarer focus words weigh more (inverse document frequency over the trial's sentences)."""
    stems = _vocabulary(sentences, context)
    total = max(len(stems), 1)
    return {f: math.log(1 + total / (1 + sum(f in s for s in stems))) for f in focus}


def _positions(sentence: str, focus: list[str], context: QAContext) -> dict[str, list[int]]:
    where: dict[str, list[int]] = {}
    for word, start, _ in tokens(sentence):
        word_stem = stem(word)
        if word_stem in focus:
            where.setdefault(word_stem, []).append(start)
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
        type_words = {stem(w) for w in phrase.split()} if phrase else set()
        focus = [f for f in focus if f not in type_words]
    if not focus:
        return None
    documents = context.trial_documents(trials)
    sentences = [
        row.text
        for d in documents
        for row in context.passages.get(d, [])
        if row.trial is None or row.trial == trials[0]
    ]
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
    wanted_kind = next((k for k, cue in ENTITY_CUES if cue.search(q.text)), "")
    for rank, hit in enumerate(hits):
        sentence = hit.text
        if hit.metadata.get("section") == "metadata" and kind not in METADATA_TYPES:
            continue  # a keyword list or a title states no value; credits, dates and authors it does
        named_trials = {
            m.entity.iri for m in context.index.find(sentence) if m.entity.kind == "ClinicalTrial"
        }
        if named_trials and trials[0] not in named_trials:
            continue  # a sentence about another trial of the same document says nothing of this one
        owner = context.passage_trial(hit.id)
        if owner is not None and owner != trials[0]:
            continue  # a sentence in another trial's part of the document ("Over a median of 2.3 years, ...")
        where = _positions(sentence, focus, context)
        coverage = sum(weights[f] for f in where) / total
        dense = float(hit.retriever_scores.get("dense", 0.0)) if hit.retriever_scores else 0.0
        # A sentence must say what was asked: in its words, or (other words) by meaning.
        if kind != "first" and (coverage < MIN_COVERAGE or mostly_absent) and dense < MIN_DENSE:
            continue
        if q.time_point_text and not time_matches(q, None, sentence):
            continue  # "3-year survival": only a sentence that says three years
        spans = typed_spans(kind, sentence, q, context, focus, wanted_kind)
        spans = _attached(spans, sentence, q, context, members)
        if kind == "organisation" and type_words:  # "which government agency": organisations of that kind
            iris = [sp.iri for sp in spans if sp.iri]
            wanted = organisations_of_kind(source, q.text, iris) if iris else None
            if wanted is not None:
                spans = [sp for sp in spans if sp.iri in wanted]
        spans = _in_asking_clause(spans, sentence, where, weights)
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
            if type_words and {stem(w) for w, _, _ in tokens(span.text)} & type_words:
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
        and not FRACTION.fullmatch(best.span.text)
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


_ALL_GROUPS = re.compile(r"\b(?:both|all|each|the two) (?:groups|arms|cohorts)\b")


def _names_group(folded: str, position: int, arms: list[str]) -> bool:
    start, end = clause_bounds(folded, position)
    clause = folded[start:end]
    return bool(_ALL_GROUPS.search(clause)) or any(arm in clause for arm in arms)


_CLAUSE_SPLIT = re.compile(
    r";|,(?!\d)|\b(?:and|but|while|whereas|compared\s+(?:with|to)|versus|vs\.?|than)\b", re.I
)


def _in_asking_clause(
    spans: list[Span], sentence: str, where: dict[str, list[int]], weights: dict[str, float]
) -> list[Span]:
    """Of several values in a sentence, those whose clause names most of what is asked ("ILD occurred in
    13.6% and led to death in 2.2%": a question about deaths is answered from the clause that says death).
    What precedes the sentence's first value is the subject all its clauses share."""
    if len(spans) < 2 or not where:
        return spans
    subject_end = min(s.start for s in spans)
    bounds = [m.start() for m in _CLAUSE_SPLIT.finditer(sentence)]

    def covered(span: Span) -> float:
        start = max((b for b in bounds if b <= span.start), default=0)
        end = min((b for b in bounds if b >= span.end), default=len(sentence))
        return sum(
            weights[f]
            for f, positions in where.items()
            if any(p < subject_end or start <= p < end for p in positions)
        )

    coverage = [covered(s) for s in spans]
    best = max(coverage)
    return [s for s, c in zip(spans, coverage, strict=True) if c >= best - 1e-9]


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

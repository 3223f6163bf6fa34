"""Question understanding: normalise the text, link entities, and decide what is asked (the intent).

Intents: ``outcome`` (an endpoint's value), ``property`` (a `PropertySpec` of a trial, group, drug or
publication), ``list_drugs`` / ``list_trials`` / ``count_trials`` (entities by target, class, drug,
disease, organisation or outcome threshold), ``yesno``, and ``none`` with a reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from kb.qa import catalog
from kb.qa.catalog import PropertySpec
from kb.qa.linking import EntityIndex, LinkedEntity, Mention, fold, tokens
from kb.qa.vocabulary import COMMON_WORDS, NUMBER_WORDS

_TRIAL_CODE = re.compile(
    r"(?<![\w-])(?:[A-Z]{1,6}-?\d{2,6}[A-Z]?|[A-Z][A-Za-z]*[A-Z]-\d{1,3}[a-z]?)(?![\w-])"
)
# Trial names in their other real forms: CamelCase or capitals then a number ("CheckMate 227", "IMpower150",
# "KEYNOTE 189"); capitals with a lettered suffix ("ACCORD-BP"); a capitalised name before "Program".
_TRIAL_NAME_FORMS = re.compile(
    r"(?<![\w-])(?:[A-Z][a-z]+[A-Z][A-Za-z]*[- ]?\d{1,4}[a-z]?|[A-Z]{2,}[a-z]+\d{1,4}|[A-Z]{3,}[- ]\d{2,4}"
    r"|[A-Z]{4,}-[A-Z]{2,4}|[A-Z][A-Za-z]{3,} Program)(?![\w-])"
)
_NAMED_TRIAL = re.compile(r"\b(?:the\s+)?([A-Z][A-Za-z0-9-]{2,})\s+(?:phase\s+\S+\s+)?(?:trial|study)\b")
_CLINICALTRIALS = re.compile(r"clinical ?trials", re.IGNORECASE)
_NOT_TRIAL_NAMES = {
    "The",
    "This",
    "That",
    "Which",
    "What",
    "Phase",
    "Clinical",
    "Cancer",
    "Our",
    "Your",
    "A",
    "An",
}
_FILLER = frozenset(
    """
    tell know please show list give find name names state stated say says said describe described mention mentioned
    reported observed achieved achieve reach reached reaching seen see noted note documented recorded measured
    elderly older younger young adult adults aged population populations researchers investigators scientists
    news article paper publication research researchers work trial's study's overall total entire whole
    exactly approximately about around roughly actual actually main key value values figure figures number
    numbers percentage percentages rate rates statistic statistics data result results outcome outcomes
    information details detail did does kind sort type types category classes class
    new novel reported approach used use uses using involved involve involving people person individuals
    receive received receiving get got getting given give were was are is had have has
    cohort cohorts group groups arm arms knowledge base kb source sources document documents text
    identifier identifiers identification number code registry registration official registered
    listed lists record records clinicaltrials planned planning estimated expected
    induction consolidation maintenance intensification conditioning salvage
    took take takes taking part provide provided provides providing appear appeared appears long
    test tests tested testing evaluate evaluated evaluating examine examined investigate investigated assess
    assessed compare compared look looked conduct conducted carry carried publish published
    happen happened cover covered concern concerned regard regarding according reports
    regimen regimens treatment treatments therapy therapies drug drugs agent agents medication medications
    institute institutes institution institutions agency agencies firm firms network networks university
    universities hospital hospitals center centers centre centres foundation foundations council councils
    manufacturer manufacturers funder funders sponsors organisations organizations
    """.split()
)


EMPTY = "the question is empty"


# "alive at follow-up", "during follow-up": the follow-up says when, it is not what is asked.
_AS_A_TIME = re.compile(r"\b(?:at|during|after|on|by|through)\s+(?:the\s+)?(?:last\s+|latest\s+)?$", re.I)
_QUALIFIED_ALIVE = re.compile(
    r"\b(?:relapse|event|progression|disease|leuka?emia|recurrence|metastasis)[- ]free\b|\bremission|\brelaps"
)


def normalise(text: str, max_length: int) -> str:
    """Unicode NFKC, control and format characters removed, whitespace collapsed, cut to ``max_length``."""
    text = unicodedata.normalize("NFKC", text or "")
    text = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cs", "Co"})
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"\s+", " ", text).strip()
    return text[:max_length].strip()


@dataclass(frozen=True)
class Question:
    """What a question asks and what it names."""

    text: str
    intent: str
    prop: PropertySpec | None = None
    mentions: tuple[Mention, ...] = ()
    trials: tuple[LinkedEntity, ...] = ()
    unknown_names: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()  # endpoint IRIs, most specific first
    endpoint_words: tuple[str, ...] = ()
    statistic: str | None = None
    time_point_months: float | None = None
    time_point_text: str | None = None
    comparison: tuple[str, float] | None = None
    treatment_phase: str | None = None
    role_filter: str | None = None
    unexplained: tuple[str, ...] = ()
    reason: str | None = None
    count: bool = False
    polarity: str | None = field(default=None)
    yes_no: bool = False  # a yes/no question answered from a property ("Is the trial still recruiting?")

    def named(self, kind: str) -> list[LinkedEntity]:
        """KB entities of ``kind`` the question names (each once, in order)."""
        seen: dict[str, LinkedEntity] = {}
        for mention in self.mentions:
            entity = mention.entity
            if entity.kind == kind and entity.iri is not None:
                seen.setdefault(entity.iri, entity)
        return list(seen.values())

    def outside(self) -> list[LinkedEntity]:
        """Entities the question names that the KB does not hold."""
        return [m.entity for m in self.mentions if not m.entity.in_kb]


def _time_point(text: str) -> tuple[float | None, str | None]:
    for match in catalog.TIME_POINT.finditer(text):
        before = text[max(0, match.start() - 25) : match.start()].lower()
        if re.search(r"(?:aged?|old|median follow[- ]?up of|follow[- ]?up of)\s*$", before):
            continue
        amount = match.group("amount").lower()
        number = float(NUMBER_WORDS.get(amount, 0) or _words_to_number(amount))
        unit = match.group("unit").lower()
        months = number * 12 if unit.startswith("y") else number
        return months, match.group(0)
    return None, None


def _words_to_number(text: str) -> float:
    table = {"twelve": 12, "eighteen": 18, "twenty-four": 24, "thirty-six": 36}
    try:
        return float(table.get(text, text))
    except ValueError:
        return 0.0


def _unknown_trial_names(text: str, mentions: list[Mention]) -> list[str]:
    covered = [(m.start, m.end) for m in mentions]
    found: list[str] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in covered)

    for match in _TRIAL_CODE.finditer(text):
        before = text[max(0, match.start() - 8) : match.start()].lower()
        if "phase" in before or re.fullmatch(r"(?:19|20)\d\d", match.group(0)):
            continue
        if free(match.start(), match.end()):
            found.append(match.group(0))
    for match in _TRIAL_NAME_FORMS.finditer(text):
        if free(match.start(), match.end()) and match.group(0) not in found:
            found.append(match.group(0))
    for match in _NAMED_TRIAL.finditer(text):
        name = match.group(1)
        if name in _NOT_TRIAL_NAMES or not free(match.start(1), match.end(1)) or name in found:
            continue
        if name.isupper() or any(ch.isdigit() for ch in name) or match.start(1) > 0:
            found.append(name)
    return found


def _unexplained(text: str, spans: list[tuple[int, int]]) -> list[str]:
    words = []
    for word, start, end in tokens(text):
        if any(a <= start and end <= b for a, b in spans):
            continue
        folded = fold(word)
        if len(folded) < 4 or not folded.isalpha() or folded in COMMON_WORDS or folded in _FILLER:
            continue
        if folded.endswith("s") and (folded[:-1] in COMMON_WORDS or folded[:-1] in _FILLER):
            continue
        words.append(word)
    return words


def _endpoint_iris(index: EntityIndex, key: str) -> list[str]:
    return [e.iri for e in index.kb_entities("Endpoint") if e.iri and e.iri.rsplit("/", 1)[-1] == key]


def _related_endpoints(index: EntityIndex, entity: LinkedEntity) -> list[str]:
    """KB endpoints whose label contains this one's ("complete remission" -> CR/CRi), after the endpoint itself;
    never one that qualifies it ("composite complete remission" is another endpoint, not a kind of CR)."""
    base = fold(entity.label)
    alternative = re.compile(rf"(?:^|\b(?:or|and) ){re.escape(base)}\b")
    related = [
        e.iri
        for e in index.kb_entities("Endpoint")
        if e.iri
        and e.iri != entity.iri
        and alternative.search(fold(e.label))
        and not fold(e.label).startswith(base + " with")
    ]
    return [iri for iri in [entity.iri, *related] if iri]


def understand(raw: str, index: EntityIndex, max_length: int = 2000) -> Question:
    """Parse a question against the KB's entities; never raises on any input."""
    text = normalise(raw, max_length)
    if not text or not any(ch.isalnum() for ch in text):
        return Question(text, "none", reason=EMPTY)
    mentions = index.find(text)
    kb_kinds = {(m.start, m.end, m.entity.kind) for m in mentions if m.entity.in_kb}
    mentions = [m for m in mentions if m.entity.in_kb or (m.start, m.end, m.entity.kind) not in kb_kinds]
    trials = tuple(
        dict.fromkeys(m.entity for m in mentions if m.entity.kind == "ClinicalTrial" and m.entity.in_kb)
    )
    unknown = tuple(_unknown_trial_names(text, mentions))
    lowered = text.lower()
    months, time_text = _time_point(text)
    statistic = next((name for name, cue in catalog.STATISTIC_CUES if cue.search(text)), None)
    comparison_match = catalog.COMPARISON.search(text)
    comparison = (
        (comparison_match.group("op").lower(), float(comparison_match.group("number")))
        if comparison_match
        else None
    )
    phase = next((p for p in catalog.TREATMENT_PHASES if re.search(rf"\b{p}\b", lowered)), None)
    endpoint_mentions = [
        m for m in mentions if m.entity.kind == "Endpoint" and not _AS_A_TIME.search(text[: m.start])
    ]
    endpoints: list[str] = []
    words: list[str] = []
    for mention in endpoint_mentions:
        if mention.entity.in_kb:
            endpoints.extend(_related_endpoints(index, mention.entity))
        words.append(mention.surface)
    generic: list[tuple[int, int]] = []  # where plain words name an endpoint ("responded")
    if not endpoint_mentions:
        for key, cue in catalog.GENERIC_ENDPOINT_CUES:
            found = cue.search(text)
            if found:
                if (
                    key == "overall-survival"
                    and statistic not in {"hazard ratio", "median", None}
                    and not re.search(r"surviv", lowered)
                ):
                    # "alive" alone is overall survival; "alive and relapse-free", "in remission and alive"
                    # name another endpoint the plain words cannot tell (the passage reader may).
                    if _QUALIFIED_ALIVE.search(lowered):
                        break
                    if found.group(0).lower() != "alive":  # "died during induction" is no survival rate
                        continue
                    endpoints.extend(_endpoint_iris(index, key))
                    words.append(found.group(0))
                    generic.append((found.start(), found.end()))
                    if endpoints:
                        break
                    continue
                endpoints.extend(_endpoint_iris(index, key))
                if found.group(0) not in words:
                    words.append(found.group(0))
                generic.append((found.start(), found.end()))
                if endpoints:
                    break
    endpoints = list(dict.fromkeys(endpoints))
    spans = [(m.start, m.end) for m in mentions]
    if endpoints:  # plain words that stand for an endpoint the KB holds are understood
        spans.extend(generic)
    for pattern in (catalog.TIME_POINT, catalog.COMPARISON):
        spans.extend((m.start(), m.end()) for m in pattern.finditer(text))
    base: dict[str, Any] = {
        "text": text,
        "mentions": tuple(mentions),
        "trials": trials,
        "unknown_names": unknown,
        "endpoints": tuple(endpoints),
        "endpoint_words": tuple(words),
        "statistic": statistic,
        "time_point_months": months,
        "time_point_text": time_text,
        "comparison": comparison,
        "treatment_phase": phase,
        "count": bool(catalog.COUNT.search(text)),
    }
    kinds = {m.entity.kind for m in mentions if m.entity.in_kb}
    asks_trials = catalog.ASKS_TRIALS.search(text)
    asks_drugs = catalog.ASKS_DRUGS.search(text)
    prop = _property(text, kinds)
    primary = catalog.BY_NAME["primary_endpoint"]
    if primary.cue.search(text):
        prop = primary
    has_endpoint = bool(endpoint_mentions) or (bool(endpoints) and statistic == "hazard ratio")
    stopped_early = catalog.STOPPED_EARLY.search(text)
    if stopped_early:  # a design feature the report states, not the registry's status
        spans.append((stopped_early.start(), stopped_early.end()))
        # "... stopped early because intensive treatment lowered the rate": why it stopped, which the
        # statement's sentence gives, does not change which trial is meant.
        reason = re.compile(r"\s+(?:because|since|due to|owing to|for)\b[^?]*").match(
            text, stopped_early.end()
        )
        if reason:
            spans.append((reason.start(), reason.end()))
    if (
        catalog.YES_NO.search(text)
        and prop is not None
        and prop.name == "registry_status"
        and not stopped_early
    ):
        spans.extend(_cue_spans(prop, text))
        return Question(
            intent="property", prop=prop, yes_no=True, unexplained=tuple(_unexplained(text, spans)), **base
        )
    if catalog.YES_NO.search(text) and not base["count"]:
        spans.extend(_cue_spans(prop, text))
        return Question(intent="yesno", prop=prop, unexplained=tuple(_unexplained(text, spans)), **base)
    if asks_trials and not (
        prop is not None and prop.name == "trial_name" and not (kinds - {"ClinicalTrial"})
    ):
        spans.append((asks_trials.start(), asks_trials.end()))
        spans.extend((m.start(), m.end()) for m in catalog.DESIGN_WORDS.finditer(text))
        if comparison_match:
            spans.append((comparison_match.start(), comparison_match.end()))
        intent = "count_trials" if lowered.startswith("how many") else "list_trials"
        for name, cue in (("targets", catalog.BY_NAME["target"].cue),):
            found = cue.search(text)
            if found and name:
                spans.append((found.start(), found.end()))
        return Question(intent=intent, unexplained=tuple(_unexplained(text, spans)), **base)
    if asks_drugs and kinds & {"MolecularTarget", "DrugClass"} and "Drug" not in kinds:
        spans.append((asks_drugs.start(), asks_drugs.end()))
        return Question(intent="list_drugs", unexplained=tuple(_unexplained(text, spans)), **base)
    bibliographic = {"nct_id", "doi", "first_author", "journal", "date_published", "sponsor", "funders"}
    bibliographic |= {"conducted_by", "trial_name", "primary_endpoint", "phase", "median_age", "age_range"}
    bibliographic |= {"registry_status", "start_date", "completion_date"}
    # "How many patients responded?": a count of an endpoint's patients, not of the trial's.
    counts_endpoint = bool(generic) and bool(endpoints) and base["count"]
    if counts_endpoint and prop is not None and prop.name in catalog.PATIENT_COUNTS:
        spans.extend(generic)
        return Question(intent="outcome", unexplained=tuple(_unexplained(text, spans)), **base)
    if has_endpoint and (prop is None or prop.name not in bibliographic):
        return Question(intent="outcome", unexplained=tuple(_unexplained(text, spans)), **base)
    if prop is not None:
        spans.extend(_cue_spans(prop, text))
        role = "grant" if re.search(r"\bgrants?\b", lowered) else None
        if re.search(r"\bcompan\w*|\bindustry\b|\bpharma\w*|\bcommercial", lowered):
            role = "company"
        return Question(
            intent="property",
            prop=prop,
            role_filter=role,
            unexplained=tuple(_unexplained(text, spans)),
            **base,
        )
    if endpoints:
        return Question(intent="outcome", unexplained=tuple(_unexplained(text, spans)), **base)
    return Question(
        intent="none", reason="the question asks for nothing the knowledge base describes", **base
    )


def _property(text: str, kinds: set[str]) -> PropertySpec | None:
    for spec in catalog.PROPERTIES:
        if spec.needs and not set(spec.needs) & kinds:
            continue
        if set(spec.avoids) & kinds or (spec.unless is not None and spec.unless.search(text)):
            continue
        if spec.name == "marker_status" and not kinds & {"Biomarker", "MolecularTarget"}:
            continue
        if spec.cue.search(text):
            return spec
    if _CLINICALTRIALS.search(text):  # "the ClinicalTrials.gov record" asks for the id when nothing else
        return catalog.BY_NAME["nct_id"]
    return None


def _cue_spans(prop: PropertySpec | None, text: str) -> list[tuple[int, int]]:
    if prop is None:
        return []
    spans = [(m.start(), m.end()) for m in prop.cue.finditer(text)]
    # A word of the property's own name in another form ("enroll" for "enrolled", "randomization" for
    # "randomized") is explained by it, wherever the cue's first alternative ended.
    stems = {fold(w)[:5] for w in re.split(r"[\s_]+", f"{prop.label} {prop.name}") if len(w) >= 5}
    spans += [(start, end) for word, start, end in tokens(text) if len(word) >= 5 and fold(word)[:5] in stems]
    return spans

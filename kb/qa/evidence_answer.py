"""Questions about randomised-trial evidence answered from the KB: an effect estimate (its value, confidence
interval or P value), a value in one arm, an arm's size, an adverse event's frequency in an arm, a dose, and
which arm had more of something. `answer_evidence_question` is the one entry point: it returns None for
questions of other kinds (or when the KB holds nothing that fits), so the general path answers those."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kb.qa.context import QAContext
from kb.qa.evidence_facts import Record, TrialEvidence, load, number_text, words
from kb.qa.model import Answer, AnswerValue, EvidenceSpan

if TYPE_CHECKING:
    from kb.qa.port import QASource

_EFFECT = re.compile(
    r"\b(?P<kind>hazard\s+ratio|rate\s+ratio|odds\s+ratio|risk\s+ratio|relative\s+risk\s+reduction|relative\s+risk|"
    r"(?-i:HR|OR|RR|RRR))\b|"
    r"\b(?P<ci>confidence\s+interval|(?-i:CI))\b|\b(?P<p>P[\s-]?value|p\s*=)",
    re.IGNORECASE,
)
NO_INTERVAL = "the report gives this estimate without a confidence interval; not stated in the sources"
"""An abstention that stands: no other path may answer an interval with the estimate alone."""
_AE = re.compile(r"adverse\s+events?|\bgrade\s+[1-5]|side\s+effects?|toxicit|discontinu", re.IGNORECASE)
_DOSE = re.compile(r"\bdoses?\b|\bdosage\b|\bhow\s+much\b", re.IGNORECASE)
_ROUTE = re.compile(
    r"\broute\b|\bhow\s+(?:was|were|is|are)\b.*\b(?:given|administered|delivered|taken|infused)\b",
    re.IGNORECASE,
)
_VALUE_ASKED = re.compile(r"\b(?:median|mean|rate|percentage|proportion|survival|mortality)\b", re.IGNORECASE)
_COUNT = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_MORE = re.compile(r"\bwhich\s+(?:arm|group)\b.*\b(?:more|higher|fewer|lower|less)\b", re.IGNORECASE)
_KIND_WORDS = {"hazard": "hazard ratio", "rate": "rate ratio", "odds": "odds ratio", "risk": "risk ratio",
               "relative": "risk ratio", "hr": "hazard ratio", "or": "odds ratio", "rr": "risk ratio",
               "relative risk reduction": "relative risk reduction", "rrr": "relative risk reduction"}  # fmt: skip
_GENERIC = words(
    "hazard ratio rate odds risk relative confidence interval ci p value 95 95% daily dose doses percentage "
    "often occur occurred incidence frequency median mean difference more fewer less higher lower greater "
    "common frequent"
)
_TIME_WORDS = frozenset(
    "time day week month year one two three four five six seven eight nine ten twelve eighteen".split()
)
_EXPANSIONS = {
    # An estimate "for progression or death" is the progression-free survival one; "for death" overall survival.
    "mortality": {"death"},
    "death": {"mortality", "overall", "survival"},
    "progression": {"pfs", "free", "survival"},
}


def answer_evidence_question(kb: QASource, context: QAContext, question: str) -> Answer | None:
    """An answer from the KB's evidence nodes of the trial the question names, or None."""
    asks_effect = _EFFECT.search(question)
    asks_ae = _AE.search(question)
    asks_dose = _DOSE.search(question)
    asks_more = _MORE.search(question)
    trial = _trial(context, question)
    if trial is None:
        return None
    evidence = load(kb, context, trial)
    if not evidence.records:
        return None
    arm = _arm(evidence, question)
    if asks_dose:
        return _dose(question, evidence)
    if _ROUTE.search(question):
        routed = _route(question, evidence)
        if routed is not None:
            return routed
    if asks_effect:
        answer = _effect(question, evidence, asks_effect)
        if answer is not None or not (asks_effect.group("p") or asks_ae):
            return answer or Answer.abstain(
                question, "the KB holds no such estimate for this trial; not stated in the sources"
            )
    if asks_more:
        return _which_more(question, evidence)
    if _COUNT.search(question) and arm is not None and not asks_ae:
        # "How many patients in the A group had the primary outcome": the count of an arm's value, when the
        # question names what they had; else the arm's size, or nothing (the whole trial's enrolment is never
        # one arm's count).
        counted = _arm_value(question, evidence, arm, prefer_ae=False, counts=True)
        if counted is not None:
            return counted
        return _arm_count(question, evidence, arm) or Answer.abstain(
            question, "not stated in the sources for this arm"
        )
    if arm is not None:
        answer = _arm_value(question, evidence, arm, prefer_ae=bool(asks_ae))
        per_arm = [r for r in evidence.records if r.kind in {"arm value", "adverse event"}]
        if (
            answer is None
            and len(per_arm) >= 2
            and _VALUE_ASKED.search(question)
            and _topic(question, evidence)
        ):
            # The KB holds this arm's values and none is the one asked: a sentence about another endpoint
            # (or an interval's bound) must not answer it.
            return Answer.abstain(question, "not stated in the sources for this arm")
        return answer
    return None


def _trial(context: QAContext, question: str) -> str | None:
    """The trial named in the question (its longest matching name), or the only trial of the KB."""
    return context.trial_named_in(question)


def _arm_names(evidence: TrialEvidence, iri: str) -> set[str]:
    info = evidence.arms[iri]
    label = info["label"].lower()
    for name in sorted(evidence.names, key=len, reverse=True):
        label = label.replace(name.lower(), " ")
    label = re.sub(r"\b(?:group|arm)\b", " ", label).strip()
    names = {label, *label.split()[:1]}
    others = {d for other, o in evidence.arms.items() if other != iri for d in o["drugs"]}
    names |= {d for d in info["drugs"] if d not in others}
    return {n for n in names if n and n not in {"the", "matching", "matched"}}


def _arm(evidence: TrialEvidence, question: str) -> str | None:
    """The arm the question names ("the placebo group", "LCZ696-treated patients", "intensive-therapy
    participants"), when exactly one arm's name is in it."""
    text = question.lower()
    spans: list[tuple[int, int, str]] = []
    for iri in evidence.arms:
        for name in _arm_names(evidence, iri):
            spans += [
                (m.start(), m.end(), iri) for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", text)
            ]
    # A name inside a longer one is not a mention of its own ("nivolumab" in "the nivolumab-plus-ipilimumab
    # group").
    found = {
        iri
        for start, end, iri in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    }
    return next(iter(found)) if len(found) == 1 else None


def _topic(question: str, evidence: TrialEvidence) -> set[str]:
    """The question's content words that say what is measured (not the trial, arms, or statistic words)."""
    found = words(question) - _GENERIC
    for name in evidence.names:
        found -= words(name)
    for iri in evidence.arms:
        for name in _arm_names(evidence, iri):
            found -= words(name)
    # Numbers and time words say when, not what (the time point is matched on its own).
    return {w for w in found if not re.search(r"\d", w) and w not in _TIME_WORDS}


def _score(topic: set[str], described: str) -> float:
    """How much of what the question asks the description holds, with a small credit for holding little else
    ("death from any cause" before "death from cardiovascular causes" for "death from any cause")."""
    own = words(described)
    have = set(own)
    for word in own:
        have |= _EXPANSIONS.get(word, set())
    if not topic:
        return 0.5
    shared = topic & have
    return len(shared) / len(topic) + 0.1 * len(shared & own) / max(len(own), 1)


def _effect(question: str, evidence: TrialEvidence, cue: re.Match[str]) -> Answer | None:
    kind_text = " ".join((cue.group("kind") or "").lower().split())
    kind_word = kind_text.split()[0] if kind_text else None
    wanted_kind = _KIND_WORDS.get(kind_text) or (_KIND_WORDS.get(kind_word) if kind_word else None)
    topic = _topic(question, evidence) - {"ratio"} - words(kind_text)  # the statistic asked is not its topic
    candidates: list[tuple[float, Record]] = []
    for record in evidence.records:
        if record.kind == "effect":
            if wanted_kind and str(record.fields.get("kind")) != wanted_kind:
                continue
            described = " ".join(str(record.fields.get(k, "")) for k in ("what", "endpoint"))
            score = _score(topic, described)
            if record.fields.get("subgroup") and not (words(str(record.fields["subgroup"])) & topic):
                score -= 0.25  # a subgroup's estimate only when the question names the subgroup
            candidates.append((score, record))
        elif cue.group("p") and record.fields.get("ptext"):
            candidates.append((_score(topic, str(record.fields.get("what", ""))), record))
    candidates = [c for c in candidates if c[0] > 0.44]  # more than a third of the asked words
    if not candidates:
        return None
    candidates.sort(key=lambda c: -c[0])
    best = candidates[0][1]
    rivals = [r for s, r in candidates[1:] if s == candidates[0][0] and _shown(r, cue) != _shown(best, cue)]
    if rivals:
        return None
    if cue.group("ci") and best.kind == "effect" and best.fields.get("lo") is None:
        # The interval is asked and the report gives the estimate without one: the estimate is no answer.
        return Answer.abstain(question, NO_INTERVAL)
    return _answer(
        question, best, evidence, evidence.sparql[best.kind], _shown(best, cue), _values(best, cue)
    )


def _shown(record: Record, cue: re.Match[str]) -> str:
    fields = record.fields
    if cue.group("p") and fields.get("ptext"):
        return str(fields["ptext"])
    if record.kind != "effect":
        return str(fields.get("ptext", ""))
    ci = ""
    if fields.get("lo") is not None:
        level = number_text(fields["level"]) + "% CI" if fields.get("level") is not None else "CI"
        ci = f"{level}, {number_text(fields['lo'], True)} to {number_text(fields['hi'], True)}"
    if cue.group("ci") and ci:
        return ci
    value = (
        f"{number_text(fields['value'])}%"  # a reduction is a percentage, not a ratio's two decimals
        if str(fields.get("kind")) == "relative risk reduction"
        else number_text(fields["value"], True)
    )
    text = f"{fields['kind']} {value}"
    extras = [x for x in (ci, str(fields.get("ptext") or "")) if x]
    return f"{text} ({'; '.join(extras)})" if extras else text


def _values(record: Record, cue: re.Match[str]) -> list[AnswerValue]:
    fields = record.fields
    label = str(fields.get("kind") or fields.get("what") or "")
    if record.kind == "effect" and cue.group("ci") and fields.get("lo") is not None:
        return [
            AnswerValue(float(fields["lo"]), None, f"{label} lower bound"),
            AnswerValue(float(fields["hi"]), None, f"{label} upper bound"),
        ]
    if cue.group("p") and fields.get("p") is not None:
        return [AnswerValue(str(fields.get("ptext")), None, "P value")]
    if record.kind == "effect":
        return [AnswerValue(float(fields["value"]), None, label, _comparison(record))]
    return [AnswerValue(float(fields["value"]), None, label)]


def _comparison(record: Record) -> str | None:
    """ "KEYNOTE-189 A group vs B group": the arms an estimate compares, the trial's name said once."""
    first, second = record.fields.get("experimental"), record.fields.get("comparator")
    if not first or not second:
        return None
    common = len(str(first)) - len(str(first).lstrip())
    prefix = str(first).split(" ", 1)[0]
    second_text = str(second)[len(prefix) + 1 :] if str(second).startswith(prefix + " ") else str(second)
    return f"{first} vs {second_text}"[common:]


def _answer(
    question: str, record: Record, evidence: TrialEvidence, sparql: str, shown: str, values: list[AnswerValue]
) -> Answer:
    subject = (record.arm_label or "") if record.kind != "effect" else None
    trial_label = evidence.trial.rsplit("/", 1)[-1]
    document = record.spans[0].document if record.spans else None
    filled = tuple(
        AnswerValue(v.value, v.unit, v.label, v.subject or subject or trial_label, document) for v in values
    )
    return Answer(question, shown, filled, tuple(record.spans[:1]), sparql, 0.8, intent="evidence")


def _arm_value(
    question: str, evidence: TrialEvidence, arm: str, prefer_ae: bool, counts: bool = False
) -> Answer | None:
    """A value of one arm: an adverse event's percentage, or an endpoint's value (with the time point asked);
    with ``counts``, the number of the arm's patients the value counts ("361 of 1863 patients (19.4%)")."""
    topic = _topic(question, evidence) - _COUNT_WORDS
    if counts and not topic:
        return None  # "how many patients were in the A group": the arm's size, not a value's count
    grade = re.search(
        r"\bgrade\s+(?P<lo>[1-5])(?:\s*(?:or|to|-)\s*(?P<hi>[1-5])|\s+or\s+(?:higher|greater|above))?",
        question,
        re.I,
    )
    day = re.search(r"\b(?:day|week|month)\s+(\d+)\b", question, re.I)
    wanted_time = _asked_time(question)
    candidates: list[tuple[float, Record]] = []
    for record in evidence.records:
        if record.arm != arm or record.kind not in {"adverse event", "arm value"}:
            continue
        if counts and record.fields.get("count") is None:
            continue
        if str(record.fields.get("statistic", "")) == "hazard ratio":
            continue  # a comparison of arms, not a value of this one
        described = " ".join(str(record.fields.get(k, "")) for k in ("what", "endpoint"))
        score = _score(topic - {"grade"} - ({grade.group("lo")} if grade else set()), described)
        if record.kind == "adverse event":
            low = record.fields.get("low")
            if grade and (low is None or int(low) != int(grade.group("lo"))):
                score -= 1
            elif not grade and low is not None:
                score -= 0.25
            score += 0.1 if prefer_ae else 0
        if (
            day
            and record.fields.get("time")
            and not str(record.fields["time"]).startswith(f"P{day.group(1)}")
        ):
            score -= 1
        if record.fields.get("subgroup") and not (words(str(record.fields["subgroup"])) & topic):
            score -= 0.25  # a subgroup's value only when the question names the subgroup
        if wanted_time and record.fields.get("time"):
            score += 0.2 if str(record.fields["time"]) == wanted_time else -1
        candidates.append((score, record))
    candidates = [c for c in candidates if c[0] > 0.6]  # more than half the asked words (plus the tie credit)
    if not candidates:
        return None
    candidates.sort(key=lambda c: -c[0])
    best = candidates[0][1]
    if any(
        s == candidates[0][0] and r.fields.get("value") != best.fields.get("value") for s, r in candidates[1:]
    ):
        return None
    label = str(best.fields.get("what") or best.fields.get("endpoint"))
    if counts:
        count = int(best.fields["count"])
        return _answer(
            question,
            best,
            evidence,
            evidence.sparql[best.kind],
            f"{count} patients",
            [AnswerValue(count, "patients", label)],
        )
    unit = "%" if best.kind == "adverse event" else str(best.fields.get("unit") or "")
    shown = f"{number_text(best.fields['value'])}{unit if unit == '%' else ' ' + _unit_words(unit, best.fields['value'])}".strip()
    label = str(best.fields.get("what") or best.fields.get("endpoint"))
    return _answer(
        question,
        best,
        evidence,
        evidence.sparql[best.kind],
        shown,
        [AnswerValue(float(best.fields["value"]), unit or None, label)],
    )


_COUNT_WORDS = frozenset(
    {"many", "number", "patients", "participants", "people", "had", "have", "experienced"}
)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "twelve": 12}


def _asked_time(question: str) -> str | None:
    """ "three-year overall survival" -> P3Y; "at 18 months" -> P18M."""
    found = re.search(r"\b(\d+|one|two|three|four|five|six|ten|twelve)[- ](year|month)s?\b", question, re.I)
    if found is None:
        return None
    number = found.group(1).lower()
    count = int(number) if number.isdigit() else _NUMBER_WORDS[number]
    return f"P{count}{found.group(2)[0].upper()}"


def _unit_words(unit: str, value: Any) -> str:
    if unit in {"day", "week", "month", "year"}:
        return unit + ("" if float(value) == 1 else "s")
    return unit


def _arm_count(question: str, evidence: TrialEvidence, arm: str) -> Answer | None:
    """An arm's size: analysed when the question says analysis, else randomised (else analysed)."""
    wanted = (
        ["analyzed", "randomized"]
        if re.search(r"analy[sz]|efficacy|safety", question, re.I)
        else ["randomized", "analyzed"]
    )
    for which in wanted:
        for record in evidence.records:
            if record.kind == "arm count" and record.arm == arm and record.fields["which"] == which:
                count = int(record.fields["count"])
                return _answer(
                    question,
                    record,
                    evidence,
                    evidence.sparql["arm count"],
                    str(count),
                    [AnswerValue(count, None, f"{which} count")],
                )
    return None


def _dose(question: str, evidence: TrialEvidence) -> Answer | None:
    """Doses of the drugs the question names."""
    doses = [r for r in evidence.records if r.kind == "dose"]
    named = [
        r
        for r in doses
        if any(
            re.search(rf"(?<![\w-]){re.escape(str(name))}(?![\w-])", question, re.I)
            for name in r.fields.get("drugNames") or (r.fields["drug"],)
        )
    ]
    chosen = named  # no drug named: the general path answers (it knows every drug of the trial, dosed or not)
    if not chosen:
        return None
    parts: list[str] = []
    values: list[AnswerValue] = []
    spans: list[EvidenceSpan] = []
    drugs = {str(r.fields["drug"]).lower() for r in chosen}
    for record in chosen:
        fields = record.fields
        text = f"{number_text(fields['amount'])} {fields['unit']}"
        if len(drugs) > 1:  # several drugs: each dose with its drug and schedule
            text = f"{fields['drug']} {text}" + "".join(
                f" {fields[k]}" for k in ("frequency",) if fields.get(k)
            )
        if text not in parts:
            parts.append(text)
            values.append(
                AnswerValue(
                    float(fields["amount"]),
                    str(fields["unit"]),
                    str(fields["drug"]),
                    record.arm_label,
                    record.spans[0].document if record.spans else None,
                )
            )
            spans.extend(s for s in record.spans[:1] if s not in spans)
    return Answer(
        question,
        "; ".join(parts),
        tuple(values),
        tuple(spans),
        evidence.sparql["dose"],
        0.8,
        intent="evidence",
    )


def _route(question: str, evidence: TrialEvidence) -> Answer | None:
    """How a drug the question names was given (its dose's route: "oral"), or None."""
    records = [
        r
        for r in evidence.records
        if r.kind == "dose"
        and r.fields.get("route")
        and re.search(rf"(?<![\w-]){re.escape(str(r.fields['drug']))}(?![\w-])", question, re.I)
    ]
    routes = list(dict.fromkeys(str(r.fields["route"]) for r in records))
    if len(routes) != 1:
        return None  # none stated, or several that the question does not choose between
    record = records[0]
    value = AnswerValue(routes[0], None, f"route of {record.fields['drug']}", record.arm_label, None)
    return Answer(
        question,
        routes[0],
        (value,),
        tuple(record.spans[:1]),
        evidence.sparql["dose"],
        0.8,
        intent="evidence",
    )


def _which_more(question: str, evidence: TrialEvidence) -> Answer | None:
    """ "Which arm had more grade 3 or higher events?": the arm with the larger value of the best-matching
    adverse event or endpoint, with both values."""
    topic = _topic(question, evidence)
    best: tuple[float, str] | None = None
    groups: dict[str, list[Record]] = {}
    for record in evidence.records:
        if record.kind in {"adverse event", "arm value"} and record.arm:
            described = str(record.fields.get("what") or record.fields.get("endpoint"))
            if record.fields.get("low") is not None:  # grade 3-4 "adverse events" are not those of any grade
                described = f"grade {record.fields['low']} {described}"
            if record.fields.get("subgroup") or record.fields.get("time"):
                described += f" ({record.fields.get('subgroup') or record.fields.get('time')})"
            groups.setdefault(described, []).append(record)
    for described, records in groups.items():
        score = _score(topic, described)
        if len({r.arm for r in records}) == 2 and (best is None or score > best[0]):
            best = (score, described)
    if best is None or best[0] < 1:
        return None  # a comparison only of what the question names, every word of it
    records = groups[best[1]]
    if len(records) != 2:
        return None
    fewer = re.search(r"\b(?:fewer|lower|less)\b", question, re.I) is not None
    chosen = (min if fewer else max)(records, key=lambda r: float(r.fields["value"]))
    others = [r for r in records if r is not chosen]
    if any(float(r.fields["value"]) == float(chosen.fields["value"]) for r in others):
        return None
    shown = (
        f"{chosen.arm_label} ({number_text(chosen.fields['value'])}% vs. "
        + ", ".join(f"{number_text(r.fields['value'])}% in {r.arm_label}" for r in others)
        + ")"
    )
    values = [
        AnswerValue(
            float(r.fields["value"]), "%", best[1], r.arm_label, r.spans[0].document if r.spans else None
        )
        for r in [chosen, *others]
    ]
    spans = tuple(dict.fromkeys(s for r in [chosen, *others] for s in r.spans[:1]))
    return Answer(question, shown, tuple(values), spans, evidence.sparql[chosen.kind], 0.7, intent="evidence")

"""The trial: its name (with group prefix and cohort), NCT id, phase, design features, enrollment years."""

from __future__ import annotations

import bisect
import re
from collections import Counter

from kb.extract.context import Context, entity_for
from kb.ingest import slugify
from kb.models import Entity

# Codes: "E1910", "LAL2317", and capitals with a digit inside ("ASC4FIRST").
_CODE = r"(?:[A-Z]{1,2}\d{3,6}|[A-Z]{3,6}\d{2,6}|[A-Z]{2,5}\d[A-Z]{3,8})[A-Z]?"
_ACRONYM = r"[A-Z][A-Za-z]*[A-Z][A-Za-z]*-(?:[A-Z][a-z]+)?\d{1,3}[a-z]?"
"""Acronyms with a number, also after a word ("ZUMA-3", "DESTINY-Breast01")."""
# Acronym names in capitals ("TOWER", "INO-VATE", "ALPHA-B"): only with trial context, and never a known term.
_CAPITALS = r"[A-Z]{3,}(?:-[A-Z]{2,}|-[A-Z](?![a-z]))?"
# Names in their other real forms, tried first so that the longer name wins: a capitalised word after the
# acronym ("EMPEROR-Reduced"), a number after a space ("CheckMate 227", "KEYNOTE 189"), CamelCase run into
# a number ("IMpower150") and a programme of trials ("SUSTAIN Program").
_WORDED = r"[A-Z]{3,}-[A-Z][a-z]{2,}(?:-[A-Z][a-z]+)?"
_SPACED = r"(?:[A-Z][a-z]+[A-Z][A-Za-z]*|[A-Z]{2,}[a-z]+[A-Za-z]*|[A-Z]{3,})\s\d{1,3}[a-z]?"
_CAMEL = r"[A-Z]+[a-z]+(?:[A-Z][a-z]+)*\d{2,4}[a-z]?"
_PROGRAM = r"[A-Z]{3,}\s+Program(?:me)?"
_CANDIDATE = re.compile(
    rf"(?<![\w-])(?!NCT\d)({_WORDED}|{_SPACED}|{_PROGRAM}|{_CODE}|{_ACRONYM}|{_CAMEL}|{_CAPITALS})(?![\w-])"
)
# Capitalised abbreviations that are not trial names even beside "trial" or "study".
_NOT_NAMES = {
    "FDA",
    "NIH",
    "NCI",
    "USA",
    "EMA",
    "RNA",
    "DNA",
    "THE",
    "AND",
    "FOR",
    "WITH",
    "PHASE",
    "TRIAL",
    "STUDY",
}
_AFTER = re.compile(
    r"\s*(?:\(NCT\d{8}\)|(?:[Cc]ohort\s+\w+\s+)?(?:[Pp]hase\s+[0-9IV/]+[ab]?\s+)?(?:clinical\s+)?(?:trial|study|Trial|Study)\b(?!\w*ies)|[Rr]esults\b|[;,]?\s*ClinicalTrials\.gov|[^.]{0,40}?NCT\d{8})"
)
_BEFORE = re.compile(r"(?:\b[Ss]tudy|\b[Tt]rial|\b[Rr]esults\s+of|\b[Rr]esults\s+from)\s+$")
_COHORT = re.compile(r"\s+[Cc]ohort\s+(\d+|[A-Z])\b")
NCT = re.compile(r"\bNCT\d{8}\b")
_PHASE = re.compile(
    r"\b[Pp]hase\s+(1b?/2|2/3|I/II|II/III|Ib/II|[1-4][ab]?|IV|III|II|I)(?![\w/])(?P<trial>\s+(?:\w+\s+)?(?:trial|study))?"
)
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4", "I/II": "1/2", "II/III": "2/3", "Ib/II": "1b/2"}
_FEATURES = {
    "randomized": r"randomi[sz]ed|randomly assigned",
    "non-randomized": r"non-?randomi[sz]ed",
    "single-arm": r"single[- ](?:arm|group)",
    "multicentre": r"multi-?cent(?:re|er)|multi-?institutional",
    "international": r"international",
    "open-label": r"open[- ]label",
    "double-blind": r"double[- ]blind(?:ed)?",
    "placebo-controlled": r"placebo[- ]controlled",
}
_FEATURE = re.compile(
    r"\b(" + "|".join(f"(?P<f{i}>{p})" for i, p in enumerate(_FEATURES.values())) + r")\b"
    r"(?=(?P<tail>[^.;]{0,60}?\b(?:trial|study)\b(?!\w)))"
)
_STOPPED = re.compile(
    r"\b(?:trial|study|intervention)\s+was\s+(?:stopped|terminated|halted|ended)\s+early\b", re.IGNORECASE
)
"""A trial stopped before its planned end (for benefit, harm or futility), as the report says it."""
_ENROLLMENT_YEARS = re.compile(
    r"\b(?:enroll\w*|recruit\w*|accru\w*|registered|randomi[sz]ed)\b[^.;]{0,120}?\b(?:between|from)\s+(?:\w+\s+)?"
    r"((?:19|20)\d\d)\s+(?:and|to|through|until)\s+(?:\w+\s+)?((?:19|20)\d\d)\b"
)


def _is_lexicon_term(ctx: Context, name: str) -> bool:
    kinds: tuple[str, ...] = ("Drug", "MolecularTarget", "Biomarker", "Disease")
    if re.fullmatch(_CAPITALS, name):
        # A bare capitalised word is a name only when it is nothing the lexicon knows (ALL, MRD, NCTN...).
        if name in _NOT_NAMES:
            return True
        kinds += ("Organization", "Endpoint", "DrugClass", "Journal")
    return any(ctx.lexicon.match_name(kind, name) for kind in kinds)


def _candidates(ctx: Context) -> Counter[str]:
    """Trial-name candidates, scored by how many mentions read as a trial ("ZUMA-3 (NCT...)", "the E1910 trial")."""
    scores: Counter[str] = Counter()
    for passage in ctx.passages(("title", "body", "metadata")):
        text = passage.text
        groups = {(m.start, m.end) for m in ctx.matches(passage, "Organization")}
        for match in _CANDIDATE.finditer(text):
            name = match.group(1)
            if name.startswith("CD") or _is_lexicon_term(ctx, name):
                continue
            before = text[max(0, match.start() - 40) : match.start()]
            after = text[match.end() : match.end() + 60]
            grouped = any(
                end - passage.start in (match.start() - 1, match.start()) for _, end in groups
            ) or bool(re.search(r"[A-Z][\w-]*\s+[Ss]tudy\s+$", before))
            if _AFTER.match(after) or _BEFORE.search(before) or grouped or _COHORT.match(after):
                scores[name] += 2 if passage.section != "metadata" else 1
    return scores


def extract_trial(ctx: Context) -> None:
    """Find the trial the document reports on; sets ``ctx.trial``, ``ctx.trial_name`` and ``ctx.cohort``."""
    scores = _candidates(ctx)
    text = ctx.document.text
    if not scores:
        registry = NCT.search(text)
        if registry is None:
            return
        scores[registry.group(0)] = 1  # a registry id without a name: the id names the trial
    name = _leader(scores, text)
    spans = [(m.start(), m.end()) for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)]
    body_spans = [s for s in spans if _section_of(ctx, s[0]) != "metadata"] or spans
    nct, nct_span = _nct(ctx, body_spans)
    trial = Entity("ClinicalTrial", nct or slugify(name), name)
    ctx.trial, ctx.trial_name, ctx.trial_mentions = trial, name, body_spans
    start, end = body_spans[0]
    if name != nct:
        ctx.add_value(trial, "trialName", name, "string", start, end)
    if nct and nct_span:
        ctx.add_value(trial, "nctId", nct, "string", *nct_span)
    _group_prefixes(ctx, trial, body_spans)
    _cohort(ctx, trial, body_spans)
    _phase(ctx, trial)
    _design(ctx, trial)
    _enrollment_years(ctx, trial)


def _leader(scores: Counter[str], text: str) -> str:
    """The best-scored name, the one written first on a tie. Each later name is looked for only before the
    best position so far: a full search per tied name was quadratic in the text."""
    top = max(scores.values())
    leaders = [name for name, score in scores.items() if score == top]
    best, best_at = leaders[0], text.find(leaders[0])
    for name in leaders[1:]:
        at = text.find(name, 0, best_at + len(name) - 1)  # only an occurrence that starts before best_at
        if at != -1:
            best, best_at = name, at
    return best


def _section_of(ctx: Context, offset: int) -> str:
    passage = ctx.passage_at(offset)
    return passage.section if passage is not None else "body"


def _nct(ctx: Context, spans: list[tuple[int, int]]) -> tuple[str | None, tuple[int, int] | None]:
    """The NCT id nearest after a mention of the trial name (or the most frequent one)."""
    found = [(m.group(0), m.start(), m.end()) for m in NCT.finditer(ctx.document.text)]
    if not found:
        return None, None
    best: tuple[int, str, tuple[int, int]] | None = None
    name_starts = sorted(name_start for name_start, _ in spans)
    for nct, start, end in found:
        # Only the nearest mention before an id can be nearest (found by bisection, not by trying every pair).
        index = bisect.bisect_right(name_starts, start) - 1
        gap = start - name_starts[index] if index >= 0 else -1
        if 0 <= gap < 200 and (best is None or gap < best[0]):
            best = (gap, nct, (start, end))
    if best is not None:
        return best[1], best[2]
    nct = Counter(n for n, _, _ in found).most_common(1)[0][0]
    start, end = next((s, e) for n, s, e in found if n == nct)
    return nct, (start, end)


def _group_prefixes(ctx: Context, trial: Entity, spans: list[tuple[int, int]]) -> None:
    """ "ECOG-ACRIN E1910": a cooperative group right before the name ran the trial."""
    ends = dict(spans)
    for passage in ctx.passages():
        for match in ctx.matches(passage, "Organization"):
            if match.entry.organization_type != "cooperative group":
                continue
            # The name follows after one space or " study ": only those two places are looked at (every
            # mention of the name per group mention, with the text between, was quadratic).
            for start in (match.end + 1, match.end + 7):
                end = ends.get(start)
                if end is None:
                    continue
                gap = ctx.document.text[match.end : start]
                if re.fullmatch(r"\s(?:[Ss]tudy\s)?", gap):
                    if gap == " ":
                        ctx.add_value(
                            trial,
                            "trialName",
                            f"{match.surface} {ctx.trial_name}",
                            "string",
                            match.start,
                            end,
                        )
                    ctx.add(trial, "conductedBy", entity_for(match.entry), match.start, end)


def _cohort(ctx: Context, trial: Entity, spans: list[tuple[int, int]]) -> None:
    text = ctx.document.text
    for start, end in spans:
        match = _COHORT.match(text, end)
        if match:
            cohort_id = match.group(1)
            ctx.cohort = Entity(
                "Cohort", ctx.scoped_key("cohort", cohort_id), f"{trial.label} Cohort {cohort_id}"
            )
            ctx.add(trial, "hasCohort", ctx.cohort, start, match.end())
            return
    ctx.cohort = Entity("Cohort", ctx.scoped_key("participants"), f"{trial.label} participants")
    start, end = spans[0]
    ctx.add(trial, "hasCohort", ctx.cohort, start, end)


def _phase(ctx: Context, trial: Entity) -> None:
    """The trial's phase: phases written as "phase 2 trial/study" win over passing mentions."""
    found: list[tuple[bool, str, int, int]] = []
    for passage in ctx.passages():
        for match in _PHASE.finditer(passage.text):
            raw = match.group(1)
            number = _ROMAN.get(raw, raw)
            found.append(
                (
                    bool(match.group("trial")),
                    number,
                    passage.start + match.start(),
                    passage.start + match.end(),
                )
            )
    if not found:
        return
    preferred = [f for f in found if f[0]] or found
    counts = Counter(f[1] for f in preferred)
    number = counts.most_common(1)[0][0]
    _, _, start, end = next(f for f in preferred if f[1] == number)
    ctx.add_value(trial, "phase", f"Phase {number}", "string", start, end)


def _design(ctx: Context, trial: Entity) -> None:
    """Design features of one trial ("a randomized phase 3 trial"), not of trials in general ("randomized trials")."""
    names = list(_FEATURES)
    for passage in ctx.passages():
        text = passage.text
        for match in _FEATURE.finditer(text):
            if re.search(r"\b(?:trials|studies)\b", match.group("tail")):
                continue
            index = next(i for i in range(len(names)) if match.group(f"f{i}"))
            start = passage.start + match.start()
            ctx.add_value(
                trial, "designFeature", names[index], "string", start, passage.start + match.end("tail")
            )
        stopped = _STOPPED.search(text)
        if stopped:
            start, end = passage.start + stopped.start(), passage.start + stopped.end()
            ctx.add_value(trial, "designFeature", "stopped early", "string", start, end)
        assigned = re.search(
            r"\b(?:were|was)\s+(?:randomly\s+assigned|randomi[sz]ed)\b|\brandomly\s+(?:assigned|allocated)\s+\d",
            text,
        )
        if assigned:
            start, end = passage.start + assigned.start(), passage.start + assigned.end()
            ctx.add_value(trial, "designFeature", "randomized", "string", start, end)


def _enrollment_years(ctx: Context, trial: Entity) -> None:
    for passage in ctx.passages():
        for match in _ENROLLMENT_YEARS.finditer(passage.text):
            ctx.add_value(
                trial,
                "enrollmentStartYear",
                match.group(1),
                "gYear",
                passage.start + match.start(),
                passage.start + match.end(),
            )
            ctx.add_value(
                trial,
                "enrollmentEndYear",
                match.group(2),
                "gYear",
                passage.start + match.start(),
                passage.start + match.end(),
            )
            return

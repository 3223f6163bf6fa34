"""Several trials in one document: each trial the document reports gets the passages that speak of it (from
where it is introduced to where the next one is), plus the passages before any of them and the metadata; a
passage that names two trials belongs to neither, so a fact is never given to the wrong one.

A trial is reported, not merely cited, when it is introduced with its own registry id, or (news items often
give one id, or none) when a sentence naming it and no other trial states its own enrolment ("the DELIVER
trial randomly assigned 6263 patients"). A trial cited in passing ("as in the DAPA-HF trial") does neither."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kb.extract.context import Context
from kb.extract.trial import _CANDIDATE, NCT, _candidates, _cohort, _design, _enrollment_years, _phase
from kb.ingest import slugify
from kb.models import Entity, Passage

_ENROLS = re.compile(
    r"\b(?:randomi[sz]ed|randomly\s+assigned|enroll?ed|recruited|included)\b[^.;]{0,40}?\b\d[\d,]*\s+"
    r"(?:\w+\s+){0,3}?(?:patients|participants|adults|children|people|persons|subjects|women|men|infants)\b"
    r"|\b\d[\d,]*\s+(?:\w+\s+){0,3}?(?:patients|participants|adults|children|people|subjects)\s+(?:were|had\s+been)\s+"
    r"(?:randomi[sz]ed|randomly\s+assigned|enrolled|recruited)\b",
    re.IGNORECASE,
)
"""A sentence stating a trial's own enrolment: "randomly assigned 6263 patients", "enrolled 488 adults",
"2539 adults were randomized"."""
_MOST_UNREGISTERED = 8
"""More trials than this stating their enrolment without an id is a list of studies, read as one report."""
_REACH = 200
"""Characters before a registry id within which a name introduces the trial the id registers."""


@dataclass(frozen=True)
class _Trial:
    names: tuple[str, ...]  # the first is the label
    nct: str | None
    nct_span: tuple[int, int]  # where the id is written, or the name's first mention when it has none


def split_trials(ctx: Context) -> list[Context]:
    """One context per trial when the document reports two or more trials (see the module), else []."""
    trials = _trials(ctx)
    if len(trials) < 2:
        return []
    text = ctx.document.text
    body = [p for p in ctx.document.passages if p.section in ("title", "body")]
    named: dict[str, set[int]] = {}
    for passage in body:
        named[passage.id] = {
            i for i, t in enumerate(trials) if any(_mentions(n, passage.text) for n in t.names)
        }
    starts: list[int] = []
    for index, trial in enumerate(trials):
        intro = next(
            (
                k
                for k, p in enumerate(body)
                if named[p.id] == {index} and p.start <= trial.nct_span[0] and (not starts or k > starts[-1])
            ),
            None,
        )
        if intro is None:
            return []
        starts.append(intro)
    contexts = []
    for index, trial in enumerate(trials):
        end = starts[index + 1] if index + 1 < len(starts) else len(body)
        own = [p for p in body[starts[index] : end] if named[p.id] <= {index}]
        preamble = [p for p in body[: starts[0]] if not named[p.id]]
        scope = frozenset(p.id for p in own + preamble) | {
            p.id for p in ctx.document.passages if p.section == "metadata"
        }
        contexts.append(_context(ctx, trial, scope, own, text))
    return contexts


def _mentions(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def _trials(ctx: Context) -> list[_Trial]:
    """Trials the document reports, in the order it introduces them: those introduced with their own NCT id,
    then those without one that state their own enrolment."""
    text = ctx.document.text
    scores = _candidates(ctx)
    names = list(scores)
    found: list[_Trial] = []
    for match in NCT.finditer(text):
        before = text[max(0, match.start() - _REACH) : match.start()]
        near = [n for n in names if _mentions(n, before)]
        if not near:
            continue
        # The name written closest before the id, with the names it abbreviates ("ACCORD" of "ACCORD-BP").
        closest = max(near, key=lambda n: before.rfind(n))
        group = _group(closest, names, text)
        if any(match.group(0) == t.nct or set(group) & set(t.names) for t in found):
            continue
        found.append(_Trial(tuple(group), match.group(0), (match.start(), match.end())))
    if len(names) - sum(len(t.names) for t in found) < 1 or (not found and len(names) < 2):
        return found  # no name left that could be a second trial (the common case, decided without reading)
    body = [p for p in ctx.document.passages if p.section in ("title", "body")]
    taken = {n for t in found for n in t.names}
    wanted = {n for n in names if n not in taken and scores[n] >= 2}
    seen: set[str] = set()
    # One pass over the passages, each read once for the names it holds: a trial without an id is reported
    # when the first passage naming it and no other trial states an enrolment.
    for passage in body:
        held = {m.group(1) for m in _CANDIDATE.finditer(passage.text)} & set(names)
        if not held:
            continue
        for name in sorted(held & wanted, key=passage.text.find):
            if name in seen or len(held) > 3:  # a sentence listing many names introduces none of them
                continue
            if held - set(_abbreviating(name, held)) or not _ENROLS.search(passage.text):
                continue
            group = _group(name, names, text)
            seen.update(group)
            first = min((m.start(), m.end()) for n in group for m in re.finditer(re.escape(n), passage.text))
            found.append(_Trial(tuple(group), None, (passage.start + first[0], passage.start + first[1])))
    if sum(t.nct is None for t in found) > _MOST_UNREGISTERED:
        found = [t for t in found if t.nct is not None]  # a list of studies (a review), not trial reports
    return sorted(found, key=lambda t: t.nct_span[0])


def _group(name: str, names: list[str], text: str) -> list[str]:
    """``name`` with the names it abbreviates or that abbreviate it ("ACCORD" of "ACCORD-BP"), in text order."""
    return sorted(_abbreviating(name, names), key=lambda n: text.find(n))


def _abbreviating(name: str, names: Iterable[str]) -> list[str]:
    """``name`` and the names it abbreviates or that abbreviate it, among ``names``."""
    return [n for n in names if n == name or n.startswith(name + "-") or name.startswith(n + "-")]


def _context(ctx: Context, trial: _Trial, scope: frozenset[str], own: list[Passage], text: str) -> Context:
    """A context over the trial's passages, its trial entity and name facts set as `extract_trial` would."""
    sub = Context(ctx.document, ctx.lexicon, scope=scope, key_scope=slugify(trial.names[0]))
    entity = Entity("ClinicalTrial", trial.nct or slugify(trial.names[0]), trial.names[0])
    spans = sorted(
        (p.start + m.start(), p.start + m.end())
        for p in own
        for n in trial.names
        for m in re.finditer(rf"(?<![\w-]){re.escape(n)}(?![\w-])", p.text)
    )
    sub.trial, sub.trial_name, sub.trial_mentions = entity, trial.names[0], spans
    for name in trial.names:
        at = next((s for s in spans if text[s[0] : s[1]] == name), None)
        if at is not None:
            sub.add_value(entity, "trialName", name, "string", *at)
    if trial.nct is not None:
        sub.add_value(entity, "nctId", trial.nct, "string", *trial.nct_span)
    _cohort(sub, entity, spans)
    _phase(sub, entity)
    _design(sub, entity)
    _enrollment_years(sub, entity)
    return sub

"""The disease studied, prior conditions of participants, and selection markers (Ph-negative, CD22-positive)."""

from __future__ import annotations

import re

from kb.extract.context import Context, entity_for
from kb.lexicon import LexiconEntry

_PRIOR = re.compile(
    r"\b(?:prior|previous|preceding|history\s+of|pre-?existing|secondary\s+to|earlier)\b[^.;]{0,60}$",
    re.IGNORECASE,
)
_STATUS = re.compile(
    r"\s*(?:chromosome)?\s*(?:[-\u2010\u2011\u2013]\s*|\s+)?(?P<word>negative|positive|negativity|positivity)\b|(?P<sign>[+\u2212-])(?=[\s,)])",
    re.IGNORECASE,
)


def _ancestors(ctx: Context, entry: LexiconEntry) -> set[str]:
    found: set[str] = set()
    current = entry
    while current.broader and current.broader not in found:
        found.add(current.broader)
        parent = ctx.lexicon.get("Disease", current.broader)
        if parent is None:
            break
        current = parent
    return found


def extract_disease(ctx: Context) -> None:
    """Conditions of the trial and cohort (the most specific ones), prior conditions, markers."""
    conditions: list[tuple[LexiconEntry, int, int]] = []
    prior: list[tuple[LexiconEntry, int, int]] = []
    for passage in ctx.passages():
        for match in ctx.matches(passage, "Disease"):
            window = max(passage.start, match.start - 200)  # the cue stands within 60 characters of the name
            cue = _PRIOR.search(ctx.document.text[window : match.start])
            if cue:
                prior.append((match.entry, window + cue.start(), match.end))
            else:
                conditions.append((match.entry, match.start, match.end))
    broader: set[str] = set()
    for entry, _, _ in conditions:
        broader |= _ancestors(ctx, entry)
    prior_keys = {entry.key for entry, _, _ in prior}
    for entry, start, end in conditions:
        if entry.key in broader or (
            entry.key in prior_keys and ctx.trial is not None and entry.key not in _title_keys(ctx)
        ):
            continue
        if ctx.trial is not None:
            ctx.add(ctx.trial, "condition", entity_for(entry), start, end)
        if ctx.cohort is not None:
            ctx.add(ctx.cohort, "condition", entity_for(entry), start, end)
    if ctx.cohort is not None:
        for entry, start, end in prior:
            ctx.add(ctx.cohort, "priorCondition", entity_for(entry), start, end)
        _markers(ctx)


def _title_keys(ctx: Context) -> set[str]:
    return {m.entry.key for p in ctx.passages(("title",)) for m in ctx.matches(p, "Disease")}


def _markers(ctx: Context) -> None:
    """ "Philadelphia chromosome-negative", "Ph-negative", "BCR::ABL1-negative", "CD22 positivity", "Ph+"."""
    assert ctx.cohort is not None
    text = ctx.document.text
    for passage in ctx.passages():
        matches = ctx.matches(passage, "Biomarker") + ctx.matches(passage, "MolecularTarget")
        done: set[tuple[int, int]] = set()
        for match in matches:
            if (match.start, match.end) in done:
                continue  # a span that is both a marker and a target (BCR::ABL1) counts once, as the marker
            status = _STATUS.match(text, match.end, passage.end)
            if not status:
                continue
            done.add((match.start, match.end))
            word = (status.group("word") or "").lower()
            negative = word.startswith("negativ") or status.group("sign") in ("-", "\u2212")
            predicate = "negativeFor" if negative else "positiveFor"
            ctx.add(ctx.cohort, predicate, entity_for(match.entry), match.start, status.end())

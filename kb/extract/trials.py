"""Several trials in one document: each trial named with its own registry id gets the passages that speak of
it (from where it is introduced to where the next one is), plus the passages before any of them and the
metadata; a passage that names two trials belongs to neither, so a fact is never given to the wrong one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.extract.context import Context
from kb.extract.trial import NCT, _candidates, _cohort, _design, _enrollment_years, _phase
from kb.ingest import slugify
from kb.models import Entity, Passage

_REACH = 200
"""Characters before a registry id within which a name introduces the trial the id registers."""


@dataclass(frozen=True)
class _Trial:
    names: tuple[str, ...]  # the first is the label
    nct: str
    nct_span: tuple[int, int]


def split_trials(ctx: Context) -> list[Context]:
    """One context per trial when the document reports two or more trials each with its own NCT id, else []."""
    if len(set(NCT.findall(ctx.document.text))) < 2:
        return []  # one registry id at most: one trial (the common case, decided without reading names again)
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
    """Trials introduced with their own NCT id, in the order the document introduces them."""
    text = ctx.document.text
    names = list(_candidates(ctx))
    found: list[_Trial] = []
    for match in NCT.finditer(text):
        before = text[max(0, match.start() - _REACH) : match.start()]
        near = [n for n in names if _mentions(n, before)]
        if not near:
            continue
        # The name written closest before the id, with the names it abbreviates ("ACCORD" of "ACCORD-BP").
        closest = max(near, key=lambda n: before.rfind(n))
        group = [
            n for n in names if n == closest or n.startswith(closest + "-") or closest.startswith(n + "-")
        ]
        group.sort(key=lambda n: text.find(n))
        if any(match.group(0) == t.nct or set(group) & set(t.names) for t in found):
            continue
        found.append(_Trial(tuple(group), match.group(0), (match.start(), match.end())))
    return found


def _context(ctx: Context, trial: _Trial, scope: frozenset[str], own: list[Passage], text: str) -> Context:
    """A context over the trial's passages, its trial entity and name facts set as `extract_trial` would."""
    sub = Context(ctx.document, ctx.lexicon, scope=scope, key_scope=slugify(trial.names[0]))
    entity = Entity("ClinicalTrial", trial.nct, trial.names[0])
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
    sub.add_value(entity, "nctId", trial.nct, "string", *trial.nct_span)
    _cohort(sub, entity, spans)
    _phase(sub, entity)
    _design(sub, entity)
    _enrollment_years(sub, entity)
    return sub

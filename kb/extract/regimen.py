"""The regimen: drugs in order, with treatment phase, cycles, dose and route; and whether it was chemotherapy-free."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.extract.context import Context
from kb.extract.numbers import NUMBER, parse_int
from kb.models import Entity

LOOKBACK = 300
"""Characters before a drug mention searched for its cycles, phase and route ("up to two induction cycles of
intravenous ..." is under a hundred)."""
LOOKAHEAD = 600
"""Characters after a drug mention searched for its cycles, route and dose (within the clause)."""

_PHASES = r"induction|consolidation|maintenance|intensification|re-?induction|bridging|salvage"
_CYCLES_BEFORE = re.compile(
    rf"(?:(?P<qual>up\s+to|at\s+least|a\s+maximum\s+of|as\s+many\s+as|no\s+more\s+than)\s+)?(?P<n1>{NUMBER})"
    rf"(?:\s*(?:or|to|-|\u2013)\s*(?P<n2>{NUMBER}))?\s+(?:(?P<phase>{_PHASES})\s+)?(?:treatment\s+)?"
    rf"(?:cycles?|courses?|blocks?)\s+of\s+(?:(?P<route>intravenous|subcutaneous|oral)\s+)?$",
    re.IGNORECASE,
)
_CYCLES_TAIL = re.compile(
    r"(?:cycles?|courses?|blocks?)\s+of\s+(?:(?:intravenous|subcutaneous|oral)\s+)?$", re.IGNORECASE
)
"""How `_CYCLES_BEFORE` ends: looked for first, since it is cheap and most drug mentions have no cycles before."""
_CYCLES_AFTER = re.compile(
    rf"^\s+(?:for|over)\s+(?:(?P<qual>up\s+to)\s+)?(?P<n1>{NUMBER})\s+(?:cycles?|courses?)\b", re.I
)
_PHASE_NEAR = re.compile(rf"\b(?P<phase>{_PHASES})\b[^.;]{{0,50}}$", re.IGNORECASE)
_ROUTE_BEFORE = re.compile(r"\b(?P<route>intravenous|subcutaneous|oral)\s+$", re.IGNORECASE)
_ROUTE_AFTER = re.compile(
    r"^[^.;]{0,40}?\b(?:given|administered)\s+(?P<route>intravenously|subcutaneously|orally)\b", re.I
)
_DOSE = re.compile(
    rf"\b(?:at|of)\s+(?:a\s+dose\s+of\s+)?(?P<dose>{NUMBER}\s*(?:micrograms?|\u00b5g|mcg|mg|milligrams?|g)"
    r"(?:\s*/\s*m(?:2|\u00b2)|\s*/\s*kg|\s+per\s+(?:square\s+met(?:er|re)|kilogram|kg|m2))?"
    r"(?:\s*(?:per\s+day|/\s*day|daily|per\s+dose))?)"
    rf"|(?P<cells>{NUMBER}\s*[x\u00d7]\s*10\^?\d+\s+(?:CAR[\s-]?T\s+)?cells\s*(?:per|/)\s*kg)",
    re.IGNORECASE,
)
_ORDER = re.compile(r"^\s*,?\s*(?:followed\s+by|then|and\s+then|before)\s+$", re.IGNORECASE)
_CHEMO_FREE = re.compile(
    r"chemotherapy[\s-]free|without\s+(?:any\s+)?(?:\w+\s+)?chemotherapy|\bno\s+chemotherapy|eschew\w*\s+(?:\w+\s+)?chemotherapy|"
    r"chemotherapy\s+altogether|independent\s+of\s+(?:\w+\s+)?chemotherapy|absent\s+(?:\w+\s+)?chemotherapy|"
    r"instead\s+of\s+(?:\w+\s+)?chemotherapy|replac\w+\s+(?:\w+\s+)?chemotherapy",
    re.IGNORECASE,
)
_WITH_CHEMO = re.compile(
    r"(?:conditioning|consolidation|induction|intensification|lymphodepleting|backbone)\s+chemotherapy|"
    r"chemotherapy\s+(?:program|programme|backbone|cycles?|with\s+or\s+without)|"
    r"\badd\w*\s+[^.;]{0,80}\bto\s+(?:\w+[\s-]+){0,3}chemotherapy|\bplus\s+chemotherapy|combined\s+with\s+chemotherapy|"
    r"in\s+combination\s+with\s+(?:\w+\s+)?chemotherapy",
    re.IGNORECASE,
)


@dataclass
class _Step:
    drug: Entity
    start: int
    end: int
    phase: str | None = None
    min_cycles: int | None = None
    max_cycles: int | None = None
    dose: tuple[str, int, int] | None = None
    route: tuple[str, int, int] | None = None


def extract_regimen(ctx: Context) -> None:
    """Steps (drug, order, phase, cycles, dose, route) and ``chemotherapyFree``."""
    if ctx.trial is None:
        return
    steps = _steps(ctx)
    chemo = _chemotherapy(ctx)
    if not steps and chemo is None:
        return
    regimen = Entity("Regimen", ctx.scoped_key("regimen"), f"{ctx.trial.label} regimen")
    anchor = steps[0] if steps else None
    if anchor is not None:
        ctx.add(ctx.trial, "hasRegimen", regimen, anchor.start, anchor.end)
    if chemo is not None:
        value, start, end = chemo
        if anchor is None:
            ctx.add(ctx.trial, "hasRegimen", regimen, start, end)
        ctx.add_value(regimen, "chemotherapyFree", value, "boolean", start, end)
    for order, step in enumerate(_ordered(ctx, steps), start=1):
        node = Entity(
            "RegimenStep",
            ctx.scoped_key("step", str(order)),
            f"{regimen.label} step {order}: {step.drug.label}",
        )
        ctx.add(regimen, "hasStep", node, step.start, step.end)
        ctx.add_value(node, "stepOrder", order, "integer", step.start, step.end)
        ctx.add(node, "drug", step.drug, step.start, step.end)
        if step.phase:
            ctx.add_value(node, "treatmentPhase", step.phase, "string", step.start, step.end)
        if step.min_cycles is not None:
            ctx.add_value(node, "minCycles", step.min_cycles, "integer", step.start, step.end)
        if step.max_cycles is not None:
            ctx.add_value(node, "maxCycles", step.max_cycles, "integer", step.start, step.end)
        if step.dose:
            ctx.add_value(node, "dose", step.dose[0], "string", min(step.start, step.dose[1]), step.dose[2])
        if step.route:
            ctx.add_value(
                node,
                "route",
                step.route[0],
                "string",
                min(step.start, step.route[1]),
                max(step.end, step.route[2]),
            )


def _steps(ctx: Context) -> list[_Step]:
    text = ctx.document.text
    steps: dict[str, _Step] = {}
    for mention in ctx.drug_mentions:
        passage = ctx.passage_at(
            mention.start
        )  # by bisection: a scan of the passages per mention was quadratic
        if passage is None:
            continue
        # Windows around the mention, not the whole sentence: the patterns read a few words on either side,
        # and searching an end-anchored pattern over the sentence's prefix per mention was quadratic.
        before_start = max(passage.start, mention.start - LOOKBACK)
        before = text[before_start : mention.start]
        after = text[mention.end : min(passage.end, mention.end + LOOKAHEAD)]
        cycles = _CYCLES_BEFORE.search(before) if _CYCLES_TAIL.search(before) else None
        step: _Step | None = None
        if cycles:
            step = _Step(mention.entity, before_start + cycles.start(), mention.end)
            _cycles(step, cycles)
            step.phase = (cycles.group("phase") or "").lower() or None
            if step.phase is None:
                near = _PHASE_NEAR.search(before[: cycles.start()])
                step.phase = near.group("phase").lower() if near else None
            if cycles.group("route"):
                step.route = (
                    cycles.group("route").lower(),
                    before_start + cycles.start("route"),
                    mention.end,
                )
        else:
            later = _CYCLES_AFTER.match(after)
            if later:
                step = _Step(mention.entity, mention.start, mention.end + later.end())
                _cycles(step, later)
        if step is None:
            continue
        clause_end = mention.end + len(re.split(r"[.;]", after, maxsplit=1)[0])
        dose = _DOSE.search(text, mention.end, clause_end)
        if dose:
            group = "dose" if dose.group("dose") else "cells"
            step.dose = (dose.group(group), dose.start(group), dose.end(group))
        route_before = _ROUTE_BEFORE.search(before)
        if step.route is None and route_before:
            step.route = (
                route_before.group("route").lower(),
                before_start + route_before.start(),
                mention.end,
            )
        route_after = _ROUTE_AFTER.match(after)
        if step.route is None and route_after:
            word = route_after.group("route").lower()
            step.route = (
                word[:-2] if word.endswith("ly") else word,
                mention.start,
                mention.end + route_after.end(),
            )
        if mention.entity.key not in steps:
            steps[mention.entity.key] = step
    _unnamed_doses(ctx, steps)
    return list(steps.values())


def _cycles(step: _Step, match: re.Match[str]) -> None:
    first = parse_int(match.group("n1"))
    second = parse_int(match.group("n2")) if "n2" in match.groupdict() and match.group("n2") else None
    qualifier = (match.group("qual") or "").lower()
    if first is None:
        return
    if second is not None:
        step.min_cycles, step.max_cycles = first, second
    elif qualifier.startswith(("up", "a maximum", "as many", "no more")):
        step.max_cycles = first
    elif qualifier.startswith("at least"):
        step.min_cycles = first
    else:
        step.min_cycles = step.max_cycles = first


def _unnamed_doses(ctx: Context, steps: dict[str, _Step]) -> None:
    """ "received a single infusion of 1 x 10^6 CAR T cells per kg": the dose of the trial's only cell therapy."""
    cell_drugs = {m.entity.key: m for m in ctx.drug_mentions if m.entity.key.endswith(("leucel", "cel"))}
    if len(cell_drugs) != 1:
        return
    mention = next(iter(cell_drugs.values()))
    for passage in ctx.passages():
        for match in _DOSE.finditer(passage.text):
            if match.group("cells"):
                start, end = passage.start + match.start("cells"), passage.start + match.end("cells")
                step = steps.setdefault(mention.entity.key, _Step(mention.entity, start, end))
                if step.dose is None:
                    step.dose = (match.group("cells"), start, end)
                return


def _ordered(ctx: Context, steps: list[_Step]) -> list[_Step]:
    """Steps in text order, unless the text says "A followed by B" / "A then B"."""
    order = sorted(steps, key=lambda s: s.start)
    rank: dict[str, int] = {}
    mentions = ctx.drug_mentions
    for first, second in zip(mentions, mentions[1:], strict=False):
        if _ORDER.match(ctx.document.text[first.end : second.start]):
            rank.setdefault(first.entity.key, len(rank))
            rank.setdefault(second.entity.key, len(rank))
    if rank:
        order.sort(key=lambda s: (rank.get(s.drug.key, len(rank)), s.start))
    return order


def _chemotherapy(ctx: Context) -> tuple[bool, int, int] | None:
    for pattern, value in ((_CHEMO_FREE, True), (_WITH_CHEMO, False)):
        for passage in ctx.passages():
            match = pattern.search(passage.text)
            if match:
                return value, passage.start + match.start(), passage.start + match.end()
    return None

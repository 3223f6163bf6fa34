"""Doses: a drug's amount and unit (per body weight or body-surface area), frequency, route and duration,
in their common written forms ("LCZ696 at a dose of 200 mg twice daily", "ribociclib 600 mg once daily on a
3-weeks-on, 1-week-off schedule", "a 200 mg loading dose on day 1, followed by 100 mg once daily")."""

from __future__ import annotations

import re

from kb.extract.context import Context, entity_for
from kb.extract.numbers import decimal_value, parse_number
from kb.models import Entity, Passage

_UNIT = (
    r"(?P<unit>mg|g|\u00b5g|\u03bcg|mcg|ng|IU|units?|mL|ml|mmol|cells)"
    r"(?P<basis>\s*/\s*(?:kg|m2|m\u00b2)|\s+per\s+(?:kilogram|kg)(?:\s+of\s+body\s+weight)?"
    r"|\s+per\s+square\s+met(?:er|re)(?:\s+of\s+body[\s-]surface\s+area)?)?"
)
_AMOUNT = re.compile(
    r"(?:at\s+a\s+(?:daily\s+|target\s+)?dose\s+of\s+|as\s+an?\s+|at\s+|,\s*|\(\s*|\s)?"
    rf"(?P<amount>\d+(?:[.,]\d+)?)\s*{_UNIT}(?![\w/])(?!\s*(?:per|/)\s*(?:deci|milli)?(?:lit|dL|L\b|mL))"
)
_FREQUENCY = re.compile(
    r"^\s*(?:,\s*)?(?P<f>once\s+daily|twice\s+daily|three\s+times\s+daily|(?:once\s+)?(?:a|per)\s+day|daily|once\s+weekly|"
    r"weekly|twice\s+weekly|every\s+\d+\s+(?:days|weeks|hours|months)|every\s+(?:other\s+)?(?:day|week|month)|monthly|once|"
    r"loading\s+dose|single\s+dose)\b",
    re.IGNORECASE,
)
_ROUTE = re.compile(
    r"\b(orally|oral|intravenously|intravenous|subcutaneously|subcutaneous|intramuscularly|infused)\b"
    r"(?:\s+or\s+(orally|intravenously|subcutaneously))?",
    re.I,
)
_DURATION = re.compile(
    r"[^.;]{0,30}?\b(?P<d>for\s+up\s+to\s+[\w-]+(?:\s+more)?\s+(?:days|weeks|months|cycles)|for\s+[\w-]+\s+(?:days|weeks|months|cycles)"
    r"|on\s+an?\s+[\w\s,-]{3,40}?\s+schedule|on\s+days?\s+[\d,\s-]+(?:and\s+\d+)?(?:\s+of\s+(?:each\s+)?[\w-]+\s+cycles?)?)",
    re.IGNORECASE,
)
# The next dose of a list: "followed by 100 mg", "or 420 mg", "(5 mg, 10 mg, or 15 mg)".
_FOLLOWED = re.compile(r"\s*,\s*(?=\d)|[^.;]{0,40}?\b(?:followed\s+by|or|and)\s+(?=\d)")
# A dose written before its drug: "200 mg of pembrolizumab", "a daily dose of 6 mg of dexamethasone".
_BEFORE_DRUG = re.compile(rf"(?P<amount>\d+(?:[.,]\d+)?)\s*{_UNIT}\s+of\s+$")
# What may stand between a drug written after its dose and the dose's frequency ("or placebo", "(Keytruda)").
_BETWEEN = re.compile(r"(?:\s*\([^)]{0,40}\))?(?:\s+or\s+(?:matching\s+)?placebo)?")
_ROUTES = {"orally": "oral", "intravenously": "intravenous", "infused": "intravenous", "subcutaneously": "subcutaneous",
           "intramuscularly": "intramuscular"}  # fmt: skip


def extract_doses(ctx: Context) -> None:
    """Doses written beside a drug anywhere in the trial's passages (arm descriptions are read by `arms`)."""
    if ctx.trial is None:
        return
    for passage in ctx.passages():
        extract_doses_in(ctx, passage, passage.start, passage.end, None)


def extract_doses_in(
    ctx: Context, passage: Passage, start: int, end: int, arm: Entity | None, unnamed: Entity | None = None
) -> None:
    """Doses of the drugs mentioned in ``start:end`` (document offsets), given to ``arm`` when known; with no
    drug named there, the doses are of ``unnamed`` (an arm's product the lexicon lacks, as the arm names it)."""
    drugs = [
        (entity_for(m.entry), m.start, m.end) for m in ctx.matches(passage, "Drug") if start <= m.start < end
    ]
    if not drugs and unnamed is not None:
        drugs = [(unnamed, start, start + len(unnamed.label))]
    text = ctx.document.text
    # Doses written before their drug first ("200 mg of pembrolizumab"): the drug named before such a dose
    # ("pemetrexed plus 200 mg of pembrolizumab") must not take it as its own.
    written_before: set[int] = set()
    for index, drug in enumerate(drugs):
        limit = min(end, drugs[index + 1][1] if index + 1 < len(drugs) else end)
        before = _BEFORE_DRUG.search(text, max(start, drug[1] - 40), drug[1])
        if before is not None:
            written_before.add(index)
            between = _BETWEEN.match(text, drug[2], limit)
            _record(
                ctx, passage, drug, before, limit, arm, frequency_at=between.end() if between else drug[2]
            )
    for index, drug in enumerate(drugs):
        if index not in written_before:
            limit = min(end, drugs[index + 1][1] if index + 1 < len(drugs) else end)
            _doses_after(ctx, passage, drug, limit, arm)


def _doses_after(
    ctx: Context, passage: Passage, drug: tuple[Entity, int, int], limit: int, arm: Entity | None
) -> None:
    text = ctx.document.text
    position = drug[2]
    window_end = min(limit, drug[2] + 80)
    gap = re.search(r"\d+(?:[.,]\d+)?\s*(?:mg|g|\u00b5g|mcg|IU|units?)\b", text[position:window_end])
    if gap is None or re.search(r"[;]|\.\s", text[position : position + gap.start()]):
        return
    position += gap.start() - 1
    while True:
        match = _AMOUNT.match(text, position, limit)
        if match is None:
            return
        _record(ctx, passage, drug, match, limit, arm)
        followed = _FOLLOWED.match(text, match.end(), limit)
        if followed is None:
            return
        position = followed.end() - 1


def _record(
    ctx: Context,
    passage: Passage,
    drug: tuple[Entity, int, int],
    match: re.Match[str],
    limit: int,
    arm: Entity | None,
    frequency_at: int | None = None,
) -> None:
    """Record the dose ``match`` read; its frequency is read after the match, or at ``frequency_at`` for a dose
    written before its drug."""
    assert ctx.trial is not None
    text = ctx.document.text
    amount = parse_number(match.group("amount").replace(",", "."))
    if amount is None or amount <= 0 or match.start("amount") in ctx.dose_spans:
        return
    ctx.dose_spans.add(match.start("amount"))
    unit, basis = match.group("unit"), (match.group("basis") or "").lower()
    unit = {"\u03bcg": "\u00b5g", "mcg": "\u00b5g", "ml": "mL", "unit": "units"}.get(unit, unit)
    basis_name = None
    if "kg" in basis or "kilogram" in basis:
        unit, basis_name = f"{unit}/kg", "body weight"
    elif "m2" in basis or "m\u00b2" in basis or "square" in basis:
        unit, basis_name = f"{unit}/m\u00b2", "body-surface area"
    after_at = frequency_at if frequency_at is not None else match.end()
    after = text[after_at:limit]
    frequency = _FREQUENCY.match(after)
    if frequency is None and re.match(r"^\s*loading\s+dose", after, re.I):
        frequency = re.match(r"^\s*(?P<f>loading\s+dose)", after, re.I)
    tail = after_at + (frequency.end() if frequency else 0)
    duration = _DURATION.match(text, tail, limit)
    owner = arm if arm is not None else ctx.trial
    count = ctx.count("hasDose") + 1  # as added: not a scan of every fact
    entity, drug_start, drug_end = drug
    label = f"{entity.label} {decimal_value(amount)} {unit}"
    if frequency:
        label += f" {frequency.group('f').lower()}"
    dose = Entity("DoseSpecification", ctx.scoped_key("dose", str(count)), label)
    start, end = min(drug_start, match.start("amount")), (duration.end() if duration else tail)
    ctx.add(owner, "hasDose", dose, start, end)
    ctx.add(dose, "doseOf", entity, drug_start, drug_end)
    ctx.add_value(dose, "doseAmount", decimal_value(amount), "decimal", match.start("amount"), match.end())
    ctx.add_value(dose, "doseUnit", unit, "string", match.start("amount"), match.end())
    if basis_name:
        ctx.add_value(dose, "doseBasis", basis_name, "string", match.start("amount"), match.end())
    if frequency:
        ctx.add_value(
            dose, "doseFrequency", re.sub(r"\s+", " ", frequency.group("f").lower()), "string", start, tail
        )
    if duration:
        ctx.add_value(
            dose, "doseDuration", re.sub(r"\s+", " ", duration.group("d")), "string", start, duration.end()
        )
    # The route written in the dose's own clause ("infused intravenously as a 200 mg ..."), not another drug's.
    route = _ROUTE.search(text, max(passage.start, drug_start - 40), limit)
    if route:
        names = [n.lower() for n in route.groups() if n]
        routes = " or ".join(_ROUTES.get(n, n) for n in names)
        ctx.add_value(dose, "doseRoute", routes, "string", start, end)

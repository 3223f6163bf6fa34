"""Arms of a randomised trial from its randomisation sentences: names, roles, allocation ratio, how many were
randomised to each and analysed in each, and the doses given in each arm's description."""

from __future__ import annotations

import re

from kb.extract.context import Context, entity_for
from kb.extract.doses import extract_doses_in
from kb.extract.numbers import NUMBER, parse_int
from kb.extract.outcomes import arm_for, named_groups
from kb.ingest import slugify
from kb.models import Entity, Passage

_PEOPLE = r"(?:patients|participants|adults|subjects|people|women|men|children|persons|individuals)"
_RATIO = re.compile(r"\bin\s+an?\s+(?P<ratio>\d+(?:\s*:\s*\d+)+)\s+ratio\b")
_ASSIGNED = re.compile(r"\b(?:randomly\s+(?:assigned|allocated)|randomi[sz](?:ed|ation)|assigned)\b")
_TO_EITHER = re.compile(
    r"\bto\s+(?:receive\s+)?(?:either\s+)?(?P<a>[^;.]{2,160}?)\s*,?\s+or\s+(?:to\s+)?(?P<b>[^;]{2,160}?)(?=[;.](?!\d)|,\s+(?:in|with|and|stratified|its|after|followed)\b|$)"
)
# How long the randomised treatment lasted: "... or placebo for 72 weeks", "for up to 10 days" (in the
# randomisation sentence, so a follow-up or a dosing cycle elsewhere is not read as it).
_DURATION = re.compile(
    r"[^.;]{0,200}?\b(?:for|over)\s+(?P<d>(?:up\s+to\s+)?\d+\s+(?:days|weeks|months|years))\b(?!\s+(?:after|before|of\s+follow))"
)
_OR_AFTER = re.compile(
    r"\s*,?\s+or\s+(?:to\s+)?(?P<b>[^;]{2,160}?)(?=[;.](?!\d)|,\s+(?:in|with|and|stratified|its|after|followed|including)\b|$)"
)
_COUNTS_TO = re.compile(
    rf"(?P<a>{NUMBER})\s+(?:{_PEOPLE}\s+)?(?:were\s+assigned\s+)?to\s+(?P<x>[\w'\u2019-]+(?:\s+[\w'\u2019-]+){{0,3}}?)\s*,?\s+and\s+"
    rf"(?P<b>{NUMBER})\s+(?:{_PEOPLE}\s+)?to\s+(?P<y>[\w'\u2019-]+(?:\s+[\w'\u2019-]+){{0,3}}?)(?=[;,.)]|$|\s+(?:group|arm))"
)
# An arm's size beside its description: "(334 patients)", or the usual "(n=201)" / "(N = 201)".
_ARM_COUNT = re.compile(rf"\(\s*(?:(?P<n>{NUMBER})\s+{_PEOPLE}|[nN]\s*=\s*(?P<eq>\d[\d,]*))\s*\)")
_ANALYSED = re.compile(
    rf"\b(?:analys[ie]s|population|set)\s+(?:included|comprised|consisted\s+of)\s+(?P<a>{NUMBER})\s+(?:{_PEOPLE}\s+)?in\s+"
    rf"the\s+(?P<x>[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?:group|arm)\s*,?\s+and\s+(?P<b>{NUMBER})\s+(?:{_PEOPLE}\s+)?in\s+"
    rf"the\s+(?P<y>[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?:group|arm)\b"
)
_BREAKDOWN = re.compile(
    rf"(?P<total>{NUMBER})\s+(?:[\w-]+\s+){{0,2}}?{_PEOPLE}\s*\(\s*(?P<a>{NUMBER})\s+(?:{_PEOPLE}\s+)?in\s+"
    rf"the\s+(?P<x>[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?:group|arm)\s*,?\s+and\s+(?P<b>{NUMBER})\s+(?:{_PEOPLE}\s+)?in\s+"
    rf"the\s+(?P<y>[\w-]+(?:\s+[\w-]+){{0,2}}?)\s+(?:group|arm)\s*\)"
)
"""A total broken down by group: "431 patients (286 in the A group and 145 in the B group)"."""
_PLACEBO = re.compile(r"\bplacebo\b", re.IGNORECASE)
_USUAL = re.compile(
    r"\b(?:usual|standard|routine)\s+(?:of\s+)?care\b|\bobservation\b|\bbest\s+supportive\s+care\b|\bno\s+(?:treatment|intervention)\b",
    re.IGNORECASE,
)
_GENERIC = re.compile(
    r"\b(?:the|a|an|matching|to|receive|either|goal|target|strategy|regimen|group|arm|therapy|treatment|only|alone)\b",
    re.IGNORECASE,
)
_CUT = re.compile(
    r"\s+(?:at\s+a\s+dose|at\s+\d|\d|given|administered|once|twice|daily|every|plus|with|in\s+addition|on\s+a|for\s+up|\()|,|\(",
    re.IGNORECASE,
)


_UNDERWENT = re.compile(
    rf"\b(?P<n>{NUMBER})\s+(?:[\w-]+\s+){{0,2}}?{_PEOPLE}\s+(?:underwent|were\s+included\s+in\s+the)\s+randomi[sz]ation\b"
)
_STRUCTURED_PATIENTS = re.compile(
    rf"^\s*(?:Patients|Participants|Population)\s*:\s*(?P<n>\d[\d,]*)\s+(?:[\w-]+\s+){{0,3}}?{_PEOPLE}\b"
)
"""A structured summary's "Patients: 668 postmenopausal women with ..."."""


def extract_arms(ctx: Context) -> None:
    """Arms, roles, allocation ratio and per-arm counts of the trial's randomisation sentences."""
    if ctx.trial is None:
        return
    for passage in ctx.passages():
        text = passage.text
        if ctx.cohort is not None:
            for pattern, predicate in (
                (_UNDERWENT, "randomizedCount"),
                (_STRUCTURED_PATIENTS, "enrolledCount"),
            ):
                found = pattern.search(text)
                count = parse_int(found.group("n")) if found else None
                if found and count:
                    start, end = passage.start + found.start(), passage.start + found.end()
                    ctx.add_value(ctx.cohort, predicate, count, "integer", start, end)
        assigned = _ASSIGNED.search(text)
        ratio = _RATIO.search(text)
        if ratio and assigned:
            value = re.sub(r"\s+", "", ratio.group("ratio"))
            ctx.add_value(
                ctx.trial,
                "allocationRatio",
                value,
                "string",
                passage.start + ratio.start(),
                passage.start + ratio.end(),
            )
        if assigned:
            duration = _DURATION.search(text, assigned.end())
            if duration:
                ctx.add_value(
                    ctx.trial,
                    "treatmentDuration",
                    re.sub(r"\s+", " ", duration.group("d")),
                    "string",
                    passage.start + duration.start("d"),
                    passage.start + duration.end("d"),
                )
            _counts_to(ctx, passage)
            _either(ctx, passage, assigned.end())
        elif re.match(r"^\s*(?:Interventions?|Treatments?|Arms?)\s*:", text):
            # A structured summary's "Interventions: A (334 patients), or B (334 patients)".
            _either(ctx, passage, text.index(":") + 1, listed=True)
        _analysed(ctx, passage)


def _arm_name(ctx: Context, passage: Passage, phrase: str, start: int, other: str) -> str | None:
    """The short name of an arm phrase: 'placebo', the first drug the other arm lacks, or the phrase's
    distinctive words ('intensive' of 'the intensive goal')."""
    named = re.search(r"\(\s*(?:the\s+)?(?P<name>[\w-]+(?:\s+[\w-]+){0,2}?)\s+(?:group|arm)\s*\)", phrase)
    if named:  # "venetoclax (venetoclax group)": the document's own name for the arm
        return named.group("name").lower()
    either = re.search(r"\beither\s+", phrase)
    if either:  # "azacitidine plus either venetoclax ... or placebo": what differs follows "either"
        start, phrase = start + either.end(), phrase[either.end() :]
    if _PLACEBO.search(phrase):
        return _known_group(ctx, "placebo")
    drugs = [m for m in ctx.matches(passage, "Drug") if start <= m.start < start + len(phrase)]
    other_drugs = {m.entry.key for m in ctx.matches(passage, "Drug") if m.surface.lower() in other.lower()}
    for drug in drugs:
        if drug.entry.key not in other_drugs:
            return _known_group(ctx, drug.surface.lower())
    usual = _USUAL.search(phrase)
    if usual:
        return usual.group(0).lower()
    head = _CUT.split(phrase, maxsplit=1)[0]
    words = [w for w in re.split(r"\s+", _GENERIC.sub(" ", head)) if w]
    if not words or len(words) > 3:
        return None
    return " ".join(words).lower()


def _known_group(ctx: Context, name: str) -> str:
    """The group the document itself names with these words ("pembrolizumab-combination" for "pembrolizumab"),
    when exactly one does; else the name."""
    words = set(re.split(r"[\s-]+", name))
    found = [g for g in named_groups(ctx) if words <= set(re.split(r"[\s-]+", g))]
    return found[0] if len(found) == 1 else name


def _role(name: str, phrase: str, position: int) -> str:
    if (
        name == "placebo"
        or _PLACEBO.search(name)
        or re.match(r"\s*(?:matching\s+|matched\s+)?placebo\b", phrase, re.I)
    ):
        return "PlaceboComparatorArm"
    if _USUAL.search(phrase):
        return "UsualCareArm"
    return "ExperimentalArm" if position == 0 else "ActiveComparatorArm"


def _set_role(ctx: Context, arm: Entity, role: str, start: int, end: int) -> None:
    """An arm's role, as first stated (a later sentence naming the arm again does not change it)."""
    if arm not in ctx.arm_roles:
        ctx.arm_roles[arm] = role
        ctx.add(arm, "armRole", Entity("Concept", role, role), start, end)


def _make_arm(
    ctx: Context,
    passage: Passage,
    name: str,
    phrase: str,
    position: int,
    start: int,
    end: int,
    role: str | None = None,
) -> Entity:
    arm = arm_for(ctx, name, "group", start, end, passage)
    role = role or _role(name, phrase, position)
    _set_role(ctx, arm, role, start, end)
    drugs = [m for m in ctx.matches(passage, "Drug") if start <= m.start and m.end <= end]
    for match in drugs:
        ctx.add(arm, "intervention", entity_for(match.entry), start, end)
    unnamed = None
    if (
        not drugs
        and role in {"ExperimentalArm", "ActiveComparatorArm"}
        and re.match(r"[A-Za-z][\w-]*\d", phrase)
    ):
        # A product the lexicon lacks, named by its code ("LCZ696"): a drug of its own, as written.
        written = re.match(r"[\w-]+", phrase)
        if written:
            unnamed = Entity("Drug", slugify(written.group(0)), written.group(0))
            ctx.add(arm, "intervention", unnamed, start, start + len(written.group(0)))
            ctx.add(ctx.trial, "intervention", unnamed, start, start + len(written.group(0)))  # type: ignore[arg-type]
    extract_doses_in(ctx, passage, start, end, arm, unnamed)
    return arm


def _either(ctx: Context, passage: Passage, after: int, listed: bool = False) -> None:
    """ "randomly assigned ... to A at a dose of ... or B ...": two arms, their doses and stated sizes."""
    text = passage.text
    if listed:
        parts = re.split(r"\)\s*,?\s*(?:or|and|versus|vs\.?)\s+", text[after:], maxsplit=1)
        if len(parts) != 2:
            return
        a_start = after + len(text[after:]) - len(text[after:].lstrip())
        a_end = after + len(parts[0]) + 1
        b_start = text.index(parts[1], a_end)
        spans = [(a_start, a_end), (b_start, len(text.rstrip(". ")))]
    else:
        # The first "to A or B" after the verb whose two sides name arms ("to the intensive goal (N) or the
        # standard goal (M)", not "130 to 180 mm Hg").
        match = None
        for to in re.finditer(r"\bto\s", text[after : after + 300]):
            candidate = _TO_EITHER.match(text, after + to.start())
            if candidate is None:
                continue
            sides = [candidate.group("a"), candidate.group("b")]
            if re.match(r"\d", sides[0]) or re.search(r"\bwith$", sides[0].strip()):
                continue  # "130 to 180 mm Hg"; "to chemotherapy with or without X" names no two arms
            match = candidate
            break
        if match is None:
            return
        spans = [(match.start("a"), match.end("a")), (match.start("b"), match.end("b"))]
        if match.group("a").count("(") > match.group("a").count(")"):
            # "to tirzepatide (5 mg, 10 mg, or 15 mg) or placebo": the "or" inside the parenthesis lists
            # doses; the arms' "or" follows it.
            close = text.find(")", match.end("a"))
            again = _OR_AFTER.match(text, close + 1) if close != -1 else None
            if again is None:
                return
            spans = [(match.start("a"), close + 1), (again.start("b"), again.end("b"))]
    if not listed:
        items = _list_items(text, spans[0])
        if len(items) >= 2 and _many(ctx, passage, [*items, spans[1]]):
            return  # "to A, B, or C": three arms or more
    phrases = [text[s:e] for s, e in spans]
    if not listed and _dose_arms(ctx, passage, spans):
        return  # "to tirzepatide (5 mg, 10 mg, or 15 mg) or placebo in a 1:1:1:1 ratio": an arm per dose
    names = [
        _arm_name(ctx, passage, phrases[i], passage.start + spans[i][0], phrases[1 - i]) for i in range(2)
    ]
    if None in names or names[0] == names[1]:
        return
    for position, ((s, e), name, phrase) in enumerate(zip(spans, names, phrases, strict=True)):
        assert name is not None
        arm = _make_arm(ctx, passage, name, phrase, position, passage.start + s, passage.start + e)
        count = _ARM_COUNT.search(phrase)
        if count:
            number = parse_int(count.group("n") or count.group("eq"))
            if number:
                ctx.add_value(arm, "randomizedCount", number, "integer", passage.start + s, passage.start + e)


_DOSE_AMOUNT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg|g|\u00b5g|mcg|mg/kg|mg/m2)(?![\w/])")


def _dose_arms(ctx: Context, passage: Passage, spans: list[tuple[int, int]]) -> bool:
    """A dose-ranging randomisation: one side gives one drug at several doses, and the allocation ratio has
    a part for each dose and one for the other side. Each dose becomes an experimental arm of its own
    ("tirzepatide 5 mg"); False (nothing made) for any other randomisation."""
    text = passage.text
    ratio = _RATIO.search(text)
    if ratio is None:
        return False
    parts = len(re.findall(r"\d+", ratio.group("ratio")))
    for side in (0, 1):
        start, end = spans[side]
        amounts = [m for m in _DOSE_AMOUNT.finditer(text, start, end)]
        drugs = {
            m.entry.key: m
            for m in ctx.matches(passage, "Drug")
            if passage.start + start <= m.start < passage.start + end
        }
        if len(amounts) < 2 or len(drugs) != 1 or parts != len(amounts) + 1:
            continue
        drug = next(iter(drugs.values()))
        for amount in amounts:
            name = f"{drug.surface.lower()} {amount.group(1)} {amount.group(2)}"
            arm_start, arm_end = drug.start, passage.start + amount.end()
            arm = arm_for(ctx, name, "group", arm_start, arm_end, passage)
            _set_role(ctx, arm, "ExperimentalArm", arm_start, arm_end)
            ctx.add(arm, "intervention", entity_for(drug.entry), drug.start, drug.end)
        other_start, other_end = spans[1 - side]
        other = text[other_start:other_end]
        other_name = _arm_name(ctx, passage, other, passage.start + other_start, text[start:end])
        if other_name is not None:
            _make_arm(
                ctx, passage, other_name, other, 1, passage.start + other_start, passage.start + other_end
            )
        return True
    return False


def _list_items(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """The comma-separated items of an arm list's first side ("A alone, A plus B"), outside parentheses."""
    items: list[tuple[int, int]] = []
    depth, begin = 0, span[0]
    for index in range(span[0], span[1]):
        char = text[index]
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append((begin, index))
            begin = index + 1
            while begin < span[1] and text[begin] == " ":
                begin += 1
    items.append((begin, span[1]))
    return [(a, b) for a, b in items if b > a]


def _many(ctx: Context, passage: Passage, spans: list[tuple[int, int]]) -> bool:
    """Three arms or more from a list ("to nivolumab alone, nivolumab plus ipilimumab, or ipilimumab alone"):
    each named by its drugs (or placebo, usual care); the control is the placebo or usual-care arm, else the
    arm named last. Nothing is made (False) unless every item names its arm distinctly."""
    text = passage.text
    names: list[str] = []
    controls: list[str | None] = []
    for start, end in spans:
        phrase = text[start:end]
        if _PLACEBO.search(phrase):
            names.append(_known_group(ctx, "placebo"))
            controls.append("PlaceboComparatorArm")
            continue
        usual = _USUAL.search(phrase)
        if usual:
            names.append(usual.group(0).lower())
            controls.append("UsualCareArm")
            continue
        drugs = [
            m.surface.lower()
            for m in ctx.matches(passage, "Drug")
            if passage.start + start <= m.start < passage.start + end
        ]
        if not drugs:
            return False
        names.append(_known_group(ctx, " plus ".join(dict.fromkeys(drugs))))
        controls.append(None)
    if len(set(names)) != len(names):
        return False
    has_control = any(controls)
    for position, ((start, end), name, control) in enumerate(zip(spans, names, controls, strict=True)):
        role = control or (
            "ActiveComparatorArm" if not has_control and position == len(spans) - 1 else "ExperimentalArm"
        )
        phrase = text[start:end]
        arm = _make_arm(
            ctx, passage, name, phrase, position, passage.start + start, passage.start + end, role=role
        )
        count = _ARM_COUNT.search(phrase)
        if count:
            number = parse_int(count.group("n") or count.group("eq"))
            if number:
                ctx.add_value(
                    arm, "randomizedCount", number, "integer", passage.start + start, passage.start + end
                )
    return True


def _counts_to(ctx: Context, passage: Passage) -> None:
    """ "1062 patients were randomly assigned ..., 541 to remdesivir and 521 to placebo"."""
    for match in _COUNTS_TO.finditer(passage.text):
        first, second = parse_int(match.group("a")), parse_int(match.group("b"))
        if not first or not second:
            continue
        phrases = [match.group("x"), match.group("y")]
        starts = [passage.start + match.start("x"), passage.start + match.start("y")]
        names = [_arm_name(ctx, passage, phrases[i], starts[i], phrases[1 - i]) for i in range(2)]
        if None in names or names[0] == names[1]:
            continue
        start, end = passage.start + match.start(), passage.start + match.end()
        for position, (name, phrase, count) in enumerate(zip(names, phrases, (first, second), strict=True)):
            assert name is not None
            side = "xy"[position]
            arm_start, arm_end = passage.start + match.start(side), passage.start + match.end(side)
            arm = _make_arm(ctx, passage, name, phrase, position, arm_start, arm_end)
            ctx.add_value(arm, "randomizedCount", count, "integer", start, end)


def _analysed(ctx: Context, passage: Passage) -> None:
    """ "the efficacy analyses included 4187 patients in the A group and 4212 in the B group"; a total broken
    down by group (randomised for an intention-to-treat population, else analysed) when the parts add up."""
    for match in _BREAKDOWN.finditer(passage.text):
        total, first, second = (parse_int(match.group(g)) for g in ("total", "a", "b"))
        if not total or not first or not second or first + second != total:
            continue
        before = passage.text[max(0, match.start() - 80) : match.start()]
        randomised = re.search(r"intention[- ]to[- ]treat|randomi[sz]", before, re.IGNORECASE)
        predicate = "randomizedCount" if randomised else "analyzedCount"
        start, end = passage.start + match.start(), passage.start + match.end()
        for side, size in (("x", first), ("y", second)):
            arm = arm_for(ctx, match.group(side).lower(), "group", start, end, passage)
            ctx.add_value(arm, predicate, size, "integer", start, end)
    for match in _ANALYSED.finditer(passage.text):
        start, end = passage.start + match.start(), passage.start + match.end()
        for side, number in (("x", match.group("a")), ("y", match.group("b"))):
            count = parse_int(number)
            if not count:
                continue
            arm = arm_for(ctx, match.group(side).lower(), "group", start, end, passage)
            ctx.add_value(arm, "analyzedCount", count, "integer", start, end)

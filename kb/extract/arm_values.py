"""Per-arm values of a randomised trial: an endpoint's (or an adverse event's) value in each arm, read from
the ways reports pair them ("14.0% vs. 9.2%", "11.4% and 15.2%, respectively", "in 914 patients (21.8%)
in the A group and in 1117 patients (26.5%) in the B group", "24.6% ... who received A"), with the P value
of the comparison. A value whose arm cannot be told is left out rather than given to the wrong arm."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from kb.extract.context import Context, entity_for
from kb.extract.effects import P_VALUE, PRIMARY, SUBGROUP, clause_start, masked, parse_p, statistics_spans
from kb.extract.numbers import decimal_value, parse_int, parse_number, unit_name
from kb.models import Entity, Passage

_VALUE = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>%|percent\b|(?:days?|weeks?|months?|years?)\b)(?P<rate>\s+per\s+year|\s+per\s+100\s+\w+(?:-\w+)?)?"
)
_ROW = re.compile(
    r"^\s*(?P<term>[A-Za-z][^:]{1,80}):\s*\d+(?:\.\d+)?\s*%\s*(?:vs\.?|versus)\s*\d+(?:\.\d+)?\s*%\s*$"
)
_VERSUS = re.compile(r"^\s*(?:\)\s*)?(?:vs\.?|versus)\s*$")
_AE_CUE = re.compile(
    r"adverse|toxicit|side\s+effect|safety|tolerab|\bgrade\s+[1-5]|neutropenia|thrombocytopenia|anemia|anaemia|"
    r"nausea|vomiting|diarrh|fatigue|rash|hypotension|syncope|angioedema|cough|hyperkalemia|infection",
    re.IGNORECASE,
)
_GRADE = re.compile(
    r",?\s*(?:of\s+)?grade\s+(?P<lo>[1-5])(?:\s*(?:or|to|-|\u2013|and)\s*(?P<hi>[1-5])|\s+or\s+(?:higher|greater|above|more)(?P<up>))?\s*,?",
    re.IGNORECASE,
)
_ANY_GRADE = re.compile(r"\s*of\s+any\s+grade\b", re.IGNORECASE)
_TERM_END = re.compile(
    r"\s+(?:occurred|was|were|is|are|had|has|developed|reported|recorded|in\s+the|with|among|by\s+day)\b|\s+in\s+\d|,\s+(?:a|an|the|which)\s|[;(:]"
)
_LEAD = re.compile(
    r"^(?:[,\s]*(?:and|but|while|whereas|or|also|the|a|an|other|overall,|(?:among|in)\s+(?:patients|participants|those)\b[^,(]{0,80}(?:,|$)|at\s+[^,]{3,60},|at\s+(?:week|day|month)\s+\d+)\s+)+",
    re.IGNORECASE,
)
_DIED_AFTER = re.compile(
    r"\bdied\b(?:\s+(?P<cause>from\s+[a-z][a-z\s-]{2,40}?))?(?=\s*[(,;.]|\s+(?:within|by|at|in)\b|$)"
)
_VERB_NOUNS = {"recovered": "recovery", "died": "death", "responded": "response", "relapsed": "relapse"}
_TIME = re.compile(
    r"\b(?:by|at|through)\s+(?P<unit>day|week|month)\s+(?P<n>\d+)\b|\bat\s+(?P<n2>\d+)\s+(?P<unit2>months|years|weeks)\b",
    re.I,
)


@dataclass(frozen=True)
class _Found:
    number: Decimal
    unit: str
    start: int  # offsets into the passage text
    end: int


def extract_arm_values(ctx: Context) -> None:
    """Per-arm values of a trial with two arms of known roles."""
    arms = list(ctx.arm_roles)
    if ctx.trial is None or len(arms) < 2:
        return
    if len(arms) > 2:
        for passage in ctx.passages():
            _read_many(ctx, passage, arms)
        return
    section = ""
    order: list[Entity] | None = None
    for passage in ctx.passages():
        header = re.match(r"^\s*([A-Z][\w\s,+./-]{2,120}?):\s*", passage.text)
        if _ROW.match(passage.text):
            header = (
                None  # a table row ("Neutropenia, grade 3 or 4: 59.3% vs. 0.9%") keeps its table's header
            )
        if header and passage.text.rstrip().endswith(":"):
            section, order = header.group(1).lower(), _stated_order(ctx, passage.text, arms)
        elif header:
            section, order = header.group(1).lower(), None
        _read(ctx, passage, arms, section, order)


def _arm_names(ctx: Context, arm: Entity) -> list[str]:
    """Words that name an arm: its short name, and its drugs' names."""
    name = arm.key.split("-arm-", 1)[-1].replace("-", " ")
    names = [name, *name.split()[:1]]
    drugs: dict[Entity, set[Entity]] = {}
    for fact in ctx.facts:
        if (
            fact.predicate == "intervention"
            and fact.subject.kind == "Arm"
            and isinstance(fact.object, Entity)
        ):
            drugs.setdefault(fact.object, set()).add(fact.subject)
    for drug, holders in drugs.items():
        if holders == {arm}:  # a drug of both arms (background therapy) names neither
            names.append(drug.label.lower())
            entry = ctx.lexicon.get("Drug", drug.key)
            names += [s.lower() for s in (entry.synonyms if entry else ())]
    return [n for n in dict.fromkeys(names) if n and n not in {"the", "matching", "matched"}]


def _mentions(ctx: Context, text: str, arms: list[Entity]) -> list[tuple[int, Entity]]:
    """Where each arm is named in ``text`` (position, arm), in order; a name shared by both arms is no mention."""
    found: list[tuple[int, Entity]] = []
    names = {arm: _arm_names(ctx, arm) for arm in arms}
    for arm in arms:
        others = {n for other in arms if other != arm for n in names[other]}
        for name in names[arm]:
            if name in others:
                continue
            for match in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w])", text, re.IGNORECASE):
                found.append((match.start(), arm))
    return sorted(found, key=lambda f: f[0])


def _stated_order(ctx: Context, text: str, arms: list[Entity]) -> list[Entity] | None:
    """ "..., A + letrozole vs. B + letrozole:": the arms in the order a table's columns give them."""
    versus = re.search(r"\b(?:vs\.?|versus)\s", text)
    if versus is None:
        return None
    before = _mentions(ctx, text[: versus.start()], arms)
    after = _mentions(ctx, text[versus.end() :], arms)
    if before and after and before[-1][1] != after[0][1]:
        return [before[-1][1], after[0][1]]
    return None


def _values(text: str) -> list[_Found]:
    skip = statistics_spans(text)
    found = []
    for match in _VALUE.finditer(text):
        if any(a <= match.start() < b for a, b in skip):
            continue
        number = parse_number(match.group("n"))
        if number is None:
            continue
        # "-15.0%", "(\u22123.1%)": a change below zero; never the dash of a range ("5-10%").
        start = match.start()
        if start >= 1 and text[start - 1] in "-\u2212" and (start == 1 or text[start - 2] in " (["):
            number, start = -number, start - 1
        unit = match.group("u")
        unit = "%" if unit.startswith(("%", "percent")) else unit_name(unit)
        if match.group("rate") and "year" in match.group("rate"):
            unit = "%/year" if unit == "%" else unit
        found.append(_Found(number, unit, start, match.end()))
    return found


_AFTER_ARM = (
    r"^\s*\)?\s*(?:\([^)]*\)\s*)?(?:(?:in|with|among|for|on)\s+(?:the\s+)?"
    r"(?:patients\s+(?:in|receiving|given|treated\s+with|assigned\s+to)\s+(?:the\s+)?)?"
    r"|(?:receiving|given|treated\s+with|assigned\s+to)\s+(?:the\s+)?)"
)
"""After a value, the arm it is of: "(21.8%) in the A group", "with A", "(17.0%) receiving A"."""
_AFTER_OF = r"^\s*\)?\s*(?:\([^)]*\)\s*)?of\s+(?:the\s+)?(?:(?:patients|participants|those)\s+(?:in\s+the|receiving|given|treated\s+with)\s+|)"


def _arm_after(ctx: Context, text: str, value: _Found, limit: int, arms: list[Entity]) -> Entity | None:
    window = text[value.end : limit]
    for prefix in (_AFTER_ARM, _AFTER_OF):
        head = re.match(prefix, window, re.IGNORECASE)
        if head is None:
            continue
        mentions = _mentions(ctx, window[head.end() : head.end() + 40], arms)
        if mentions and mentions[0][0] == 0:
            return mentions[0][1]
    return None


def _arm_before(ctx: Context, text: str, value: _Found, floor: int, arms: list[Entity]) -> Entity | None:
    window = text[floor : value.start]
    if not re.search(r"\(\s*$", window):
        return None
    mentions = _mentions(ctx, window, arms)
    if not mentions:
        return None
    position, arm = mentions[-1]
    between = window[position:]
    # The arm must close the phrase the value belongs to ("... who received A (", "N A recipients (").
    if re.search(r"\d", between) or len(between) > 45:
        return None
    return arm


def _read(
    ctx: Context, passage: Passage, arms: list[Entity], section: str, order: list[Entity] | None
) -> None:
    text = passage.text
    values = _values(text)
    if not values:
        return
    attributed: dict[int, Entity] = {}
    default = order or _default_order(ctx, arms)
    # "22.6% with A vs. 23.9% with B; serious adverse events, 1.6% vs. 6.6%": the first pair names its arms,
    # and the bare pairs after it keep that order (not the order of the last arm named).
    explicit: dict[int, list[Entity]] = {}
    for index in range(len(values) - 1):
        limit = values[index + 2].start if index + 2 < len(values) else len(text)
        first_arm = _arm_after(ctx, text, values[index], values[index + 1].start, arms)
        second_arm = _arm_after(ctx, text, values[index + 1], limit, arms)
        between = text[values[index].end : values[index + 1].start]
        if first_arm and second_arm and first_arm != second_arm and re.search(r"\bvs\.?|\bversus\b", between):
            explicit[index] = [first_arm, second_arm]
    # Pairs first: "a% vs. b%" and "a% and b%, respectively" give both arms at once, in a stated order.
    for index in range(len(values) - 1):
        first, second = values[index], values[index + 1]
        per_year = {first.unit, second.unit} == {"%", "%/year"}  # "0.32% vs. 0.53% per year"
        if index in attributed or (first.unit != second.unit and not per_year):
            continue
        between = text[first.end : second.start]
        versus = re.fullmatch(r"\s*(?:\)\s*)?(?:vs\.?|versus)\s*(?:\d+\s+\w+\s*\()?", between)
        respectively = re.fullmatch(r"\s*\)?\s*and\s+(?:\d[\d,]*\s+\w+\s*\()?", between) and re.search(
            r"\brespectively\b", text
        )
        if not (versus or respectively):
            continue
        pair = default
        before = _mentions(ctx, text[: first.start], arms)
        stated = [pair for at, pair in explicit.items() if at < index]
        if versus and stated and order is None:
            pair = stated[-1]
        elif versus and before and order is None:
            lead = _lead(text[: first.start], before)
            pair = [lead, next(a for a in arms if a != lead)]
            than = list(re.finditer(r"\bthan\b", text[: first.start]))
            if than and not any(arm == pair[1] for position, arm in before if position > than[-1].start()):
                continue  # "higher than imatinib within the imatinib stratum": not the other arm
        attributed[index], attributed[index + 1] = pair[0], pair[1]
    for index, value in enumerate(values):
        if index in attributed:
            continue
        limit = values[index + 1].start if index + 1 < len(values) else len(text)
        floor = values[index - 1].end if index else 0
        arm = _arm_after(ctx, text, value, limit, arms) or _arm_before(ctx, text, value, floor, arms)
        if arm is None and not any(i < index for i in attributed):
            arm = _subject_arm(ctx, text, value, floor, arms)
        if arm is not None:
            attributed[index] = arm
    row = _ROW.match(text)
    terms = _terms(text, values, row.group("term") if row else None)
    for index, arm in sorted(attributed.items()):
        _record(ctx, passage, values, index, arm, section, terms[index])


def _terms(text: str, values: list[_Found], row_term: str | None = None) -> list[tuple[str | None, int]]:
    """What each value is of (with where that is named): a table row's term, else the value's clause; a value
    whose clause names nothing takes its clause's term before it ("..., and 11.4% and 15.2%, respectively")."""
    terms: list[tuple[str | None, int]] = []
    for index, value in enumerate(values):
        term = (row_term, 0) if row_term else _term(text, value.start)
        same_clause = index and not re.search(r"[:;]\s", masked(text)[values[index - 1].end : value.start])
        if term[0] is None and same_clause and terms[-1][0] is not None:
            term = terms[-1]
        terms.append(term)
    return terms


def _read_many(ctx: Context, passage: Passage, arms: list[Entity]) -> None:
    """Values of a trial with three arms or more: a list of values ending "respectively" after the arms named
    in the same order ("in 16.3%, 55.0%, and 27.3% of the patients in the A group, the B group, and the C
    group, respectively"), and a value followed by its arm ("11.5 months with A plus B"). Nothing else: with
    more than two arms, a value's arm is never guessed from roles."""
    text = passage.text
    values = _values(text)
    if not values:
        return
    mentions = _many_mentions(ctx, text, arms)
    attributed: dict[int, Entity] = {}
    for respectively in re.finditer(r"\brespectively\b", text):
        before = [i for i, v in enumerate(values) if v.end <= respectively.start()]
        if not before:
            continue
        last = before[-1]
        named = [arm for position, arm in mentions if values[last].end <= position < respectively.start()]
        run = [last]
        while run[0] > 0 and re.fullmatch(
            r"\s*,?\s*(?:and\s+)?", text[values[run[0] - 1].end : values[run[0]].start]
        ):
            run.insert(0, run[0] - 1)
        if len(named) == len(run) and len(set(named)) == len(named):
            attributed.update(zip(run, named, strict=True))
    for index, value in enumerate(values):
        if index in attributed:
            continue
        limit = values[index + 1].start if index + 1 < len(values) else len(text)
        head = re.match(_AFTER_ARM, text[value.end : limit], re.IGNORECASE)
        if head is None:
            continue
        at = value.end + head.end()
        arm = next((a for position, a in mentions if position == at), None)
        if arm is not None:
            attributed[index] = arm
    terms = _terms(text, values)
    for index, arm in sorted(attributed.items()):
        _record(ctx, passage, values, index, arm, "", terms[index])


def _many_mentions(ctx: Context, text: str, arms: list[Entity]) -> list[tuple[int, Entity]]:
    """Where each of three or more arms is named: its name as the document writes it (hyphens or spaces),
    "the X group", or a drug only it has; of overlapping names the longest wins, and a name two arms share
    names neither."""
    owners: dict[str, set[Entity]] = {}
    for arm in arms:
        name = arm.key.split("-arm-", 1)[-1].replace("-", " ")
        owners.setdefault(name, set()).add(arm)
    words: dict[str, set[Entity]] = {}
    for name, holders in list(owners.items()):
        dose = re.search(r"(\d+(?:\s\d+)?)\s+(mg|g|\u00b5g|mcg)$", name)
        if dose:  # a dose's arm is named by its dose ("with 5-mg doses", "receiving 5-mg, 10-mg ...")
            owners.setdefault(f"{dose.group(1)} {dose.group(2)}", set()).update(holders)
        for word in name.split():
            if len(word) >= 4 and word.isalpha() and word not in {"plus", "with", "alone"}:
                words.setdefault(word, set()).update(holders)
    for word, holders in words.items():
        owners.setdefault(word, holders)
    spans: list[tuple[int, int, Entity]] = []
    for name, holders in owners.items():
        pattern = r"[\s-]+".join(re.escape(part) for part in name.split())
        for match in re.finditer(rf"(?<![\w-]){pattern}(?![\w-])", text, re.IGNORECASE):
            if len(holders) == 1:
                spans.append((match.start(), match.end(), next(iter(holders))))
            else:
                spans.append((match.start(), match.end(), Entity("Arm", "", "")))  # shared: names no arm
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    found: list[tuple[int, Entity]] = []
    reach = -1
    for start, end, arm in spans:
        if start < reach:
            continue  # inside a longer name already taken
        reach = end
        if arm.key:
            found.append((start, arm))
    return found


def _subject_arm(ctx: Context, text: str, value: _Found, floor: int, arms: list[Entity]) -> Entity | None:
    """ "Patients in the A group recovered in a median of 10 days": the arm the clause is about, for its first
    value."""
    begin = max(floor, clause_start(text, value.start))
    subject = re.match(
        r"\s*(?:patients|participants|those)\s+(?:in\s+the\s+|given\s+|receiving\s+|treated\s+with\s+|assigned\s+to\s+)",
        text[begin : value.start],
        re.IGNORECASE,
    )
    if subject is None:
        return None
    mentions = _mentions(ctx, text[begin + subject.end() : begin + subject.end() + 40], arms)
    return mentions[0][1] if mentions and mentions[0][0] == 0 else None


def _lead(text: str, mentions: list[tuple[int, Entity]]) -> Entity:
    """The arm a comparison puts first: the one before "than" ("more frequent in A than in B"), else the
    last one named ("less frequent with A (a% vs. b%)")."""
    than = list(re.finditer(r"\bthan\b", text))
    if than:
        before = [arm for position, arm in mentions if position < than[-1].start()]
        if before:
            return before[-1]
    return mentions[-1][1]


def _default_order(ctx: Context, arms: list[Entity]) -> list[Entity]:
    """The experimental arm first (a comparison states its own arm before the control)."""
    return sorted(arms, key=lambda arm: ctx.arm_roles.get(arm) != "ExperimentalArm")


def _term(text: str, value_start: int) -> tuple[str | None, int]:
    """What a value is of: the phrase its clause opens with ("symptomatic hypotension", "an increase in serum
    potassium to more than 6.0 mmol per liter"), or the noun of its verb ("recovered" -> recovery)."""
    begin = clause_start(text, value_start)
    hidden = masked(text)
    end = value_start
    opening = hidden.rfind("(", begin, value_start)
    if opening >= 0 and ")" not in hidden[opening:value_start]:
        end = opening
    clause = hidden[begin:end]
    # "(any adverse event, 22.6% ...; serious adverse events, 1.6% vs. 6.6%; ...)": an item of a list in a
    # parenthesis is named at its own start.
    item_start = max(text.rfind("(", 0, value_start), text.rfind(";", 0, value_start))
    if item_start >= begin and ")" not in text[item_start:value_start]:
        item = re.match(
            r"[(;]\s*(?:and\s+)?(?P<t>[a-z][^,;()%\d]{2,80}?),\s*(?:[-\u2212]?\d[^;()]*?)?$",
            text[item_start:value_start],
        )
        if item:
            return item.group("t").strip(), item_start + item.start("t")
    if PRIMARY.search(clause):
        return "primary outcome", begin
    if not clause.strip() and begin >= 2 and hidden[begin - 2] == ":":
        # "... was less frequent with intensive treatment: 1.65% per year versus 2.19%": what the colon ends.
        return _term(text, begin - 2)
    lead = _LEAD.match(clause)
    offset = lead.end() if lead else 0
    body = clause[offset:]
    verb = re.search(r"\b(recovered|died|responded|relapsed)\b", body)
    if re.match(r"(?i)(?:patients|participants|those)\b", body):
        if verb:
            return _VERB_NOUNS[verb.group(1)], begin + offset
        return None, 0
    listed = re.search(
        r"\b(?:were|was|included|includ\w+)\s+(?P<item>[a-z][\w-]*(?:\s+[\w-]+){0,2})\s*$", body
    )
    if listed and not re.search(r"\b(?:in|with|than|more|less|of)\b", listed.group("item")):
        # "Other common adverse events were nausea (51.5%)": the item named right before the value.
        return listed.group("item"), begin + offset + listed.start("item")
    stop = _TERM_END.search(body)
    phrase = (body[: stop.start()] if stop else body).strip(" ,")
    phrase = re.sub(r"^(?:kaplan-meier\s+)?(?:estimates?|rates?)\s+of\s+", "", phrase, flags=re.IGNORECASE)
    phrase = re.sub(r"\s+", " ", phrase)
    phrase = re.sub(r"(?:\s+(?:in|of|at|with|to|was|were|by|for))+$", "", phrase)
    which = re.search(r"(?:\bof|,)\s+(?P<np>[\w\s-]{3,40}?),\s+which\s+(?:were|was)\b", body)
    if (
        which
    ):  # "..., with the exception of injection-site reactions, which were more common with A (a% vs. b%)"
        phrase = which.group("np").strip()
    if re.match(r"(?i)(?:no\s+)?(?:benefit|difference|effect|improvement)\b", phrase):
        return None, 0
    if (not phrase or re.match(r"\d", phrase)) and (
        died := _DIED_AFTER.search(hidden, begin, min(len(text), value_start + 120))
    ):
        # "276 patients (11.6%) and 329 patients (13.9%), respectively, died from any cause"
        return "death" + (f" {died.group('cause')}" if died.group("cause") else ""), begin
    if (
        not phrase
        or len(phrase.split()) > 16
        or re.match(r"(?i)(?:it|this|they|there|a\s+total|compared|versus|vs|was|were|among)\b|\d", phrase)
        or "%" in phrase
    ):
        return None, 0
    if not phrase[:2].isupper():
        phrase = phrase[0].lower() + phrase[1:]
    return phrase, begin + offset


def _record(
    ctx: Context,
    passage: Passage,
    values: list[_Found],
    index: int,
    arm: Entity,
    section: str,
    found_term: tuple[str | None, int],
) -> None:
    assert ctx.trial is not None
    text = passage.text
    value = values[index]
    term, term_start = found_term
    if term is None:
        return
    start = passage.start + min(term_start, value.start)
    end = passage.start + value.end
    is_ae = bool(_AE_CUE.search(section) or _AE_CUE.search(term) or re.search(r"\badverse\s+events?\b", text))
    numerator = _numerator(text, values, index)
    p_value = _p_for(text, value)
    lexicon_endpoint = any(
        passage.start + term_start <= m.start < passage.start + value.start
        for m in ctx.matches(passage, "Endpoint")
        if m.entry.key != "follow-up"
    )
    if not is_ae and lexicon_endpoint:
        return  # values of endpoints the lexicon knows are read by `kb.extract.outcomes` (pairs, groups)
    if ctx.claimed is not None:
        ctx.claimed.add((passage.start + value.start, passage.start + value.end))
    if is_ae:
        _adverse_event(ctx, passage, term, value, arm, start, end, numerator, p_value)
    else:
        _outcome(ctx, passage, term, value, arm, start, end, numerator, p_value, values, index)


def _numerator(text: str, values: list[_Found], index: int) -> tuple[int, int | None] | None:
    """ "914 patients (21.8%)" -> 914; "131 of the 532 patients ... (24.6%)" -> (131, 532)."""
    floor = values[index - 1].end if index else 0
    window = text[floor : values[index].start]
    ratio = re.search(r"\b(\d[\d,]*)\s+of\s+(?:the\s+)?(\d[\d,]*)\b[^()]{0,60}\(\s*$", window)
    if ratio:
        return parse_int(ratio.group(1)) or 0, parse_int(ratio.group(2))
    count = re.search(
        r"\b(\d[\d,]*)\s+(?:[\w-]+\s+){0,2}?(?:patients|participants|recipients|women|men|people)\b[^()\d]{0,40}\(\s*$",
        window,
    )
    if count:
        number = parse_int(count.group(1))
        return (number, None) if number is not None else None
    return None


def _p_for(text: str, value: _Found) -> tuple[str, Decimal, str] | None:
    """The P value of the parenthesis or clause the value sits in ("(14.0% vs. 9.2%; P<0.001)")."""
    window = text[value.end : value.end + 60]
    cut = re.search(r"\)|\.\s+[A-Z]", window)
    bounded = window[: cut.start()] if cut else window
    match = P_VALUE.search(bounded)
    if match is None:
        return None
    parsed = parse_p(match)
    return (parsed.relation, parsed.value, parsed.text) if parsed else None


def _time_point(text: str, value: _Found) -> str | None:
    """The first "by day 29" / "at 18 months" after the value, in its sentence."""
    window = text[value.end : value.end + 80]
    match = _TIME.search(window)
    if match is None:
        return None
    if match.group("unit"):
        return f"P{match.group('n')}{match.group('unit')[0].upper()}"
    return f"P{match.group('n2')}{match.group('unit2')[0].upper()}"


def _adverse_event(
    ctx: Context,
    passage: Passage,
    term: str,
    value: _Found,
    arm: Entity,
    start: int,
    end: int,
    numerator: tuple[int, int | None] | None,
    p_value: tuple[str, Decimal, str] | None,
) -> None:
    assert ctx.trial is not None
    if value.unit != "%":
        return
    grade = _GRADE.search(term)
    clean = term
    low = high = None
    if grade:
        low = int(grade.group("lo"))
        high = int(grade.group("hi")) if grade.group("hi") else (5 if grade.group("up") is not None else low)
        clean = (term[: grade.start()] + " " + term[grade.end() :]).strip(" ,")
    clean = _ANY_GRADE.sub("", clean).strip(" ,") or term
    clean = re.sub(r"\s+", " ", clean).lower()
    if re.search(r"\bdiscontinu\w*\b.*\badverse\s+events?\b|\badverse\s+events?\b.*\bdiscontinu\w*", clean):
        clean = (
            "discontinuation because of adverse events"  # "fewer patients discontinued treatment due to AEs"
        )
    count = ctx.count("hasAdverseEvent") + 1  # as added: not a scan of every fact
    node = Entity("AdverseEventCount", ctx.scoped_key("adverse-event", str(count)), f"{clean}, {arm.label}")
    ctx.add(ctx.trial, "hasAdverseEvent", node, start, end)
    ctx.add_value(node, "adverseEventTerm", clean, "string", start, end)
    ctx.add(node, "inArm", arm, start, end)
    ctx.add_value(node, "percentage", decimal_value(value.number), "decimal", start, end)
    if low is not None and high is not None and low <= high:
        ctx.add_value(node, "minGrade", low, "integer", start, end)
        ctx.add_value(node, "maxGrade", high, "integer", start, end)
    if re.search(r"\bserious\b", clean):
        ctx.add_value(node, "serious", True, "boolean", start, end)
    if re.search(r"\bdiscontinu\w*|\bstopp\w*\s+treatment", clean):
        ctx.add_value(node, "leadsToDiscontinuation", True, "boolean", start, end)
    related = re.search(
        r"\b(?:attributed\s+to|related\s+to)\s+[\w\s-]{3,40}|\btreatment[\s-]related\b", clean
    )
    if related:
        ctx.add_value(node, "relatedness", related.group(0).strip(), "string", start, end)
    if numerator is not None:
        ctx.add_value(node, "numerator", numerator[0], "integer", start, end)
        if numerator[1] is not None:
            ctx.add_value(node, "denominator", numerator[1], "integer", start, end)
    if p_value is not None:
        ctx.add_value(node, "pValue", decimal_value(p_value[1]), "decimal", start, end)
        ctx.add_value(node, "pValueRelation", p_value[0], "string", start, end)
        ctx.add_value(node, "pValueText", p_value[2], "string", start, end)


def _outcome(
    ctx: Context,
    passage: Passage,
    term: str,
    value: _Found,
    arm: Entity,
    start: int,
    end: int,
    numerator: tuple[int, int | None] | None,
    p_value: tuple[str, Decimal, str] | None,
    values: list[_Found],
    index: int,
) -> None:
    assert ctx.trial is not None
    endpoints = [
        m
        for m in ctx.matches(passage, "Endpoint")
        if m.entry.key != "follow-up" and m.start < passage.start + value.start
    ]
    inside = [m for m in endpoints if m.surface.lower() in term.lower()]
    endpoint = (
        entity_for(inside[-1].entry) if inside else Entity("Endpoint", ctx.scoped_key("endpoint", term), term)
    )
    statistic = (
        "median"
        if re.search(r"\bmedian\b", passage.text[: value.start], re.IGNORECASE)
        and not value.unit.startswith("%")
        else ("rate" if value.unit.startswith("%") else "value")
    )
    count = ctx.count("hasOutcome") + 1  # as added: not a scan of every fact
    time_point = _time_point(passage.text, value)
    label = f"{term} {statistic}, {arm.label}"
    node = Entity("OutcomeMeasurement", ctx.scoped_key("arm-outcome", str(count)), label)
    ctx.add(ctx.trial, "hasOutcome", node, start, end)
    ctx.add(node, "measures", endpoint, start, end)
    ctx.add_value(node, "numericValue", decimal_value(value.number), "decimal", start, end, value.unit)
    ctx.add_value(node, "statistic", statistic, "string", start, end)
    ctx.add(node, "population", arm, start, end)
    ctx.add_value(node, "endpointText", term, "string", start, end)
    if time_point:
        ctx.add_value(node, "timePoint", time_point, "duration", start, end)
    subgroup = SUBGROUP.search(masked(passage.text), clause_start(passage.text, value.start), value.start)
    if subgroup is not None and subgroup.group("a"):
        ctx.add_value(node, "subgroup", subgroup.group("a").strip(), "string", start, end)
    if numerator is not None:
        ctx.add_value(node, "numerator", numerator[0], "integer", start, end)
        if numerator[1] is not None:
            ctx.add_value(node, "denominator", numerator[1], "integer", start, end)
    if p_value is not None:
        ctx.add_value(node, "pValue", decimal_value(p_value[1]), "decimal", start, end)
        ctx.add_value(node, "pValueRelation", p_value[0], "string", start, end)

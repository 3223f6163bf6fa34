"""Organizations and their roles: who conducted, sponsored, supported or gave grants to the trial."""

from __future__ import annotations

import re

from kb.extract.context import Context, entity_for
from kb.ingest import slugify
from kb.lexicon import LexiconMatch
from kb.models import Entity

# Academic and professional credentials written after a person's name ("Jane Roe, MD, PhD").
CREDENTIALS = (
    r"(?:,?\s+(?:M\.?D\.?|Ph\.?D\.?|M\.?P\.?H\.?|D\.?O\.?|R\.?N\.?|Pharm\.?D\.?|Dr\.?P\.?H\.?|"
    r"MBBS|MBChB|MB|BCh|BS|BSc|MSc|MS|MA|MSCE|MHS|MMSc|MBA|DPhil|DSc|FRCPC?|FRCPath|FRACP|FRCS|FACP|FASCO|"
    r"FAAP|MRCP|NP|PA-C|APRN|ScD)(?![\w-])(?!\s+Anderson))+"
)

# Each cue opens a region of the sentence; organizations listed in it get the cue's role.
_CUES: tuple[tuple[str, str], ...] = (
    (r"\bsponsored\s+(?:in\s+part\s+)?by\b", "sponsor"),
    (r"\b(?:supported|underwritten)\s+(?:in\s+part\s+)?by\b", "support"),
    (
        r"\b(?:funded|financed)\s+(?:in\s+part\s+)?by\b|\bfunding\s+(?:was\s+provided\s+)?(?:from|by)\b",
        "funding",
    ),
    (r"\bgrants?\s+(?:support\s+)?(?:from|by)\b", "grant"),
    (r"^\s*Funding\s*:", "funding"),
    (r"\b(?:run|conducted|led|coordinated|carried\s+out)\s+by\b", "conducted"),
    (r"\bresearchers\s+(?:from|at|of|with)\b|\binvestigators\s+(?:from|at|of|with)\b", "researchers"),
)
_CUE = re.compile("|".join(f"(?P<c{i}>{p})" for i, (p, _) in enumerate(_CUES)), re.IGNORECASE)
_LINK = re.compile(r"^(?:\s*\([^)]*\))?\s*(?:,\s*|\s+)?(?:and\s+|&\s+|as\s+well\s+as\s+)?(?:the\s+|The\s+)?$")
_VIA = re.compile(r"^(?:\s*\([^)]*\))?\s+(?:through|via|as\s+part\s+of)\s+(?:the\s+|its\s+)?$")
# A name ends before sentence punctuation; only an initialism keeps its final period ("U.S.", "S.p.A.").
_SENTENCE_END = re.compile(r"(?<!\b[A-Za-z]\.[A-Za-z])[.,;:]+$")
_UNKNOWN_ORG = re.compile(
    r"(?:the\s+)?((?:[A-Z][\w&'\u2019.-]*)(?:\s+(?:(?:of|for|and|in|the|de|di|del|dell['\u2019]\w+|&)\s+)*[A-Z][\w&'\u2019.-]*)*)"
)

# A name whose words are listed with commas ends with the kind of body it is ("National Heart, Lung, and
# Blood Institute"; "Patient-Centered Outcomes Research Institute" has none); a list of names does not.
_CAPITALISED = r"[A-Z][\w&'\u2019.-]*"
_COMMA_ORG = re.compile(
    rf"(?:the\s+)?({_CAPITALISED}(?:\s+{_CAPITALISED})*(?:,\s+(?:and\s+|&\s+)?{_CAPITALISED}(?:\s+{_CAPITALISED})*)+"
    rf"(?:\s+(?:of|for|on)\s+(?:the\s+)?{_CAPITALISED}(?:\s+(?:and\s+)?{_CAPITALISED})*)?)"
)
_BODY = re.compile(
    r"\b(?:Institutes?|Council|Foundation|Association|Society|Agency|Administration|Consortium|Fund|Trust|"
    r"Academy|Board|Commission|Ministry|Department|Service|Center|Centre|Network)"
    r"(?:\s+(?:of|for|on)\s+(?:the\s+)?[A-Z][\w'\u2019.-]*(?:\s+(?:and\s+)?[A-Z][\w'\u2019.-]*)*)?$"
)

# The kind of body an organization the lexicon lacks is, read from its name (as the lexicon's kinds).
_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("university", re.compile(r"\b(?:University|Universit[yàäé]\w*|College|School\s+of)\b")),
    (
        "academic medical center",
        re.compile(
            r"\b(?:Hospitals?|Clinic|Medical\s+Cent(?:er|re)|Cancer\s+Cent(?:er|re)|Health\s+System)\b"
        ),
    ),
    (
        "government agency",
        re.compile(
            r"\b(?:Ministry|Department)\s+of\b|\b(?:Agency|Administration)\b|"
            r"^(?:the\s+)?National\s+(?:[A-Z][\w,'\u2019-]*\s+|and\s+|of\s+)*Institutes?\b"
        ),
    ),
    ("research network", re.compile(r"\bNetwork\b")),
    ("cooperative group", re.compile(r"\b(?:Group|Consortium|Alliance|Intergroup)\b")),
    ("foundation", re.compile(r"\b(?:Foundation|Trust|Society|Association|Fund)\b")),
    (
        "company",
        re.compile(
            r"\b(?:Inc|Corp|Corporation|Ltd|LLC|GmbH|AG|plc|S\.?A|S\.p\.A|Company|Pharma\w*|Therapeutics|"
            r"Biotech\w*|Biosciences|Biopharma\w*|Laboratories)\b|"
            # a firm named for its founders: "Merck Sharp & Dohme", "Johnson & Johnson"
            r"^[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\s+&\s+[A-Z][a-z]+$"
        ),
    ),
)


def organization_kind(name: str) -> str | None:
    """The kind of body a name says it is ("Acme Pharmaceuticals Inc." -> "company"), or None."""
    return next((kind for kind, pattern in _KINDS if pattern.search(name)), None)


def _unknown_name(text: str, start: int) -> re.Match[str] | None:
    """The unknown organization's name at ``start``: one with commas inside when it ends with the kind of body
    it is, else the longest run of capitalised words (with "of", "and" and the like between them)."""
    plain = _UNKNOWN_ORG.match(text, start)
    listed = _COMMA_ORG.match(text, start)
    if listed and _BODY.search(clean_name(listed.group(1))):
        if plain is None or len(listed.group(1)) > len(plain.group(1)):
            return listed
    return plain


def extract_organizations(ctx: Context) -> None:
    """Roles of organizations towards the trial, and the image credit of the source document."""
    _image_credit(ctx)
    trial = ctx.trial
    if trial is None:
        return
    for passage in ctx.passages(("title", "body", "metadata")):
        if re.match(r"\s*Image\s+Credits?\s*:", passage.text, re.IGNORECASE):
            continue
        cues = list(_CUE.finditer(passage.text))
        for n, cue in enumerate(cues):
            role = next(_CUES[i][1] for i in range(len(_CUES)) if cue.group(f"c{i}"))
            region_end = cues[n + 1].start() if n + 1 < len(cues) else len(passage.text)
            region_start = cue.end()
            orgs = [
                m
                for m in ctx.matches(passage, "Organization")
                if region_start <= m.start - passage.start and m.end - passage.start <= region_end
            ]
            listed, via = _listed(ctx, passage.start + region_start, orgs)
            if not listed and role != "researchers":
                unknown = _unknown_name(passage.text, region_start + 1)
                name = clean_name(unknown.group(1)) if unknown else ""
                if unknown and len(name) > 3 and not _is_person(passage.text, unknown.start(1), name):
                    listed = _unknown_names(ctx, name, passage.start + unknown.start(1))
            clause_start = passage.start + cue.start()
            for org, _, end in listed:
                _assign(ctx, trial, org, role, via, clause_start, end)


def _defined_abbreviations(text: str) -> dict[str, str]:
    """Abbreviations the document defines for names: "National Heart, Lung, and Blood Institute (NHLBI)" (the
    initials of the capitalised words before the brackets spell it)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\((?P<abbr>[A-Z]{2,10})\)", text):
        abbreviation = match.group("abbr")
        words = list(re.finditer(r"[A-Za-z][\w'\u2019-]*", text[max(0, match.start() - 160) : match.start()]))
        initials = ""
        for word in reversed(words):
            token = word.group(0)
            if token.lower() in {"of", "and", "for", "the", "on", "in"}:
                continue
            if not token[0].isupper():
                break
            initials = token[0] + initials
            if initials == abbreviation:
                offset = max(0, match.start() - 160) + word.start()
                found[abbreviation] = clean_name(text[offset : match.start()].strip())
                break
            if not abbreviation.endswith(initials):
                break
    return found


def _unknown_names(ctx: Context, name: str, start: int) -> list[tuple[Entity, int, int]]:
    """An unknown name, or a list of names ("Acme Pharma and AstraZeneca") when one of its parts is a known
    organization; "Bill and Melinda Gates Foundation" stays one name, for its parts are no known organization.
    An abbreviation the document defines ("the NHLBI") is the organization it stands for."""
    full = _defined_abbreviations(ctx.document.text).get(name)
    if full is not None:
        return [(Entity("Organization", slugify(full), full), start, start + len(name))]
    parts = [(m.group(0), m.start()) for m in re.finditer(r"[^,]+?(?=,?\s+and\s+|,\s+|$)", name)]
    parts = [(re.sub(r"^(?:and|the)\s+", "", p.strip()), s + len(p) - len(p.lstrip())) for p, s in parts]
    known = [ctx.lexicon.match_name("Organization", p) for p, _ in parts]
    if len(parts) < 2 or not any(known):
        return [(Entity("Organization", slugify(name), name), start, start + len(name))]
    listed = []
    for (part, offset), entry in zip(parts, known, strict=True):
        at = start + name.find(part, offset)
        entity = entity_for(entry) if entry else Entity("Organization", slugify(part), part)
        listed.append((entity, at, at + len(part)))
    return listed


def clean_name(name: str) -> str:
    """A name without the sentence punctuation that may follow it ("Merck Sharp & Dohme." -> "Merck Sharp & Dohme")."""
    return _SENTENCE_END.sub("", name.strip()).strip()


def _is_person(text: str, start: int, name: str) -> bool:
    """A person rather than an organization: "Dr." before the name or credentials after it ("led by Jane Roe, MD")."""
    before, after = text[:start], text[start + len(name) :]
    return bool(re.search(r"\bDr\.?\s*$", before) or re.match(CREDENTIALS, after))


def _listed(
    ctx: Context, region_start: int, orgs: list[LexiconMatch]
) -> tuple[list[tuple[Entity, int, int]], tuple[Entity, int] | None]:
    """Organizations in a list right after the cue ("Pfizer and Amgen"), and a channel ("through the NCTN")."""
    text = ctx.document.text
    listed: list[tuple[Entity, int, int]] = []
    via: tuple[Entity, int] | None = None
    position = region_start
    for match in orgs:
        gap = text[position : match.start]
        entity = entity_for(match.entry)
        if listed and _VIA.match(gap):
            via = (entity, match.end)
            position = match.end
            continue
        if not _LINK.match(gap):
            if listed or match.start - region_start > 8:
                break
        if any(entity == e for e, _, _ in listed):
            position = match.end
            continue
        listed.append((entity, match.start, match.end))
        position = match.end
    return listed, via


def _assign(
    ctx: Context, trial: Entity, org: Entity, role: str, via: tuple[Entity, int] | None, start: int, end: int
) -> None:
    _kind(ctx, org, start, end)
    if via is not None:
        # "run by X through the NCTN", "NCI support came through the NCTN": the network the trial ran or was
        # supported through, whatever the role of the organization before it
        ctx.add(trial, "throughNetwork", via[0], start, via[1])
        _kind(ctx, via[0], start, via[1])
    if role == "sponsor":
        ctx.add(trial, "sponsor", org, start, end)
    elif role == "conducted":
        ctx.add(trial, "conductedBy", org, start, end)
    elif role == "researchers":
        entry = ctx.lexicon.get("Organization", org.key)
        if entry is not None and entry.organization_type == "cooperative group":
            ctx.add(trial, "conductedBy", org, start, end)
    else:
        funding = Entity(
            "Funding", ctx.scoped_key("funding", org.key), f"{org.label} {role} of {trial.label}"
        )
        ctx.add(trial, "fundedBy", org, start, end)
        ctx.add(trial, "hasFunding", funding, start, end)
        ctx.add(funding, "funder", org, start, end)
        ctx.add_value(funding, "fundingRole", role, "string", start, end)
        if via is not None:
            ctx.add(funding, "fundedVia", via[0], start, via[1])


def _image_credit(ctx: Context) -> None:
    for passage in ctx.passages(("metadata",)):
        match = re.match(r"\s*Image\s+Credits?\s*:\s*(.+?)\s*$", passage.text, re.IGNORECASE)
        if not match:
            continue
        name = clean_name(match.group(1))
        start = passage.start + match.start(1)
        entry = ctx.lexicon.match_name("Organization", name)
        if entry is not None:
            org = entity_for(entry)
        else:
            found = [m for m in ctx.matches(passage, "Organization") if m.start >= start]
            org = entity_for(found[0].entry) if found else Entity("Organization", slugify(name), name)
        ctx.add(ctx.source, "imageCredit", org, start, start + len(name))
        _kind(ctx, org, start, start + len(name))


def _kind(ctx: Context, org: Entity, start: int, end: int) -> None:
    """The kind of an organization the lexicon lacks, from its name (the lexicon's own kinds go in at build)."""
    if ctx.lexicon.get("Organization", org.key) is not None:
        return
    kind = organization_kind(org.label)
    if kind is not None:
        ctx.add_value(org, "organizationType", kind, "string", start, end)

"""Drugs: lexicon names and unknown INNs, with class, targets, mechanism and payload as the text states them."""

from __future__ import annotations

import bisect
import re

from kb.extract.context import Context, Mention, entity_for
from kb.ingest import slugify
from kb.lexicon import KINDS, Lexicon, LexiconEntry, LexiconMatch
from kb.models import Entity, Passage

_BESIDE = 300
"""Characters read before or after a name for what stands beside it (a brand, a cue, a class phrase)."""
# International nonproprietary name stems (WHO INN / USAN stem book) of anticancer and targeted drugs. Stems
# that end ordinary English words are narrowed ("-ercept", not "-cept": intercept, concept, except).
_STEMS = (
    "mab",  # monoclonal antibodies (-ximab, -zumab, -umab, -tamab)
    "nib",  # kinase inhibitors (-tinib, -rafenib, -metinib, asciminib)
    "lisib|ciclib|parib|degib|zomib|sertib|rasib|clax",
    "tecan|platin|taxel|rubicin",
    "ercept|acept",  # receptor fusion proteins (aflibercept, abatacept)
    "leukin",  # interleukins (aldesleukin)
    "leucel",  # cell therapies (tisagenlecleucel)
    "lidomide|famide",  # thalidomide analogues, oxazaphosphorines
    "inostat|metostat",  # HDAC and EZH2 inhibitors
    "aspargase|siran|rsen",  # asparaginases, small interfering RNAs, antisense oligonucleotides
    # Other fields: ACE inhibitors, sartans, neprilysin inhibitors, statins, gliflozins, gliptins, GLP-1
    # analogues, factor Xa and thrombin inhibitors, antivirals (issue 14).
    "pril|sartan|tril|vastatin|gliflozin|gliptin|glutide|xaban|gatran|desivir|previr|buvir|asvir|navir|clovir",
)
# What a stem says of a drug the lexicon lacks (WHO INN stem book): its class and, where the stem names one, its
# target, as lexicon keys. Longer stems first: "-ciclib" before "-nib"-less stems, "-rafenib" before "-nib".
_STEM_CLASSES: tuple[tuple[str, str, str | None], ...] = (
    ("rafenib", "braf-inhibitor", "braf"),
    ("metinib", "mek-inhibitor", "mek"),
    ("brutinib", "btk-inhibitor", "btk"),
    ("ciclib", "cdk4-6-inhibitor", "cdk4-6"),
    ("parib", "parp-inhibitor", "parp"),
    ("lisib", "pi3k-inhibitor", "pi3k-delta"),
    ("zomib", "proteasome-inhibitor", "proteasome"),
    ("rasib", "kras-inhibitor", "kras"),
    ("degib", "hedgehog-inhibitor", None),
    ("clax", "bcl2-inhibitor", "bcl2"),
    ("inostat", "hdac-inhibitor", None),
    ("tinib", "tyrosine-kinase-inhibitor", None),
    ("nib", "tyrosine-kinase-inhibitor", None),
    ("mab", "monoclonal-antibody", None),
    ("tecan", "topoisomerase-inhibitor", "topoisomerase-1"),
    ("platin", "platinum-chemotherapy", None),
    ("taxel", "taxane", "tubulin"),
    ("rubicin", "anthracycline", "topoisomerase-2"),
    ("lidomide", "immunomodulatory-drug", "cereblon"),
    ("leucel", "car-t-cell-therapy", None),
    ("siran", "sirna", None),
    ("rsen", "antisense-oligonucleotide", None),
    ("gliflozin", "sglt2-inhibitor", "sglt2"),
    ("gliptin", "dpp-4-inhibitor", "dpp4"),
    ("glutide", "glp-1-receptor-agonist", "glp1r"),
    ("pril", "ace-inhibitor", "ace"),
    ("sartan", "angiotensin-receptor-blocker", "agtr1"),
    ("vastatin", "statin", "hmgcr"),
    ("xaban", "factor-xa-inhibitor", "factor-xa"),
    ("gatran", "direct-thrombin-inhibitor", "thrombin"),
    ("tegravir", "integrase-inhibitor", "hiv-integrase"),
    ("amivir", "neuraminidase-inhibitor", "neuraminidase"),
    ("previr", "protease-inhibitor", "viral-protease"),
    ("navir", "protease-inhibitor", "viral-protease"),
    ("buvir", "antiviral", "viral-rna-polymerase"),
    ("desivir", "antiviral", "viral-rna-polymerase"),
    ("asvir", "antiviral", None),
    ("clovir", "antiviral", None),
)
_SUFFIXES = "vedotin|ozogamicin|tesirine|mafodotin|deruxtecan|govitecan|autoleucel|ciloleucel|maraleucel|vicleucel|pegol"
_CELL_SUFFIXES = "autoleucel|ciloleucel|maraleucel|vicleucel"
# A lower-case name (capitalised at most at the start of a sentence), never an all-capitals abbreviation; gene
# therapies name the vector and the cells ("brexucabtagene autoleucel").
_INN = re.compile(
    rf"(?<![\w-])([A-Za-z][a-z]{{2,}}(?:(?:{'|'.join(_STEMS)})(?:\s+(?:{_SUFFIXES}))?|tagene\s+(?:{_CELL_SUFFIXES})))"
    r"(?![\w-])"
)
# English words that end with a stem above.
_ENGLISH = frozenset(
    {"intercept", "worsen", "hoarsen", "coarsen", "thermostat", "rheostat", "hemostat", "cryostat", "nostril"}
)
# "Scemblix (asciminib)", "Scemblix® (asciminib)" and "asciminib (Scemblix)": a brand name beside the INN.
_BRAND_BEFORE = re.compile(r"(?<![\w-])([A-Z][a-z]{3,})®?\s*\(\s*$")
_BRAND_AFTER = re.compile(r"^\s*\(\s*([A-Z][a-z]{3,})®?\s*\)")
_NOT_INTERVENTION = re.compile(
    r"(?:prior|previous(?:ly)?|after\s+failure\s+of|refractory\s+to|resistant\s+to|intolerant\s+(?:of|to)|"
    r"pretreated\s+with|exposed\s+to)\b[^.;]{0,60}$",
    re.IGNORECASE,
)
_APPOSITIVE = re.compile(r"^(?:\s*\([^)]*\))?(?:,\s*|\s+is\s+|\s+was\s+)(?:a|an)\s+")
# "compared X, a STAMP inhibitor ..., with investigator-selected TKIs": what follows is the comparator, not X.
_APPOSITIVE_END = re.compile(r",\s+(?:with|versus|vs\.?|compared|plus)\b")
_PRECEDING_CLASS = re.compile(r"\b(?:the|a|an)\s+((?:[\w()-]+\s+){1,6})$", re.IGNORECASE)
# "X blocks PD-1", "X, which binds to CD20", "X (Brand) selectively inhibits BTK": the verb phrase and its object.
_TARGET_VERB = re.compile(
    r"^(?:\s*\([^)]*\))?(?:,?\s+(?:which|that)\b)?(?:\s+(?:is|was))?\s+"
    r"(?P<phrase>(?:(?:selectively|specifically|potently|irreversibly|reversibly|directly)\s+)?"
    r"(?:binds(?:\s+to)?|targets|blocks|inhibits|recognizes|recognises|"
    r"(?:is\s+|was\s+)?(?:directed|targeted)\s+(?:against|at|to)|targeting)\s+([^.;]+))"
)
_MECHANISM = re.compile(
    r"\b(?:that|which)\s+((?:binds|targets|recruits|redirects|engages|delivers|kills|blocks|inhibits|"
    r"brings|links|connects|activates|depletes)\b[^,.;]+)|\bdesigned\s+to\s+([^,.;]+)|"
    r"\b((?:directed|targeted)\s+against\s+[^,.;]+)"
)
# A target named inside a class phrase: "anti-PD-1", "anti-CD20", "CD19-directed", "HER2-targeted".
_NAMED_TARGET = re.compile(
    r"\banti-?([A-Za-z0-9][\w/-]*?)(?=[\s,)]|$)|\b([A-Za-z0-9][\w/-]*?)-(?:directed|targeted|targeting|specific)\b"
)
_PAYLOAD = re.compile(
    r"\b(?:conjugated|linked|attached)\s+to\s+(?:a|an|the)?\s*(?:potent\s+|highly\s+|powerful\s+)?"
    r"([\w-]+(?:\s+[\w-]+)?\s+(?:agent|toxin|drug|payload)|calicheamicin|monomethyl auristatin E|MMAE|"
    r"pyrrolobenzodiazepine)",
    re.IGNORECASE,
)

# The immune cells a mechanism phrase says the drug brings into play ("recruits cytotoxic T lymphocytes",
# "redirects the patient's own T cells", "engages natural killer cells").
_EFFECTOR = re.compile(
    r"\b(?:recruit|redirect|engage|activate|bring|direct|harness|mobili[sz]e|arm|reprogram)(?:s|es|ed|ing)?\s+"
    r"(?:the\s+)?(?:(?:patient|body|host)(?:'s|s'|\u2019s)\s+)?(?:own\s+)?"
    r"(?P<cells>(?:[\w-]+\s+){0,3}?(?:T[- ]cells?|T[- ]lymphocytes|lymphocytes|NK[- ]cells|natural\s+killer\s+cells|"
    r"macrophages|neutrophils|immune\s+(?:effector\s+)?cells|effector\s+cells))\b",
    re.IGNORECASE,
)


def unknown_drugs(lexicon: Lexicon, text: str) -> dict[str, LexiconEntry]:
    """Drugs the lexicon lacks, named by an INN stem, by the names that mention them (the INN and its brand).

    Like unknown organisations, each is minted locally: a label, no identifiers.
    """
    found: dict[str, LexiconEntry] = {}
    for match in _INN.finditer(text):
        name = match.group(1).lower()
        # A conjugate's or a cell therapy's second word alone ("deruxtecan") names no drug.
        if name in _ENGLISH or name in _SUFFIXES.split("|") or lexicon.match_name("Drug", name) is not None:
            continue
        entry = LexiconEntry("Drug", slugify(name), name)
        found.setdefault(name, entry)
        # Read beside the name, not over the text before and after it (per name: quadratic in the text).
        brand = _BRAND_BEFORE.search(
            text[max(0, match.start() - _BESIDE) : match.start()]
        ) or _BRAND_AFTER.match(text[match.end() : match.end() + _BESIDE])
        if brand and not any(lexicon.match_name(kind, brand.group(1)) for kind in KINDS):
            found.setdefault(brand.group(1).lower(), entry)
    return found


def unknown_drug_matches(known: dict[str, LexiconEntry], text: str) -> list[LexiconMatch]:
    """Mentions in ``text`` of the unknown drugs ``unknown_drugs`` found (offsets into ``text``)."""
    if not known:
        return []
    names = sorted(known, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-])", re.IGNORECASE
    )
    return [
        LexiconMatch(known[m.group(1).lower()], m.start(), m.end(), m.group(1))
        for m in pattern.finditer(text)
    ]


def find_drugs(ctx: Context) -> list[Mention]:
    """Drug mentions in the title and body: lexicon entries and unknown names with INN stems."""
    mentions: list[Mention] = []
    for passage in ctx.passages():
        for match in ctx.matches(passage, "Drug"):
            mentions.append(Mention(entity_for(match.entry), match.start, match.end))
    mentions.sort(key=lambda m: m.start)
    return mentions


def extract_drugs(ctx: Context) -> None:
    """Interventions of the trial, and what the text says each drug is and does."""
    ctx.drug_mentions = find_drugs(ctx)
    text = ctx.document.text
    starts = [m.start for m in ctx.drug_mentions]
    classed: set[Entity] = set()
    for mention in ctx.drug_mentions:
        passage = ctx.passage_at(mention.start)
        if passage is None:
            continue
        if mention.entity not in classed:
            classed.add(mention.entity)
            _stem_class(ctx, mention)
        before = text[max(passage.start, mention.start - _BESIDE) : mention.start]
        if ctx.trial is not None and not _NOT_INTERVENTION.search(before):
            ctx.add(ctx.trial, "intervention", mention.entity, mention.start, mention.end)
        _describe(ctx, mention, passage, starts)


def stem_class(name: str) -> tuple[str, str | None] | None:
    """The class and target (lexicon keys) an INN's stem says, or None ("vericiguat": no stem known)."""
    first = name.lower().split()[0]
    for stem, drug_class, target in _STEM_CLASSES:
        if first.endswith(stem) and len(first) > len(stem) + 2:
            return drug_class, target
    return None


def _stem_class(ctx: Context, mention: Mention) -> None:
    """A drug the lexicon lacks gets the class (and target) its INN stem says, traced to its first mention;
    a lexicon drug has its curated class already."""
    if ctx.lexicon.get("Drug", mention.entity.key) is not None:
        return
    found = stem_class(mention.entity.label)
    if found is None:
        return
    for kind, key in (("DrugClass", found[0]), ("MolecularTarget", found[1])):
        entry = ctx.lexicon.get(kind, key) if key else None
        if entry is not None:
            predicate = "drugClass" if kind == "DrugClass" else "target"
            ctx.add(mention.entity, predicate, entity_for(entry), mention.start, mention.end)


def _describe(ctx: Context, mention: Mention, passage: Passage, starts: list[int]) -> None:
    """Class, targets, mechanism and payload from an appositive ("X, a CD22-directed ADC ...") or a verb."""
    text = ctx.document.text
    drug = mention.entity
    # The mentions are in text order (``starts``): the next other drug is searched from this one on, within the
    # passage, not among all the document's mentions per mention.
    limit = passage.end
    for index in range(bisect.bisect_right(starts, mention.end), len(starts)):
        other = ctx.drug_mentions[index]
        if other.start >= passage.end:
            break
        if other.entity != drug:
            limit = other.start
            break
    after = text[mention.end : limit]
    spans: list[tuple[int, int]] = []
    appositive = _APPOSITIVE.match(after)
    if appositive:
        closing = _APPOSITIVE_END.search(after, appositive.end())
        spans.append((mention.end + appositive.end(), mention.end + closing.start() if closing else limit))
    window = max(passage.start, mention.start - _BESIDE)
    preceding = _PRECEDING_CLASS.search(text[window : mention.start])
    # A class phrase before the name is its own only when no other drug stands between ("the X antibody Y to Z").
    if preceding:
        first = bisect.bisect_left(starts, window + preceding.start(1))
        if not (first < len(starts) and starts[first] < mention.start):
            spans.append((window + preceding.start(1), mention.start))
    verb = _TARGET_VERB.match(after)
    if verb and not appositive:
        span = (mention.end + verb.start(2), mention.end + verb.end(2))
        _targets(ctx, drug, passage, span, mention.start)
        ctx.add_value(drug, "mechanism", verb.group("phrase").strip(), "string", mention.start, span[1])
    for start, end in spans:
        description = text[start:end]
        classes = [m for m in ctx.matches(passage, "DrugClass") if start <= m.start and m.end <= end]
        if classes and start < mention.start:
            classes = classes[-1:]  # "the bispecific antibody blinatumomab": the class right before the name
        elif classes:
            classes = classes[:1]
        for match in classes:
            ctx.add(
                drug,
                "drugClass",
                entity_for(match.entry),
                min(start, mention.start),
                max(match.end, mention.end),
            )
        if start < mention.start:
            _named_targets(ctx, drug, (start, end), mention.start)
        if start > mention.start:
            _targets(ctx, drug, passage, (start, end), mention.start)
            for found in _MECHANISM.finditer(description):
                group = next(g for g in (1, 2, 3) if found.group(g))
                phrase_start, phrase_end = start + found.start(group), start + found.end(group)
                ctx.add_value(
                    drug,
                    "mechanism",
                    text[phrase_start:phrase_end].strip(),
                    "string",
                    mention.start,
                    phrase_end,
                )
                _effector_cells(ctx, drug, text[phrase_start:phrase_end], phrase_start, mention.start)
            payload = _PAYLOAD.search(description)
            if payload:
                value_end = start + payload.end(1)
                ctx.add_value(drug, "payload", payload.group(1), "string", mention.start, value_end)


def _effector_cells(ctx: Context, drug: Entity, phrase: str, phrase_start: int, drug_start: int) -> None:
    """Immune cells a drug's mechanism engages: "recruits cytotoxic T lymphocytes to CD19-expressing cells"."""
    for found in _EFFECTOR.finditer(phrase):
        cells = re.sub(r"\s+", " ", found.group("cells")).strip()
        ctx.add_value(drug, "effectorCell", cells, "string", drug_start, phrase_start + found.end("cells"))


def _targets(ctx: Context, drug: Entity, passage: Passage, span: tuple[int, int], drug_start: int) -> None:
    start, end = span
    for match in ctx.matches(passage, "MolecularTarget"):
        if start <= match.start and match.end <= end:
            ctx.add(drug, "target", entity_for(match.entry), drug_start, match.end)


def _named_targets(ctx: Context, drug: Entity, span: tuple[int, int], drug_start: int) -> None:
    """Targets a class phrase before the name states: "the anti-CD20 antibody X", "the CD19-directed CAR T-cell X"."""
    start, end = span
    for found in _NAMED_TARGET.finditer(ctx.document.text, start, end):
        group = 1 if found.group(1) else 2
        entry = ctx.lexicon.match_name("MolecularTarget", found.group(group))
        if entry is not None:
            ctx.add(drug, "target", entity_for(entry), found.start(group), drug_start)

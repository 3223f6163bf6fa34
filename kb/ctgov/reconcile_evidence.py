"""Reconcile a trial's randomised-trial evidence, article against registry: per arm (role, numbers randomised
and analysed), per effect estimate (matched by kind and endpoint: value and interval) and per adverse event
(matched by term: each arm's count and percentage). One ``ReconciliationItem`` per arm, estimate or event,
its ``subject`` naming it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from kb.ctgov.reconciliation import ReconciliationItem, SourcedValue, Status
from kb.ctgov.sources import KBSources, Row, number_of, show, similar, text_of

_ARMS = """SELECT ?g ?arm ?label ?role ?randomized ?analyzed ?drug WHERE { GRAPH ?g {
  <T> tkb:hasArm ?arm . OPTIONAL { ?arm rdfs:label ?label } OPTIONAL { ?arm tkb:armRole ?role }
  OPTIONAL { ?arm tkb:randomizedCount ?randomized } OPTIONAL { ?arm tkb:analyzedCount ?analyzed }
  OPTIONAL { ?arm tkb:intervention ?drug } } }"""
_EFFECTS = """SELECT ?g ?effect ?measure ?estimate ?lower ?upper ?pText ?text ?endpoint ?broad ?primary
  ?experimental ?comparator ?subgroup WHERE { GRAPH ?g {
  <T> tkb:hasEffectEstimate ?effect . ?effect tkb:effectMeasure ?measure ; tkb:estimate ?estimate .
  OPTIONAL { ?effect tkb:ciLower ?lower } OPTIONAL { ?effect tkb:ciUpper ?upper }
  OPTIONAL { ?effect tkb:pValueText ?pText } OPTIONAL { ?effect tkb:endpointText ?text }
  OPTIONAL { ?effect tkb:estimates ?endpoint OPTIONAL { ?endpoint skos:broadMatch ?broad }
             OPTIONAL { <T> tkb:primaryEndpoint ?endpoint BIND(true AS ?primary) } }
  OPTIONAL { ?effect tkb:experimentalArm ?experimental } OPTIONAL { ?effect tkb:comparatorArm ?comparator }
  OPTIONAL { ?effect tkb:subgroup ?subgroup } } }"""
_EVENTS = """SELECT ?g ?event ?term ?arm ?percentage ?count ?denominator ?serious ?minGrade ?maxGrade WHERE { GRAPH ?g {
  <T> tkb:hasAdverseEvent ?event . ?event tkb:adverseEventTerm ?term ; tkb:inArm ?arm .
  OPTIONAL { ?event tkb:percentage ?percentage } OPTIONAL { ?event tkb:numerator ?count }
  OPTIONAL { ?event tkb:denominator ?denominator } OPTIONAL { ?event tkb:serious ?serious }
  OPTIONAL { ?event tkb:minGrade ?minGrade } OPTIONAL { ?event tkb:maxGrade ?maxGrade } } }"""

_ROLE_NAMES = {
    "ExperimentalArm": "experimental",
    "ActiveComparatorArm": "active comparator",
    "PlaceboComparatorArm": "placebo comparator",
    "UsualCareArm": "usual care",
}
_KIND_NAMES = {
    "HazardRatio": "hazard ratio",
    "RateRatio": "rate ratio",
    "RiskRatio": "risk ratio",
    "OddsRatio": "odds ratio",
    "RiskDifference": "risk difference",
    "MeanDifference": "mean difference",
    "RelativeRiskReduction": "relative risk reduction",
}
# Words that say how an endpoint is measured, not what it is ("Time to First Occurrence of ...").
_GENERIC = frozenset(
    "a an the of to from for in on or and with by any all time first occurrence occurrences event events number "
    "percentage participants patients proportion rate rates cause causes assessed measured through day days week "
    "weeks month months year years at who had".split()
)


def content_words(text: str) -> frozenset[str]:
    """What an endpoint or event is, in words: generic measuring words dropped, plurals and 'died' folded."""
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        word = {
            "died": "death",
            "deaths": "death",
            "dying": "death",
            "mortality": "death",
            "hospitalisation": "hospitalization",
        }.get(word, word)
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        if word not in _GENERIC and not word.isdigit():
            words.add(word)
    return frozenset(words)


def overlap(a: str, b: str) -> float:
    left, right = content_words(a), content_words(b)
    return len(left & right) / len(left | right) if left and right else 0.0


def same_number(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal, or equal once the more precise is rounded to the places of the other when that one has two
    significant digits or more: 0.735 and 0.74 agree (an article rounds what the registry posts), 24.62 and
    24.6 too; 0.82 and 0.8 do not (one digit says too little), nor 0.74 and 0.75."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    coarse = a if _places(a) <= _places(b) else b
    if len(coarse.normalize().as_tuple().digits) < 2:
        return False
    quantum = Decimal(1).scaleb(-_places(coarse))
    return a.quantize(quantum) == b.quantize(quantum)


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _event_name(row: Row) -> str:
    """An event's term with what it counts: "serious" when only serious events are, and the grade range."""
    name = str(row["term"])
    if row.get("serious") is True and "serious" not in name:
        name = f"serious {name}"
    low, high = number_of(row.get("minGrade")), number_of(row.get("maxGrade"))
    if low is not None:
        name += f", grade {show(low)}" + (f"\u2013{show(high)}" if high is not None and high != low else "")
    return name


def _qualifiers(name: str) -> tuple[bool, str | None]:
    grade = re.search(r", grade (\S+)$", name)
    return "serious" in name.split(), grade.group(1) if grade else None


@dataclass
class _Arm:
    graph: str
    node: str
    label: str
    role: str | None = None
    randomized: set[Decimal] = field(default_factory=set)
    analyzed: set[Decimal] = field(default_factory=set)
    drugs: set[str] = field(default_factory=set)


@dataclass
class _Effect:
    graph: str
    node: str
    kind: str
    estimate: Decimal
    lower: Decimal | None = None
    upper: Decimal | None = None
    p_text: str | None = None
    text: str = ""
    endpoints: set[str] = field(default_factory=set)
    primary: bool = False
    experimental: str | None = None
    comparator: str | None = None
    subgroup: str | None = None


class EvidenceTopics:
    """The per-arm, per-estimate and per-event topics of a reconciliation, over a ``KBSources``."""

    def __init__(self, sources: KBSources) -> None:
        self.s = sources
        self.arm_match: dict[str, str] = {}  # article arm node -> registry arm node

    # ------------------------------------------------------------------ arms

    def _arms(self) -> tuple[list[_Arm], list[_Arm]]:
        found: dict[tuple[str, str], _Arm] = {}
        sides: dict[tuple[str, str], str] = {}
        for row in self.s.rows(_ARMS):
            graph, node = text_of(row["g"]) or "", text_of(row["arm"]) or ""
            arm = found.setdefault((graph, node), _Arm(graph, node, text_of(row.get("label")) or ""))
            sides[(graph, node)] = "registry" if graph == self.s.graph else "article"
            if row.get("role") is not None:
                arm.role = str(row["role"]).rsplit("#", 1)[-1]
            for key, target in (("randomized", arm.randomized), ("analyzed", arm.analyzed)):
                number = number_of(row.get(key))
                if number is not None:
                    target.add(number)
            if row.get("drug") is not None:
                arm.drugs.add(str(row["drug"]))
        article = [arm for key, arm in found.items() if sides[key] == "article"]
        registry = [arm for key, arm in found.items() if sides[key] == "registry"]
        for arm in article + registry:
            arm.label = arm.label or self.s.label(arm.node)
        return sorted(article, key=lambda a: (a.graph, a.label)), sorted(registry, key=lambda a: a.label)

    def _arm_value(self, arm: _Arm) -> SourcedValue:
        parts = [_ROLE_NAMES.get(arm.role or "", "role not given")]
        if arm.randomized:
            parts.append(" or ".join(show(n) for n in sorted(arm.randomized)) + " randomised")
        if arm.analyzed:
            parts.append(" or ".join(show(n) for n in sorted(arm.analyzed)) + " analysed")
        value = min(arm.randomized) if arm.randomized else None
        return self.s.value({"g": arm.graph}, value, f"{arm.label}: {', '.join(parts)}", arm.node, arm.role)

    @staticmethod
    def _arms_match(article: _Arm, registry: _Arm, unique_role: bool) -> bool:
        if similar(article.label, registry.label) or (
            content_words(article.label) and content_words(article.label) <= content_words(registry.label)
        ):
            return True
        roles_fit = article.role is None or registry.role is None or article.role == registry.role
        if article.drugs & registry.drugs and roles_fit:
            return True
        return unique_role and article.role is not None and article.role == registry.role

    def arms(self) -> list[ReconciliationItem]:
        article, registry = self._arms()
        if not article and not registry:
            return [
                ReconciliationItem(
                    "arms", "neither", (), (), "neither the articles nor the registry name arms"
                )
            ]
        matched: dict[str, list[_Arm]] = {arm.node: [] for arm in registry}
        unmatched: list[_Arm] = []
        for arm in article:
            peers = [a for a in article if a.graph == arm.graph]
            same_role = [r for r in registry if r.role and r.role == arm.role]
            unique = len(same_role) == 1 and sum(1 for a in peers if a.role == arm.role) == 1
            hits = [r for r in registry if self._arms_match(arm, r, unique)]
            if len(hits) > 1:  # the best by name when several fit
                hits = [r for r in hits if similar(arm.label, r.label)] or hits[:1]
            if hits:
                matched[hits[0].node].append(arm)
                self.arm_match[arm.node] = hits[0].node
            else:
                unmatched.append(arm)
        items = []
        for reg in registry:
            items.append(self._arm_item(reg, matched[reg.node]))
        for arm in unmatched:
            value = self._arm_value(arm)
            note = "only the articles name this arm" + ("" if registry else "; the registry gives no arms")
            items.append(ReconciliationItem("arms", "only_article", (value,), (), note, subject=arm.label))
        return items

    def _arm_item(self, reg: _Arm, reported: list[_Arm]) -> ReconciliationItem:
        registry_value = self._arm_value(reg)
        if not reported:
            return ReconciliationItem(
                "arms",
                "only_registry",
                (),
                (registry_value,),
                "only the registry names this arm",
                subject=reg.label,
            )
        notes: list[str] = []
        status: Status = "agree"
        conflict = False
        for arm in reported:
            where = arm.graph.rsplit("/", 1)[-1]
            if arm.role and reg.role:
                if arm.role == reg.role:
                    notes.append(f"both give the role {_ROLE_NAMES.get(reg.role, reg.role)}")
                else:
                    status, conflict = "differ", True
                    notes.append(
                        f"{where} gives the role {_ROLE_NAMES.get(arm.role, arm.role)}, the registry "
                        f"{_ROLE_NAMES.get(reg.role, reg.role)}"
                    )
            for what, mine, theirs, hard in (
                ("randomised", arm.randomized, reg.randomized, True),
                ("analysed", arm.analyzed, reg.analyzed, False),
            ):
                if mine and theirs:
                    if mine & theirs:
                        notes.append(f"both count {show(min(mine & theirs))} {what}")
                    else:
                        status = "differ"
                        conflict = conflict or hard
                        notes.append(
                            f"{where} counts {'/'.join(show(n) for n in sorted(mine))} {what}, the registry "
                            f"{'/'.join(show(n) for n in sorted(theirs))}"
                        )
                elif theirs:
                    notes.append(f"only the registry counts {what} ({show(min(theirs))})")
                elif mine:
                    notes.append(f"only {where} counts {what} ({show(min(mine))})")
        return ReconciliationItem(
            "arms",
            status,
            tuple(self._arm_value(arm) for arm in reported),
            (registry_value,),
            "; ".join(dict.fromkeys(notes)) or "both name this arm",
            conflict,
            subject=reg.label,
        )

    # ------------------------------------------------------------------ effect estimates

    def _effects(self) -> tuple[list[_Effect], list[_Effect]]:
        found: dict[tuple[str, str], _Effect] = {}
        for row in self.s.rows(_EFFECTS):
            graph, node = text_of(row["g"]) or "", text_of(row["effect"]) or ""
            estimate = number_of(row["estimate"])
            if estimate is None:
                continue
            effect = found.setdefault(
                (graph, node), _Effect(graph, node, str(row["measure"]).rsplit("#", 1)[-1], estimate)
            )
            effect.lower = effect.lower if effect.lower is not None else number_of(row.get("lower"))
            effect.upper = effect.upper if effect.upper is not None else number_of(row.get("upper"))
            effect.p_text = effect.p_text or text_of(row.get("pText"))
            effect.text = effect.text or text_of(row.get("text")) or ""
            effect.subgroup = effect.subgroup or text_of(row.get("subgroup"))
            effect.experimental = effect.experimental or text_of(row.get("experimental"))
            effect.comparator = effect.comparator or text_of(row.get("comparator"))
            effect.primary = effect.primary or bool(row.get("primary"))
            effect.endpoints |= {str(row[k]) for k in ("endpoint", "broad") if row.get(k) is not None}
        effects = list(found.values())
        article = [e for e in effects if e.graph != self.s.graph]
        registry = [e for e in effects if e.graph == self.s.graph]
        self.s._load_labels(e for effect in effects for e in effect.endpoints)
        for effect in effects:
            effect.text = effect.text or next((self.s.label(e) for e in sorted(effect.endpoints)), "")
        return sorted(article, key=lambda e: (e.graph, e.text, e.estimate)), sorted(
            registry, key=lambda e: (not e.primary, e.text, e.kind)
        )

    @staticmethod
    def _fit(article: _Effect, registry: _Effect) -> float:
        """How well an article estimate fits a registry one: same kind, then the endpoint's node or words."""
        if article.kind != registry.kind:
            return 0.0
        score = overlap(article.text, registry.text)
        if article.endpoints & registry.endpoints:
            score = max(score, 1.0)
        if re.fullmatch(
            r"(?:the\s+)?primary\s+(?:composite\s+)?(?:outcome|end\s*point)", article.text.strip(), re.I
        ):
            score = max(score, 1.0 if registry.primary else 0.0)
        return score

    def _effect_value(self, effect: _Effect) -> SourcedValue:
        interval = ""
        if effect.lower is not None and effect.upper is not None:
            interval = f" ({show(effect.lower)} to {show(effect.upper)})"
        p = f", {effect.p_text}" if effect.p_text else ""
        sub = f" [{effect.subgroup}]" if effect.subgroup else ""
        label = f"{_KIND_NAMES.get(effect.kind, effect.kind)} {show(effect.estimate)}{interval}{p} for {effect.text}{sub}"
        return self.s.value(
            {"g": effect.graph}, effect.estimate, label, effect.node, _KIND_NAMES.get(effect.kind)
        )

    def effect_estimates(self) -> list[ReconciliationItem]:
        article, registry = self._effects()
        if not article and not registry:
            return [
                ReconciliationItem(
                    "effect_estimates",
                    "neither",
                    (),
                    (),
                    "neither the articles nor the registry give effect estimates",
                )
            ]
        matched: dict[str, list[_Effect]] = {e.node: [] for e in registry}
        unmatched: list[_Effect] = []
        for graph in sorted({e.graph for e in article}):
            # One-to-one within a document, best fits first (CV death to CV death, not to all-cause death).
            mine = [e for e in article if e.graph == graph]
            pairs = sorted(
                (
                    (self._fit(a, r), -abs(a.estimate - r.estimate), i, j)
                    for i, a in enumerate(mine)
                    for j, r in enumerate(registry)
                ),
                reverse=True,
            )
            used_a: set[int] = set()
            used_r: set[int] = set()
            for score, _, i, j in pairs:
                if score < 0.5 or i in used_a or j in used_r or mine[i].subgroup:
                    continue
                used_a.add(i)
                used_r.add(j)
                matched[registry[j].node].append(mine[i])
            unmatched += [a for i, a in enumerate(mine) if i not in used_a]
        items = [self._effect_item(reg, matched[reg.node]) for reg in registry]
        for effect in unmatched:
            note = "only the articles give this estimate" + (
                " (a subgroup's)"
                if effect.subgroup
                else ""
                if registry
                else "; the registry posts no analyses"
            )
            items.append(
                ReconciliationItem(
                    "effect_estimates",
                    "only_article",
                    (self._effect_value(effect),),
                    (),
                    note,
                    subject=f"{_KIND_NAMES.get(effect.kind, effect.kind)} for {effect.text or 'an endpoint'}",
                )
            )
        return items

    def _effect_item(self, reg: _Effect, reported: list[_Effect]) -> ReconciliationItem:
        subject = f"{_KIND_NAMES.get(reg.kind, reg.kind)} for {reg.text}"
        registry_value = self._effect_value(reg)
        if not reported:
            note = "only the registry gives this estimate"
            return ReconciliationItem(
                "effect_estimates", "only_registry", (), (registry_value,), note, subject=subject
            )
        notes: list[str] = []
        status: Status = "agree"
        for effect in reported:
            where = effect.graph.rsplit("/", 1)[-1]
            if not same_number(effect.estimate, reg.estimate):
                status = "differ"
                notes.append(f"{where} gives {show(effect.estimate)}, the registry {show(reg.estimate)}")
                continue
            both = None not in (effect.lower, effect.upper, reg.lower, reg.upper)
            if both and not (same_number(effect.lower, reg.lower) and same_number(effect.upper, reg.upper)):
                status = "differ"
                notes.append(
                    f"same estimate {show(reg.estimate)}; {where}'s interval {show(effect.lower)} to "
                    f"{show(effect.upper)}, the registry's {show(reg.lower)} to {show(reg.upper)}"
                )
            elif both:
                notes.append(f"both give {show(reg.estimate)} ({show(reg.lower)} to {show(reg.upper)})")
            else:
                side = (
                    "the registry" if reg.lower is not None else where if effect.lower is not None else None
                )
                notes.append(
                    f"both give {show(reg.estimate)}" + (f"; only {side} gives the interval" if side else "")
                )
            if effect.experimental and reg.experimental and effect.comparator and reg.comparator:
                if self.arm_match.get(effect.experimental) == reg.comparator:
                    status = "differ"
                    notes.append(f"{where} compares the arms the other way round")
        return ReconciliationItem(
            "effect_estimates",
            status,
            tuple(self._effect_value(e) for e in reported),
            (registry_value,),
            "; ".join(dict.fromkeys(notes)),
            subject=subject,
        )

    # ------------------------------------------------------------------ adverse events

    def adverse_events(self) -> list[ReconciliationItem]:
        rows = self.s.rows(_EVENTS)
        if not rows:
            return [
                ReconciliationItem(
                    "adverse_events",
                    "neither",
                    (),
                    (),
                    "neither the articles nor the registry give adverse events",
                )
            ]
        self.s._load_labels(text_of(r["arm"]) or "" for r in rows)
        terms: dict[tuple[str, str], list[Row]] = {}
        for row in rows:
            terms.setdefault((text_of(row["g"]) or "", _event_name(row)), []).append(row)
        registry_terms = sorted(t for g, t in terms if g == self.s.graph)
        article_terms = sorted((g, t) for g, t in terms if g != self.s.graph)
        matched: dict[str, list[tuple[str, str]]] = {t: [] for t in registry_terms}
        unmatched = []
        for graph, term in article_terms:
            # The same event counts the same way: serious against serious, a grade range against the same.
            fitting = [r for r in registry_terms if _qualifiers(r) == _qualifiers(term)]
            best = max(fitting, key=lambda r: (overlap(term, r), r), default=None)
            if best is not None and overlap(term, best) >= 0.5:
                matched[best].append((graph, term))
            else:
                unmatched.append((graph, term))
        items = []
        for term in registry_terms:
            registry_rows = sorted(terms[(self.s.graph, term)], key=lambda r: self.s.label(r["arm"]))
            reported = [row for key in matched[term] for row in terms[key]]
            items.append(self._event_item(term, reported, registry_rows))
        for graph, term in unmatched:
            values = tuple(self._event_value(row) for row in terms[(graph, term)])
            items.append(
                ReconciliationItem(
                    "adverse_events",
                    "only_article",
                    values,
                    (),
                    "only the articles give this event",
                    subject=term,
                )
            )
        return items

    def _event_value(self, row: Row) -> SourcedValue:
        count, denominator, percent = (number_of(row.get(k)) for k in ("count", "denominator", "percentage"))
        parts = []
        if count is not None:
            parts.append(show(count) + (f" of {show(denominator)}" if denominator is not None else ""))
        if percent is not None:
            parts.append(f"{show(percent)}%")
        arm = self.s.label(row["arm"])
        label = f"{_event_name(row)}, {arm}: " + (
            " ".join(parts[:1]) + (f" ({parts[1]})" if len(parts) > 1 else "") if parts else "?"
        )
        return self.s.value(
            row,
            percent if percent is not None else count,
            label,
            row["arm"],
            "serious" if row.get("serious") else None,
        )

    def _event_item(self, term: str, reported: list[Row], registry_rows: list[Row]) -> ReconciliationItem:
        registry_values = tuple(self._event_value(r) for r in registry_rows)
        if not reported:
            return ReconciliationItem(
                "adverse_events",
                "only_registry",
                (),
                registry_values,
                "only the registry gives this event",
                subject=term,
            )
        by_arm = {str(r["arm"]): r for r in registry_rows}
        notes: list[str] = []
        status: Status = "agree"
        for row in reported:
            registry_arm = self.arm_match.get(str(row["arm"]))
            mine = by_arm.get(registry_arm or "")
            arm = self.s.label(row["arm"])
            if mine is None:
                notes.append(f"the registry has no count for the articles' {arm} arm")
                continue
            a_pct, r_pct = number_of(row.get("percentage")), number_of(mine.get("percentage"))
            a_n, r_n = number_of(row.get("count")), number_of(mine.get("count"))
            if a_n is not None and r_n is not None:
                agree = a_n == r_n
            elif a_pct is not None and r_pct is not None:
                agree = same_number(a_pct, r_pct)
            else:
                continue
            if agree:
                notes.append(f"{arm}: both give {show(a_n) if a_n is not None else show(a_pct) + '%'}")
            else:
                status = "differ"
                shown = (
                    (f"{show(a_n)} against {show(r_n)}")
                    if a_n is not None and r_n is not None
                    else f"{show(a_pct)}% against {show(r_pct)}%"
                )
                notes.append(f"{arm}: the articles give {shown} in the registry")
        return ReconciliationItem(
            "adverse_events",
            status,
            tuple(self._event_value(r) for r in reported),
            registry_values,
            "; ".join(dict.fromkeys(notes)) or "both report this event",
            subject=term,
        )

"""The results section of a ClinicalTrials.gov API v2 record: participant flow, baseline counts, outcome
measures with their per-group values and statistical analyses, and adverse events, as frozen dataclasses.

Every module and field may be missing (most records have no results); counts the API writes as text
("2373") are read as integers, and values it marks "NA" are None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the reader lives with the record parser, which imports this module
    from kb.ctgov.record import _Reader


@dataclass(frozen=True)
class ResultGroup:
    """A group of a results table ("FG000", "OG001", "EG000"): usually one arm, titled as the arm."""

    id: str
    title: str
    description: str | None = None


@dataclass(frozen=True)
class GroupCount:
    group_id: str
    count: int


@dataclass(frozen=True)
class ParticipantFlow:
    """Groups of the participant flow and, from its first period, how many started and completed."""

    groups: tuple[ResultGroup, ...] = ()
    started: tuple[GroupCount, ...] = ()
    completed: tuple[GroupCount, ...] = ()


@dataclass(frozen=True)
class Baseline:
    """Groups of the baseline table and how many participants each was analysed with at baseline."""

    groups: tuple[ResultGroup, ...] = ()
    counts: tuple[GroupCount, ...] = ()


@dataclass(frozen=True)
class Measurement:
    """One group's value of an outcome measure (in one class and category of the table, if it has them)."""

    group_id: str
    value: Decimal | None
    text: str | None  # as written: "386", "NA"
    spread: Decimal | None = None
    lower: Decimal | None = None
    upper: Decimal | None = None
    category: str | None = None  # "Class: category" titles of the row, when the table has rows


@dataclass(frozen=True)
class Analysis:
    """A statistical analysis of an outcome measure: which groups it compares and its estimate."""

    group_ids: tuple[str, ...]
    param_type: str | None = None  # "Hazard Ratio (HR)", "Odds Ratio (OR)", "Risk Difference (RD)"...
    value: Decimal | None = None
    ci_percent: Decimal | None = None
    ci_sides: str | None = None  # ONE_SIDED, TWO_SIDED
    ci_lower: Decimal | None = None
    ci_upper: Decimal | None = None
    p_value: str | None = None  # as written: "<0.001", "0.0004"
    method: str | None = None  # "Regression, Cox", "Chi-squared"
    non_inferiority: str | None = None
    description: str | None = None  # groupDescription
    comment: str | None = None  # estimateComment: what an "Other" estimate is ("Recovery rate ratio")


@dataclass(frozen=True)
class OutcomeResult:
    """An outcome measure with posted results."""

    type: str | None  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    title: str
    description: str | None = None
    time_frame: str | None = None
    unit: str | None = None  # unitOfMeasure: "Participants", "months", "mL/min/1.73m^2"
    param_type: str | None = None  # COUNT_OF_PARTICIPANTS, MEAN, MEDIAN, NUMBER...
    dispersion_type: str | None = None
    groups: tuple[ResultGroup, ...] = ()
    analysed: tuple[GroupCount, ...] = ()  # participants analysed per group (the denominators)
    measurements: tuple[Measurement, ...] = ()
    analyses: tuple[Analysis, ...] = ()


@dataclass(frozen=True)
class EventGroup:
    """A group of the adverse-events tables with its totals."""

    id: str
    title: str
    description: str | None = None
    serious_affected: int | None = None
    serious_at_risk: int | None = None
    other_affected: int | None = None
    other_at_risk: int | None = None
    deaths_affected: int | None = None
    deaths_at_risk: int | None = None


@dataclass(frozen=True)
class EventStat:
    group_id: str
    affected: int | None
    at_risk: int | None
    events: int | None = None


@dataclass(frozen=True)
class AdverseEvent:
    """One row of the serious or other adverse-events table: a term and each group's count."""

    term: str
    serious: bool
    organ_system: str | None = None
    stats: tuple[EventStat, ...] = ()


@dataclass(frozen=True)
class AdverseEvents:
    time_frame: str | None = None
    frequency_threshold: str | None = None  # percent above which other (non-serious) events are listed
    groups: tuple[EventGroup, ...] = ()
    events: tuple[AdverseEvent, ...] = ()


@dataclass(frozen=True)
class Results:
    """The posted results of a record; empty parts when the record has none."""

    flow: ParticipantFlow = ParticipantFlow()
    baseline: Baseline = Baseline()
    outcomes: tuple[OutcomeResult, ...] = ()
    adverse_events: AdverseEvents = AdverseEvents()

    @property
    def empty(self) -> bool:
        return not (self.flow.groups or self.baseline.groups or self.outcomes or self.adverse_events.groups)


def parse_results(section: _Reader) -> Results:
    """The ``resultsSection`` of a study (an empty ``Results`` when it is missing)."""
    return Results(
        flow=_flow(section.obj("participantFlowModule")),
        baseline=_baseline(section.obj("baselineCharacteristicsModule")),
        outcomes=tuple(
            _outcome(item) for item in section.obj("outcomeMeasuresModule").objs("outcomeMeasures")
        ),
        adverse_events=_adverse_events(section.obj("adverseEventsModule")),
    )


def _groups(module: _Reader) -> tuple[ResultGroup, ...]:
    return tuple(
        ResultGroup(item.required("id"), item.text("title") or item.required("id"), item.text("description"))
        for item in module.objs("groups")
    )


def _participant_counts(module: _Reader) -> tuple[GroupCount, ...]:
    """Counts of the ``denoms`` entry in participants (others count eyes, lesions, samples)."""
    for denom in module.objs("denoms"):
        units = (denom.text("units") or "Participants").lower()
        if units.startswith("participant"):
            return tuple(
                GroupCount(count.required("groupId"), number)
                for count in denom.objs("counts")
                if (number := count.count("value")) is not None
            )
    return ()


def _flow(module: _Reader) -> ParticipantFlow:
    periods = module.objs("periods")
    started: tuple[GroupCount, ...] = ()
    completed: tuple[GroupCount, ...] = ()
    # The first period: later ones (extension, crossover) count the same people again.
    for milestone in periods[0].objs("milestones") if periods else []:
        kind = (milestone.text("type") or "").upper()
        counts = tuple(
            GroupCount(a.required("groupId"), number)
            for a in milestone.objs("achievements")
            if (number := a.count("numSubjects")) is not None
        )
        if kind == "STARTED":
            started = counts
        elif kind == "COMPLETED":
            completed = counts
    return ParticipantFlow(_groups(module), started, completed)


def _baseline(module: _Reader) -> Baseline:
    return Baseline(_groups(module), _participant_counts(module))


def _outcome(item: _Reader) -> OutcomeResult:
    measurements: list[Measurement] = []
    for table_class in item.objs("classes"):
        class_title = table_class.text("title")
        for category in table_class.objs("categories"):
            row = " ".join(filter(None, [class_title, category.text("title")])) or None
            for value in category.objs("measurements"):
                measurements.append(
                    Measurement(
                        group_id=value.required("groupId"),
                        value=value.number("value"),
                        text=value.text("value"),
                        spread=value.number("spread"),
                        lower=value.number("lowerLimit"),
                        upper=value.number("upperLimit"),
                        category=row,
                    )
                )
    return OutcomeResult(
        type=(item.text("type") or "").upper() or None,
        title=item.required("title"),
        description=item.text("description"),
        time_frame=item.text("timeFrame"),
        unit=item.text("unitOfMeasure"),
        param_type=item.text("paramType"),
        dispersion_type=item.text("dispersionType"),
        groups=_groups(item),
        analysed=_participant_counts(item),
        measurements=tuple(measurements),
        analyses=tuple(_analysis(analysis) for analysis in item.objs("analyses")),
    )


def _analysis(item: _Reader) -> Analysis:
    return Analysis(
        group_ids=item.strs("groupIds"),
        param_type=item.text("paramType"),
        value=item.number("paramValue"),
        ci_percent=item.number("ciPctValue"),
        ci_sides=item.text("ciNumSides"),
        ci_lower=item.number("ciLowerLimit"),
        ci_upper=item.number("ciUpperLimit"),
        p_value=item.text("pValue"),
        method=item.text("statisticalMethod"),
        non_inferiority=item.text("nonInferiorityType"),
        description=item.text("groupDescription"),
        comment=item.text("estimateComment"),
    )


def _adverse_events(module: _Reader) -> AdverseEvents:
    groups = tuple(
        EventGroup(
            id=item.required("id"),
            title=item.text("title") or item.required("id"),
            description=item.text("description"),
            serious_affected=item.count("seriousNumAffected"),
            serious_at_risk=item.count("seriousNumAtRisk"),
            other_affected=item.count("otherNumAffected"),
            other_at_risk=item.count("otherNumAtRisk"),
            deaths_affected=item.count("deathsNumAffected"),
            deaths_at_risk=item.count("deathsNumAtRisk"),
        )
        for item in module.objs("eventGroups")
    )
    events = [
        AdverseEvent(
            term=item.required("term"),
            serious=serious,
            organ_system=item.text("organSystem"),
            stats=tuple(
                EventStat(
                    stat.required("groupId"),
                    stat.count("numAffected"),
                    stat.count("numAtRisk"),
                    stat.count("numEvents"),
                )
                for stat in item.objs("stats")
            ),
        )
        for key, serious in (("seriousEvents", True), ("otherEvents", False))
        for item in module.objs(key)
    ]
    return AdverseEvents(module.text("timeFrame"), module.text("frequencyThreshold"), groups, tuple(events))


_P = re.compile(
    r"^\s*(?:p\s*)?(?P<rel><=|>=|=|<|>|\u2264|\u2265)?\s*(?P<num>\d*\.?\d+(?:[eE][-+]?\d+)?)\s*$", re.I
)


def parse_p_value(text: str) -> tuple[str, Decimal] | None:
    """``"<0.001"`` -> ("<", 0.001); ``"0.0004"`` -> ("=", 0.0004); None for text that is no P value."""
    match = _P.match(text)
    if match is None:
        return None
    relation = {"\u2264": "<=", "\u2265": ">="}.get(match.group("rel") or "=", match.group("rel") or "=")
    value = Decimal(match.group("num"))
    return (relation, value) if Decimal(0) <= value <= Decimal(1) else None

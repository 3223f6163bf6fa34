"""A trial's randomised-trial evidence for its entity page: arms and doses, effect estimates with a forest
plot, and adverse events per arm, read with the shipped competency queries bound to the trial."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kb import queries
from kb.sparql import select_rows

if TYPE_CHECKING:
    from kb.triplestore import QueryEngine

# Ratio measures are drawn on a log axis around 1 (no effect); differences on a linear axis around 0.
_RATIO_WORDS = ("ratio", "relative risk")


@dataclass(frozen=True)
class ForestRow:
    """One effect estimate as the plot draws it: label, estimate, interval, and x positions in [0, 1]."""

    label: str
    text: str
    estimate_x: float
    lower_x: float | None
    upper_x: float | None


@dataclass(frozen=True)
class ForestPlot:
    """Rows of one measure kind on one axis: ticks as (x position, label) and where 'no effect' sits."""

    measure: str
    log_scale: bool
    rows: tuple[ForestRow, ...]
    ticks: tuple[tuple[float, str], ...]
    null_x: float


@dataclass(frozen=True)
class TrialEvidence:
    """The tables and plots of a trial's evidence section (empty lists when the KB holds none)."""

    arms: list[dict[str, Any]] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)
    adverse_events: list[dict[str, Any]] = field(default_factory=list)
    plots: tuple[ForestPlot, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.arms or self.effects or self.adverse_events)


def trial_evidence(store: QueryEngine, trial_iri: str) -> TrialEvidence:
    """The evidence the KB holds for ``trial_iri``; empty for anything that is not a trial with evidence."""
    bindings = {"trial": trial_iri}
    arms = select_rows(store, queries.load("arms", bindings=bindings))
    effects = select_rows(store, queries.load("effect_estimates", bindings=bindings))
    events = select_rows(store, queries.load("adverse_events", bindings=bindings))
    for row in effects:
        row["summary"] = _summary(row)
    return TrialEvidence(arms, effects, events, forest_plots(effects))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):  # as written in the source: "0.80" stays "0.80"
        return str(value)
    number = _number(value)
    return f"{number:g}" if number is not None else str(value)


def _summary(row: dict[str, Any]) -> str:
    """'0.80 (95% CI 0.73–0.87), P<0.001' from an effect-estimate row."""
    text = _plain(row["estimate"])
    if row.get("ciLower") is not None and row.get("ciUpper") is not None:
        level = row.get("confidenceLevel")
        level_text = f"{_plain(level)}% CI " if level is not None else "CI "
        text += f" ({level_text}{_plain(row['ciLower'])}–{_plain(row['ciUpper'])})"
    if row.get("pValueText"):
        p_text = str(row["pValueText"]).strip()
        if p_text[:1] in "Pp":
            text += f", {p_text}"
        else:
            text += f", P{p_text}" if p_text[:1] in "<>=≤≥" else f", P={p_text}"
    return text


def _row_label(row: dict[str, Any]) -> str:
    parts = [str(row.get("endpointLabel") or row.get("endpoint") or "estimate")]
    if row.get("subgroup"):
        parts.append(str(row["subgroup"]))
    if row.get("timePoint"):
        parts.append(str(row["timePoint"]))
    return ", ".join(parts)


def _measure_name(measure: Any) -> str:
    """'hazard ratio' from tkb:HazardRatio (or a literal naming the measure)."""
    text = str(measure)
    if "://" in text:
        text = text.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text).replace("_", " ").lower()


def forest_plots(effects: list[dict[str, Any]]) -> tuple[ForestPlot, ...]:
    """One plot per measure kind (hazard ratios apart from risk differences: their axes differ)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in effects:
        if _number(row.get("estimate")) is not None:
            groups.setdefault(_measure_name(row["measure"]), []).append(row)
    return tuple(_plot(measure, rows) for measure, rows in sorted(groups.items()))


def _plot(measure: str, rows: list[dict[str, Any]]) -> ForestPlot:
    log_scale = any(word in measure for word in _RATIO_WORDS)
    values: list[float] = []
    for row in rows:
        for key in ("estimate", "ciLower", "ciUpper"):
            number = _number(row.get(key))
            if number is not None and (number > 0 or not log_scale):
                values.append(number)
    null = 1.0 if log_scale else 0.0
    values.append(null)

    def axis(value: float) -> float:
        return math.log(value) if log_scale else value

    low, high = min(axis(v) for v in values), max(axis(v) for v in values)
    pad = (high - low) * 0.08 or 0.5
    low, high = low - pad, high + pad

    def position(value: Any) -> float | None:
        number = _number(value)
        if number is None or (log_scale and number <= 0):
            return None
        return (axis(number) - low) / (high - low)

    plotted = tuple(
        ForestRow(
            _row_label(row),
            str(row.get("summary") or _summary(row)),
            position(row["estimate"]) or 0.0,
            position(row.get("ciLower")),
            position(row.get("ciUpper")),
        )
        for row in rows
    )
    return ForestPlot(measure, log_scale, plotted, _ticks(low, high, log_scale), position(null) or 0.0)


def _ticks(low: float, high: float, log_scale: bool) -> tuple[tuple[float, str], ...]:
    """A handful of round tick values inside the axis, as (position, label)."""
    candidates = (
        [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 20]
        if log_scale
        else [round(low + (high - low) * i / 4, 2) for i in range(5)]
    )
    ticks: list[tuple[float, str]] = []
    for value in candidates:
        x = ((math.log(value) if log_scale else value) - low) / (high - low)
        # Labels at least a tenth of the axis apart, so they never overlap.
        if 0.0 <= x <= 1.0 and (not ticks or x - ticks[-1][0] >= 0.1 or value == 1):
            if ticks and x - ticks[-1][0] < 0.1:
                ticks.pop()
            ticks.append((x, f"{value:g}"))
    return tuple(ticks)
